import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { PasswordCredentials, ScramKeys } from '../store/types.ts';
import {
  hash,
  hmac,
  pbkdf2Async,
  type ScramAlgorithm,
  saltedPasswordAsync,
  storedKeyMatches,
} from './scram.ts';

/**
 * Password hashes carried over from other servers, checked until the user's first
 * successful sign-in, when `Credentials` stores Papillon's own forms and drops them.
 *
 * - `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`: Escargot's `t_user.password`
 *   (its util/hash.py, Django's layout): PBKDF2-HMAC-SHA256 of the UTF-8 password
 *   with the salt's ASCII bytes, 32 bytes.
 * - `scram_sha1$<iterations>$<base64 salt>$<base64 StoredKey>` (and `scram_sha256$…`):
 *   an account imported with SCRAM keys only (a Prosody or ejabberd XEP-0227 export);
 *   a plaintext password is checked by recomputing StoredKey (RFC 5802 §3).
 */
export type LegacyFormat = 'pbkdf2_sha256' | 'scram_sha1' | 'scram_sha256';

const MAX_ITERATIONS = 1_000_000;

/** Whether `encoded` is a hash this module can check. */
export function isLegacyHash(encoded: string): boolean {
  return parse(encoded) !== undefined;
}

/**
 * Checks `password` against an imported hash; false for a wrong password or an unknown
 * format. The PBKDF2 work runs on the thread pool, as for Papillon's own keys.
 */
export async function verifyLegacyHash(password: string, encoded: string): Promise<boolean> {
  const parsed = parse(encoded);
  if (!parsed) return false;
  const { format, iterations, salt, digest } = parsed;
  if (format === 'pbkdf2_sha256') {
    const computed = await pbkdf2Async(
      Buffer.from(password, 'utf8'),
      Buffer.from(salt, 'utf8'),
      iterations,
      32,
      'sha256',
    );
    return computed.length === digest.length && timingSafeEqual(computed, digest);
  }
  const alg: ScramAlgorithm = format === 'scram_sha1' ? 'sha1' : 'sha256';
  return storedKeyMatches(
    alg,
    await saltedPasswordAsync(alg, password, Buffer.from(salt, 'base64'), iterations),
    digest,
  );
}

/**
 * RFC 7677 SCRAM-SHA-256 keys from an Escargot PBKDF2-SHA256 hash: its hash *is*
 * SCRAM's SaltedPassword (same function, salt and length), so XMPP clients can use
 * SCRAM-SHA-256 before the first sign-in upgrades the account.
 */
export function scramSha256FromPbkdf2(encoded: string): ScramKeys | undefined {
  const parsed = parse(encoded);
  if (parsed?.format !== 'pbkdf2_sha256' || parsed.digest.length !== 32) return undefined;
  const clientKey = hmac('sha256', parsed.digest, 'Client Key');
  return {
    salt: Buffer.from(parsed.salt, 'utf8').toString('base64'),
    iterations: parsed.iterations,
    storedKey: hash('sha256', clientKey).toString('base64'),
    serverKey: hmac('sha256', parsed.digest, 'Server Key').toString('base64'),
  };
}

/** The `scram_sha1$…`/`scram_sha256$…` legacy form of SCRAM keys. */
export function legacyHashOfScram(alg: ScramAlgorithm, keys: ScramKeys): string {
  return `scram_${alg}$${keys.iterations}$${keys.salt}$${keys.storedKey}`;
}

/**
 * Stored credentials for an account known only by some forms: the forms given are
 * kept, the others are random values no password matches (argon2 empty: it never
 * verifies; SCRAM keys and the MD5 digest random), so each protocol whose form is
 * missing fails as for a wrong password until the first sign-in fills them in.
 */
export function partialCredentials(forms: Partial<PasswordCredentials>): PasswordCredentials {
  const credentials: PasswordCredentials = {
    argon2: forms.argon2 ?? '',
    scramSha1: forms.scramSha1 ?? unusableScram('sha1'),
    scramSha256: forms.scramSha256 ?? unusableScram('sha256'),
    md5Salt: forms.md5Salt ?? `${1_000_000_000 + (randomBytes(4).readUInt32BE(0) % 1_000_000_000)}.000000000`,
    md5Digest: forms.md5Digest ?? randomBytes(16).toString('hex'),
  };
  if (forms.legacyHash) credentials.legacyHash = forms.legacyHash;
  return credentials;
}

function unusableScram(alg: ScramAlgorithm): ScramKeys {
  const length = alg === 'sha1' ? 20 : 32;
  return {
    salt: randomBytes(16).toString('base64'),
    iterations: 10_000,
    storedKey: randomBytes(length).toString('base64'),
    serverKey: randomBytes(length).toString('base64'),
  };
}

function parse(
  encoded: string,
): { format: LegacyFormat; iterations: number; salt: string; digest: Buffer } | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 4) return undefined;
  const [format, iter, salt, digest] = parts as [string, string, string, string];
  if (format !== 'pbkdf2_sha256' && format !== 'scram_sha1' && format !== 'scram_sha256') return undefined;
  if (!/^\d{1,7}$/.test(iter)) return undefined;
  const iterations = Number(iter);
  if (iterations < 1 || iterations > MAX_ITERATIONS || salt === '' || digest === '') return undefined;
  return { format, iterations, salt, digest: Buffer.from(digest, 'base64') };
}
