import { hasControlCharacters } from './text.ts';
/**
 * JIDs (RFC 7622): `local@domain/resource`. Local part and domain compare without
 * case (Papillon handles are lower-case); the resource is kept as given.
 */
export interface Jid {
  local: string;
  domain: string;
  resource: string;
}

const MAX_PART_BYTES = 1023;

/** Parses a JID; undefined when it is not one (RFC 7622 §3 limits, forbidden characters). */
export function parseJid(input: string): Jid | undefined {
  if (input.length === 0 || input.length > 3071) return undefined;
  const slash = input.indexOf('/');
  const bareText = slash >= 0 ? input.slice(0, slash) : input;
  const resource = slash >= 0 ? input.slice(slash + 1) : '';
  if (slash >= 0 && resource.length === 0) return undefined;
  const at = bareText.indexOf('@');
  const local = at >= 0 ? bareText.slice(0, at) : '';
  const domain = at >= 0 ? bareText.slice(at + 1) : bareText;
  if (at >= 0 && local.length === 0) return undefined;
  if (domain.length === 0 || domain.includes('@')) return undefined;
  // RFC 7622 §3.3.1: these never appear in a local part.
  if (/["&'/:<>@\s]/.test(local)) return undefined;
  for (const part of [local, domain, resource]) {
    if (Buffer.byteLength(part) > MAX_PART_BYTES) return undefined;
    if (hasControlCharacters(part)) return undefined;
  }
  return { local: local.toLowerCase(), domain: domain.toLowerCase().replace(/\.$/, ''), resource };
}

export function bareJid(jid: Jid): string {
  return jid.local ? `${jid.local}@${jid.domain}` : jid.domain;
}
