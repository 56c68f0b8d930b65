import { PapillonError } from './errors.ts';

/**
 * A handle is the e-mail-shaped account name MSN calls the "passport" and XMPP the
 * bare JID (when its domain is ours). It is compared case-insensitively, so it is
 * stored lower-cased.
 *
 * Limits: RFC 5321 §4.5.3.1 caps the local part at 64 octets; MSN passports were at
 * most 129 characters in total; RFC 7622 §3.3 caps each JID part at 1023 octets.
 * The tightest (64 / 129) applies to both protocols. The character set is the
 * common subset both sides accept: letters, digits and `._-+` in the local part
 * (no JID-forbidden characters `"&'/:<>@`, no whitespace), and a DNS host name.
 */
const LOCAL_PART = /^[a-z0-9](?:[a-z0-9._+-]*[a-z0-9_+-])?$/;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const MAX_HANDLE_LENGTH = 129;
export const MAX_LOCAL_PART_LENGTH = 64;

export function normalizeHandle(input: string): string {
  return input.trim().toLowerCase();
}

/** Returns the normalized handle, or throws `bad-handle` naming what is wrong. */
export function parseHandle(input: string): string {
  const handle = normalizeHandle(input);
  const fail = (why: string): never => {
    throw new PapillonError('bad-handle', `invalid handle "${input}": ${why}`);
  };
  if (handle.length === 0) fail('empty');
  if (handle.length > MAX_HANDLE_LENGTH) fail(`longer than ${MAX_HANDLE_LENGTH} characters`);
  const at = handle.indexOf('@');
  if (at < 0 || at !== handle.lastIndexOf('@')) fail('must have the form name@domain');
  const local = handle.slice(0, at);
  const domain = handle.slice(at + 1);
  if (local.length === 0 || local.length > MAX_LOCAL_PART_LENGTH) {
    fail(`the name before @ must be 1 to ${MAX_LOCAL_PART_LENGTH} characters`);
  }
  if (!LOCAL_PART.test(local) || local.includes('..')) {
    fail('the name before @ may use letters, digits and . _ - + (not at its ends, no "..")');
  }
  const labels = domain.split('.');
  if (domain.length > 253 || !labels.every((l) => DOMAIN_LABEL.test(l)))
    fail('the domain is not a host name');
  return handle;
}

export function isValidHandle(input: string): boolean {
  try {
    parseHandle(input);
    return true;
  } catch {
    return false;
  }
}

export function handleDomain(handle: string): string {
  return handle.slice(handle.indexOf('@') + 1);
}

export function handleLocalPart(handle: string): string {
  return handle.slice(0, handle.indexOf('@'));
}
