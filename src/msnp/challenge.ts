/**
 * MSNP6+ challenges: `CHL 0 <challenge>` from the server, `QRY trid <product-id> 32`
 * plus a 32-hex-digit answer from the client (docs/msnp-reference.md §7.1; [YW]
 * commands chl.md / qry.md; [NINA] MSNP8/Challenges).
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

export type ChallengeAlgorithm = 'md5' | 'msnp11';

export interface ProductKey {
  readonly key: string;
  readonly algorithm: ChallengeAlgorithm;
}

/**
 * Known client product ids and their keys (docs/msnp-reference.md §7.3, gathered
 * from [YW], [NINA], [IMF] and client code).
 */
export const PRODUCT_KEYS: ReadonlyMap<string, ProductKey> = new Map<string, ProductKey>([
  // MSNP6–10: md5(challenge + key), §7.2.
  ['msmsgs@msnmsgr.com', { key: 'Q1P7W2E4J9R8U3S5', algorithm: 'md5' }],
  ['PROD0038W!61ZTF9', { key: 'VT6PX?UQTM4WM%YR', algorithm: 'md5' }],
  ['PROD0058#7IL2{QD', { key: 'QHDCY@7R1TB6W?5B', algorithm: 'md5' }],
  ['PROD0061VRRZH@4F', { key: 'JXQ6J@TUOGYV@N0M', algorithm: 'md5' }],
  ['PROD00504RLUG%WL', { key: 'I2EBK%PYNLZL5_J4', algorithm: 'md5' }],
  ['PROD0076ENE8*@AW', { key: 'CEQJ8}OE0!WTSWII', algorithm: 'md5' }],
  // MSNP11+: §7.4.
  ['PROD0090YUAUV{2B', { key: 'YMM8C_H7KCQ2S_KL', algorithm: 'msnp11' }],
  ['PROD0101{0RM?UBW', { key: 'CFHUR$52U_{VIX5T', algorithm: 'msnp11' }],
  // MSNP13+ (§7.3), same algorithm; also the OIM lock key (services/oim.ts): WLM 8.0,
  // 8.1, 8.5 (msn-pecan and Pidgin send its id) and 2009.
  ['PROD01065C%ZFN6F', { key: 'O4BG@C7BWLYQX?5G', algorithm: 'msnp11' }],
  ['PROD0112J1LW7%NB', { key: 'RH96F{PHI8PPX_TJ', algorithm: 'msnp11' }],
  ['PROD0113H11T8$X_', { key: 'RG@XY*28Q5QHS%Q5', algorithm: 'msnp11' }],
  ['PROD0114ES4Z%Q5W', { key: 'PK}_A_0N_K%O?A9S', algorithm: 'msnp11' }],
  ['PROD0118R6%2WYOS', { key: 'YIXPX@5I2P0UT*LK', algorithm: 'msnp11' }],
  ['PROD0119GSJUC$18', { key: 'ILTXC!4IXB5FB*PX', algorithm: 'msnp11' }],
  ['PROD0120PW!CCV9@', { key: 'C1BX{V4W}Q3*10SM', algorithm: 'msnp11' }],
]);

/**
 * A fresh challenge: 20 random decimal digits, the only form ever observed
 * (§7.1). The first digit is never 0, so a client that reads it as a number and
 * prints it back gets the same string.
 */
export function newChallenge(): string {
  let s = String(randomInt(1, 10));
  for (let i = 1; i < 20; i++) s += String(randomInt(0, 10));
  return s;
}

/** The answer a client holding `productId`'s key must send, in lower-case hex; undefined for an unknown id. */
export function challengeResponse(challenge: string, productId: string): string | undefined {
  const product = PRODUCT_KEYS.get(productId);
  if (!product) return undefined;
  return product.algorithm === 'md5'
    ? md5(challenge + product.key).toString('hex')
    : msnp11Response(challenge, productId, product.key);
}

/**
 * Whether `answerHex` (the QRY payload) answers `challenge` for `productId` under
 * the dialect in use. Following [ESC]'s per-id dialect table (§7.3), the MD5 ids
 * are accepted for MSNP6–10 only and the MSNP11 ids for MSNP11+ only; an MSNP11
 * client answering the old MD5 way gets 540 (§7.1). Dialects before MSNP6 have no
 * challenges at all, so nothing passes there.
 */
export function checkQry(
  dialectVersion: number,
  challenge: string,
  productId: string,
  answerHex: string,
): boolean {
  if (dialectVersion < 6 || challenge === '') return false;
  const product = PRODUCT_KEYS.get(productId);
  if (!product) return false;
  const wanted: ChallengeAlgorithm = dialectVersion >= 11 ? 'msnp11' : 'md5';
  if (product.algorithm !== wanted) return false;
  // COMPAT: clients send lower-case hex (§7.1), but upper case is accepted too: it
  // encodes the same digest and refusing it would only disconnect an odd client.
  const answer = answerHex.toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(answer)) return false;
  const expected = challengeResponse(challenge, productId);
  if (expected === undefined) return false;
  return timingSafeEqual(Buffer.from(expected, 'ascii'), Buffer.from(answer, 'ascii'));
}

function md5(text: string): Buffer {
  return createHash('md5').update(text, 'utf8').digest();
}

const MASK = 0x7fffffffn;
const MAGIC = 0x0e79a9c1n;

/**
 * The MSNP11+ answer, following the step-by-step description in
 * docs/msnp-reference.md §7.4 (itself derived from [IMF] and several client
 * implementations). Intermediate products reach about 2^62, past what a JS number
 * holds exactly, hence BigInt.
 */
function msnp11Response(challenge: string, productId: string, productKey: string): string {
  // Step 1–2: the MD5 digest, read as four little-endian uint32 with the top bit cleared.
  const digest = md5(challenge + productKey);
  const k0 = BigInt(digest.readUInt32LE(0)) & MASK;
  const k1 = BigInt(digest.readUInt32LE(4)) & MASK;
  const k2 = BigInt(digest.readUInt32LE(8)) & MASK;
  const k3 = BigInt(digest.readUInt32LE(12)) & MASK;

  // Step 3–4: challenge + product id, right-padded with ASCII '0' to a multiple of 8 bytes.
  let text = challenge + productId;
  const rest = Buffer.byteLength(text, 'utf8') % 8;
  if (rest !== 0) text += '0'.repeat(8 - rest);
  const data = Buffer.from(text, 'utf8');

  // Step 5.
  let hi = 0n;
  let lo = 0n;
  for (let offset = 0; offset < data.length; offset += 8) {
    const a0 = BigInt(data.readUInt32LE(offset));
    const a1 = BigInt(data.readUInt32LE(offset + 4));
    let t = (a0 * MAGIC) % MASK;
    t = ((t + hi) * k0 + k1) % MASK;
    hi = (((a1 + t) % MASK) * k2 + k3) % MASK;
    lo += hi + t;
  }

  // Step 6–7.
  hi = (hi + k1) % MASK;
  lo = (lo + k3) % MASK;
  const key = Buffer.alloc(8);
  key.writeUInt32LE(Number(hi), 0);
  key.writeUInt32LE(Number(lo), 4);
  for (let j = 0; j < 16; j++) digest[j] = (digest[j] as number) ^ (key[j % 8] as number);
  return digest.toString('hex');
}
