import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ScramKeys } from '../store/types.ts';

/** The SCRAM hash functions XMPP clients use: RFC 5802 (SHA-1) and RFC 7677 (SHA-256). */
export type ScramAlgorithm = 'sha1' | 'sha256';

const KEY_LENGTH: Record<ScramAlgorithm, number> = { sha1: 20, sha256: 32 };

/**
 * 10,000 PBKDF2 iterations (RFC 7677 §4 asks for at least 4,096; 10,000 is what
 * Prosody stores). The cost is paid by the client at each login and by us once per
 * password change.
 */
export const SCRAM_ITERATIONS = 10_000;

export function hmac(alg: ScramAlgorithm, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(alg, key).update(data).digest();
}

export function hash(alg: ScramAlgorithm, data: Buffer): Buffer {
  return createHash(alg).update(data).digest();
}

/** RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i). */
export function saltedPassword(
  alg: ScramAlgorithm,
  password: string,
  salt: Buffer,
  iterations: number,
): Buffer {
  // RFC 5802 asks for SASLprep; NFKC is its normalization step, which covers what
  // real passwords contain (the prohibited-character checks only reject input).
  return pbkdf2Sync(password.normalize('NFKC'), salt, iterations, KEY_LENGTH[alg], alg);
}

/** RFC 5802 §3: ClientKey, StoredKey := H(ClientKey), ServerKey. */
export function deriveScramKeys(
  alg: ScramAlgorithm,
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = SCRAM_ITERATIONS,
): ScramKeys {
  const salted = saltedPassword(alg, password, salt, iterations);
  const clientKey = hmac(alg, salted, 'Client Key');
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: hash(alg, clientKey).toString('base64'),
    serverKey: hmac(alg, salted, 'Server Key').toString('base64'),
  };
}

/**
 * RFC 5802 §3 server side: given the AuthMessage and the client's proof, checks
 * H(ClientProof XOR ClientSignature) = StoredKey and returns the ServerSignature
 * (base64) to send back, or undefined when the proof is wrong.
 */
export function verifyScramProof(
  alg: ScramAlgorithm,
  keys: ScramKeys,
  authMessage: string,
  clientProofBase64: string,
): string | undefined {
  const storedKey = Buffer.from(keys.storedKey, 'base64');
  const proof = Buffer.from(clientProofBase64, 'base64');
  if (proof.length !== storedKey.length) return undefined;
  const clientSignature = hmac(alg, storedKey, authMessage);
  const clientKey = Buffer.alloc(proof.length);
  for (let i = 0; i < proof.length; i++) clientKey[i] = (proof[i] ?? 0) ^ (clientSignature[i] ?? 0);
  if (!timingSafeEqual(hash(alg, clientKey), storedKey)) return undefined;
  return hmac(alg, Buffer.from(keys.serverKey, 'base64'), authMessage).toString('base64');
}
