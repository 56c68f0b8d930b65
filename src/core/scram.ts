import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { ScramKeys } from '../store/types.ts';

/** The SCRAM hash functions XMPP clients use: RFC 5802 (SHA-1) and RFC 7677 (SHA-256). */
export type ScramAlgorithm = 'sha1' | 'sha256';

const KEY_LENGTH: Record<ScramAlgorithm, number> = { sha1: 20, sha256: 32 };

/** PBKDF2 on libuv's thread pool. */
export const pbkdf2Async = promisify(pbkdf2);

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

/**
 * RFC 5802 §3 Normalize(password). RFC 5802 asks for SASLprep; NFKC is its
 * normalization step, which covers what real passwords contain (the
 * prohibited-character checks only reject input). So every check against SCRAM keys
 * (a SCRAM exchange, or a plaintext password in `scramPasswordMatches`) accepts the
 * password in any form with the same NFKC normalization.
 */
function normalize(password: string): string {
  return password.normalize('NFKC');
}

/** RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i). */
export function saltedPassword(
  alg: ScramAlgorithm,
  password: string,
  salt: Buffer,
  iterations: number,
): Buffer {
  return pbkdf2Sync(normalize(password), salt, iterations, KEY_LENGTH[alg], alg);
}

/** `saltedPassword` on libuv's thread pool: the event loop goes on meanwhile. */
export function saltedPasswordAsync(
  alg: ScramAlgorithm,
  password: string,
  salt: Buffer,
  iterations: number,
): Promise<Buffer> {
  return pbkdf2Async(normalize(password), salt, iterations, KEY_LENGTH[alg], alg);
}

/** RFC 5802 §3: ClientKey, StoredKey := H(ClientKey), ServerKey. */
export function deriveScramKeys(
  alg: ScramAlgorithm,
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = SCRAM_ITERATIONS,
): ScramKeys {
  return keysOf(alg, saltedPassword(alg, password, salt, iterations), salt, iterations);
}

/** `deriveScramKeys` with the PBKDF2 work on the thread pool. */
export async function deriveScramKeysAsync(
  alg: ScramAlgorithm,
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = SCRAM_ITERATIONS,
): Promise<ScramKeys> {
  return keysOf(alg, await saltedPasswordAsync(alg, password, salt, iterations), salt, iterations);
}

function keysOf(alg: ScramAlgorithm, salted: Buffer, salt: Buffer, iterations: number): ScramKeys {
  const clientKey = hmac(alg, salted, 'Client Key');
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: hash(alg, clientKey).toString('base64'),
    serverKey: hmac(alg, salted, 'Server Key').toString('base64'),
  };
}

/**
 * Checks a plaintext password against stored SCRAM keys (RFC 5802 §3): recomputes
 * SaltedPassword with the stored salt and iteration count, then StoredKey =
 * H(HMAC(SaltedPassword, "Client Key")), and compares it in constant time. The
 * PBKDF2 work runs on the thread pool.
 */
export async function scramPasswordMatches(
  alg: ScramAlgorithm,
  keys: ScramKeys,
  password: string,
): Promise<boolean> {
  const salted = await saltedPasswordAsync(alg, password, Buffer.from(keys.salt, 'base64'), keys.iterations);
  return storedKeyMatches(alg, salted, Buffer.from(keys.storedKey, 'base64'));
}

/** RFC 5802 §3: whether H(HMAC(SaltedPassword, "Client Key")) is `storedKey`, compared in constant time. */
export function storedKeyMatches(alg: ScramAlgorithm, salted: Buffer, storedKey: Buffer): boolean {
  const computed = hash(alg, hmac(alg, salted, 'Client Key'));
  return storedKey.length === computed.length && timingSafeEqual(computed, storedKey);
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
