import { randomBytes, randomUUID } from 'node:crypto';

/** A random UUID: account and group ids (MSNP10+ shows them as contact/group GUIDs). */
export function newId(): string {
  return randomUUID();
}

/** A random URL-safe token of `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * A random client id for an OAuth app: 32 lowercase hex digits (128 bits). Hex, not base64url,
 * because a base64url id can begin with `-`, and `papillon app delete <client_id>` would then
 * read it as an option (that broke CI once).
 */
export function newClientId(): string {
  return randomBytes(16).toString('hex');
}
