import { createCipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The MSNP15+ single sign-on challenge, policy MBI_KEY_OLD (MSNP wiki "MSNP15:SSO";
 * Pidgin retro-prpl msn/nexus.c msn_rps_encrypt). The server sends a nonce in
 * `USR trid SSO S MBI_KEY_OLD <nonce>`; the client proves it holds the proof key of
 * its messengerclear.live.com ticket (the RST `wst:BinarySecret`) by sending back a
 * blob: a 28-byte header, its own 8-byte IV, HMAC-SHA1 of the nonce and the 3DES-CBC
 * encryption of the nonce, each under a key derived from the proof key.
 * Pure: no I/O; the notification server calls `verifySsoResponse`.
 */

/** The policy name the server names in `USR … SSO S`. */
export const SSO_POLICY = 'MBI_KEY_OLD';

/** The blob header: seven little-endian uint32s (nexus.c; the wiki's "RPS" structure). */
const HEADER_SIZE = 28;
const CRYPT_MODE_CBC = 1;
const CIPHER_TRIPLE_DES = 0x6603;
const HASH_SHA1 = 0x8004;
const IV_SIZE = 8;
const HASH_SIZE = 20;

/**
 * 48 random bytes in base64: 64 characters. COMPAT: Pidgin (nexus.c) always copies
 * exactly 72 cipher bytes, i.e. a 64-byte nonce plus 8 bytes of padding; the live
 * service's nonces had this length too.
 */
export function newSsoNonce(): string {
  return randomBytes(48).toString('base64');
}

/**
 * WS-SecureConversation key derivation: P_SHA1 (RFC 2246 §5) keyed with the proof
 * key over `"WS-SecureConversation" + label`, cut to 24 bytes (a 3DES key).
 */
export function deriveSsoKey(proofKey: Buffer, label: string): Buffer {
  const seed = Buffer.from(`WS-SecureConversation${label}`, 'latin1');
  const hmac = (data: Buffer) => createHmac('sha1', proofKey).update(data).digest();
  const out: Buffer[] = [];
  let a = hmac(seed); // A(1)
  let length = 0;
  while (length < 24) {
    const block = hmac(Buffer.concat([a, seed]));
    out.push(block);
    length += block.length;
    a = hmac(a); // A(i+1)
  }
  return Buffer.concat(out).subarray(0, 24);
}

/** What the answer to `nonce` must contain for a given proof key and the client's IV. */
export function expectedSsoParts(
  proofKey: Buffer,
  nonce: string,
  iv: Buffer,
): { hash: Buffer; cipher: Buffer } {
  const hashKey = deriveSsoKey(proofKey, 'SESSION KEY HASH');
  const encryptionKey = deriveSsoKey(proofKey, 'SESSION KEY ENCRYPTION');
  const plain = Buffer.from(nonce, 'latin1');
  const hash = createHmac('sha1', hashKey).update(plain).digest();
  // The nonce followed by 8 bytes of 0x08, no further padding (nexus.c).
  const cipher = createCipheriv('des-ede3-cbc', encryptionKey, iv);
  cipher.setAutoPadding(false);
  const padded = Buffer.concat([plain, Buffer.alloc(8, 0x08)]);
  const body = Buffer.concat([cipher.update(padded), cipher.final()]);
  return { hash, cipher: body };
}

/**
 * Checks a client's base64 answer blob against the nonce we sent and the proof key
 * stored with its ticket. Anything malformed is simply a wrong answer.
 */
export function verifySsoResponse(proofKeyBase64: string, nonce: string, responseBase64: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(responseBase64)) return false;
  const blob = Buffer.from(responseBase64, 'base64');
  if (blob.length < HEADER_SIZE) return false;
  const header = [0, 1, 2, 3, 4, 5, 6].map((i) => blob.readUInt32LE(i * 4));
  const [headerSize, mode, cipherType, hashType, ivSize, hashSize, cipherSize] = header as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (
    headerSize !== HEADER_SIZE ||
    mode !== CRYPT_MODE_CBC ||
    cipherType !== CIPHER_TRIPLE_DES ||
    hashType !== HASH_SHA1 ||
    ivSize !== IV_SIZE ||
    hashSize !== HASH_SIZE ||
    cipherSize !== Buffer.byteLength(nonce, 'latin1') + 8 ||
    blob.length !== HEADER_SIZE + IV_SIZE + HASH_SIZE + cipherSize
  ) {
    return false;
  }
  const proofKey = Buffer.from(proofKeyBase64, 'base64');
  if (proofKey.length === 0) return false;
  const iv = blob.subarray(HEADER_SIZE, HEADER_SIZE + IV_SIZE);
  const hash = blob.subarray(HEADER_SIZE + IV_SIZE, HEADER_SIZE + IV_SIZE + HASH_SIZE);
  const cipher = blob.subarray(HEADER_SIZE + IV_SIZE + HASH_SIZE);
  const expected = expectedSsoParts(proofKey, nonce, iv);
  return timingSafeEqual(hash, expected.hash) && timingSafeEqual(cipher, expected.cipher);
}
