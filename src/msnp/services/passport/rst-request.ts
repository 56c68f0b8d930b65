import { children, parseSoap, path, text, type XmlNode, XmlRejected } from '../soap.ts';
import { type RenewalRequest, readRenewal } from './rst-renewal.ts';

/**
 * Reading a WS-Trust RequestMultipleSecurityTokens (docs/msnp-reference.md §5.4):
 * the credentials of the WS-Security UsernameToken and the AppliesTo address of each
 * requested token. Matched by local name: MSN 7.5, msn-pecan, Pidgin (retro-prpl
 * msn/nexus.h MSN_SSO_TEMPLATE) and WLM 2009 (RST2.srf, newer namespaces) differ in
 * prefixes and namespaces but not in element names.
 */

/** MSNP12 clients ask for 2–5 tokens, Pidgin's MSNP18 plugin 7, WLM 2009 about 10. */
const MAX_TOKENS = 16;

export interface RstRequest {
  kind: 'password';
  username: string;
  password: string;
  /** The AppliesTo address of each RequestSecurityToken, in request order. */
  addresses: string[];
}

/**
 * Reads the credentials and requested tokens, or a token renewal signed with the
 * Passport token's proof key (rst-renewal.ts); throws `XmlRejected` for anything unusable.
 */
export function readRequest(body: unknown): RstRequest | RenewalRequest {
  if (typeof body !== 'string' || body.trim() === '') throw new XmlRejected('empty body');
  const envelope = path(parseSoap(body), 'Envelope');
  if (envelope === undefined) throw new XmlRejected('no SOAP Envelope');
  const token = path(envelope, 'Header', 'Security', 'UsernameToken');
  if (token === undefined) return readRenewal(envelope, body, requestedAddresses(envelope));
  const username = text(path(token, 'Username'))?.trim();
  const password = text(path(token, 'Password'));
  if (!username || password === undefined) throw new XmlRejected('no wsse:UsernameToken');

  return { kind: 'password', username, password, addresses: requestedAddresses(envelope) };
}

/**
 * The AppliesTo address of each RequestSecurityToken of an Envelope's Body. Clients
 * wrap them in ps:RequestMultipleSecurityTokens; a lone RequestSecurityToken directly
 * in the Body (Pidgin's token renewal) is accepted as well.
 */
export function requestedAddresses(envelope: XmlNode | undefined): string[] {
  const bodyNode = path(envelope, 'Body');
  const requested: XmlNode[] = [
    ...children(path(bodyNode, 'RequestMultipleSecurityTokens'), 'RequestSecurityToken'),
    ...children(bodyNode, 'RequestSecurityToken'),
  ];
  if (requested.length === 0) throw new XmlRejected('no RequestSecurityToken');
  if (requested.length > MAX_TOKENS) throw new XmlRejected(`more than ${MAX_TOKENS} tokens requested`);
  const addresses = requested.map((rst) =>
    text(path(rst, 'AppliesTo', 'EndpointReference', 'Address'))?.trim(),
  );
  if (addresses.some((a) => !a)) throw new XmlRejected('a RequestSecurityToken has no AppliesTo address');
  // The PolicyReference URI is not read. COMPAT: msn-pecan always sends `?id=507`
  // whatever the server's TWN S string said, and whether MSN 7.5 escapes that string
  // is unknown (§5.4 UNCERTAIN), so no policy is required.
  return addresses as string[];
}

/**
 * What a requested token is for:
 * - `legacy`: `http://Passport.NET/tb`, the Passport DA token (opaque to clients);
 * - `login-proof`: `messengerclear.live.com`, the MSNP15+ SSO login ticket with its
 *   proof key (MSNP wiki "MSNP15:SSO"; Pidgin nexus.c ticket_domains[0]);
 * - `login`: `messenger.msn.com`, the MSNP8–14 `USR TWN S` ticket;
 * - `service`: anything else (contacts.msn.com, messengersecure.live.com,
 *   storage.msn.com, storage.live.com, sup.live.com, spaces.live.com, …): a token the
 *   web services accept.
 */
export type TokenKind = 'legacy' | 'login-proof' | 'login' | 'service';

export function tokenKind(address: string): TokenKind {
  const normalized = address
    .trim()
    .toLowerCase()
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');
  if (normalized === 'passport.net/tb') return 'legacy';
  if (normalized === 'messengerclear.live.com') return 'login-proof';
  if (normalized === 'messenger.msn.com') return 'login';
  return 'service';
}
