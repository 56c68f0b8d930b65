import { randomBytes } from 'node:crypto';
import { expectedSsoParts } from '../src/msnp/sso-challenge.ts';
import { escapeXml } from '../src/util/xml.ts';
import { type HttpsTarget, postSoap } from './https-post.ts';

/**
 * The client side of Passport's SOAP token service (docs/msnp-reference.md §5.4):
 * MSN Messenger 7.5's RST.srf request for the MSNP12 ticket, and the MSNP15+ request
 * for the SSO login ticket with its proof key and the web-service tokens, which
 * Windows Live Messenger 2009 posts to RST2.srf (the shape of Pidgin's MSNP18 plugin,
 * retro-prpl msn/nexus.h MSN_SSO_TEMPLATE), and the MBI_KEY_OLD answer.
 */

const ISSUE = 'http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue';

/** One RequestSecurityToken: the AppliesTo address and, but for RST0, its policy. */
export type TokenRequest = readonly [address: string, policy: string | undefined];

/** RequestSecurityToken elements `RST<n>`, in order. */
export function tokenRequests(tokens: readonly TokenRequest[]): string {
  return tokens
    .map(
      ([address, policy], i) =>
        `<wst:RequestSecurityToken Id="RST${i}"><wst:RequestType>${ISSUE}</wst:RequestType>` +
        `<wsp:AppliesTo><wsa:EndpointReference><wsa:Address>${escapeXml(address)}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
        (policy === undefined
          ? ''
          : `<wsse:PolicyReference URI="${escapeXml(policy)}"></wsse:PolicyReference>`) +
        '</wst:RequestSecurityToken>',
    )
    .join('');
}

/**
 * The RequestMultipleSecurityTokens envelope every RST client sends around its
 * RequestSecurityToken elements (`requests`), with the UsernameToken.
 */
export function rstEnvelope(handle: string, password: string, requests: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wssc="http://schemas.xmlsoap.org/ws/2004/04/sc" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust">' +
    '<Header><ps:AuthInfo xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="PPAuthInfo">' +
    '<ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}</ps:HostingApp><ps:BinaryVersion>4</ps:BinaryVersion>' +
    '<ps:UIVersion>1</ps:UIVersion><ps:Cookies></ps:Cookies><ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams>' +
    '</ps:AuthInfo><wsse:Security><wsse:UsernameToken Id="user">' +
    `<wsse:Username>${escapeXml(handle)}</wsse:Username><wsse:Password>${escapeXml(password)}</wsse:Password>` +
    '</wsse:UsernameToken></wsse:Security></Header>' +
    '<Body><ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">' +
    `${requests}</ps:RequestMultipleSecurityTokens></Body></Envelope>`
  );
}

/** MSN Messenger 7.5's RST.srf request body (§5.4): Passport.NET/tb and messenger.msn.com under `policy`. */
export function rst12Body(handle: string, password: string, policy: string): string {
  return rstEnvelope(
    handle,
    password,
    tokenRequests([
      ['http://Passport.NET/tb', undefined],
      ['messenger.msn.com', `?${policy.replace(/,/g, '&')}`],
    ]),
  );
}

/** Each `Compact<n>` token of an RST answer by its position n, with its BinarySecret if any. */
function compactTokens(text: string): Map<number, { ticket: string; secret: string | undefined }> {
  const tokens = new Map<number, { ticket: string; secret: string | undefined }>();
  for (const [, response = ''] of text.matchAll(
    /<wst:RequestSecurityTokenResponse>(.*?)<\/wst:RequestSecurityTokenResponse>/gs,
  )) {
    const token = /<wsse:BinarySecurityToken Id="Compact(\d+)">([^<]*)</.exec(response);
    if (!token) continue;
    const secret = /<wst:BinarySecret>([^<]*)</.exec(response)?.[1];
    tokens.set(Number(token[1]), { ticket: (token[2] ?? '').replace(/&amp;/g, '&'), secret });
  }
  return tokens;
}

function rstFailure(path: string, status: number, text: string): Error {
  const fault = /<(?:\w+:)?(?:faultstring|Text)[^>]*>([^<]*)</.exec(text)?.[1];
  return new Error(`${path} ${status}: ${fault ?? 'a token is missing'}`);
}

/** MSN Messenger 7.5's RST.srf request (§5.4): the messenger.msn.com ticket (`t=…&p=…`) for `USR TWN S`. */
export async function rstTicket(
  target: HttpsTarget,
  localAddress: string | undefined,
  handle: string,
  password: string,
  policy: string,
): Promise<string> {
  const body = rst12Body(handle, password, policy);
  const res = await postSoap(target, { path: '/RST.srf', hostName: 'login.live.com', body, localAddress });
  const ticket = compactTokens(res.text).get(1)?.ticket;
  if (!ticket) throw rstFailure('RST.srf', res.status, res.text);
  return ticket;
}

/**
 * The tokens an MSNP18 client asks for after Passport.NET/tb, with their policies
 * (MSNP wiki "MSNP15:SSO"; Pidgin msn/nexus.c ticket_domains).
 */
export const SSO_TOKENS: readonly TokenRequest[] = [
  ['http://Passport.NET/tb', undefined],
  ['messengerclear.live.com', 'MBI_KEY_OLD'],
  ['messenger.msn.com', '?id=507'],
  ['contacts.msn.com', 'MBI'],
  ['messengersecure.live.com', 'MBI_SSL'],
  ['storage.live.com', 'MBI'],
  ['sup.live.com', 'MBI'],
];
const LOGIN_TOKEN = 1;
const CONTACTS_TOKEN = 3;

export interface SsoTokens {
  /** messengerclear.live.com: the `USR SSO S` ticket. */
  login: string;
  /** Its proof key (base64), which the MBI_KEY_OLD answer is made with. */
  proofKey: string;
  /** contacts.msn.com: the address book and sharing services' ABAuthHeader ticket. */
  contacts: string;
}

/** POST /RST2.srf as Windows Live Messenger 2009 signs in (MSNP wiki "MSNP15:SSO"). */
export async function ssoTokens(
  target: HttpsTarget,
  localAddress: string | undefined,
  handle: string,
  password: string,
): Promise<SsoTokens> {
  const body = rstEnvelope(handle, password, tokenRequests(SSO_TOKENS));
  const res = await postSoap(target, { path: '/RST2.srf', hostName: 'login.live.com', body, localAddress });
  const tokens = compactTokens(res.text);
  const login = tokens.get(LOGIN_TOKEN);
  const contacts = tokens.get(CONTACTS_TOKEN);
  if (!login?.secret || !contacts) throw rstFailure('RST2.srf', res.status, res.text);
  return { login: login.ticket, proofKey: login.secret, contacts: contacts.ticket };
}

/**
 * The base64 MBI_KEY_OLD answer of `USR trid SSO S <ticket> <answer>` (MSNP wiki
 * "MSNP15:SSO"): a 28-byte header of seven little-endian uint32s (header size, CBC
 * mode 1, 3DES 0x6603, SHA-1 0x8004, IV, hash and cipher sizes), a random IV, then
 * the hash and the cipher of the nonce under keys derived from the proof key. The
 * two parts are the computation the server checks (src/msnp/sso-challenge.ts).
 */
export function ssoAnswer(proofKey: string, nonce: string): string {
  const iv = randomBytes(8);
  const { hash, cipher } = expectedSsoParts(Buffer.from(proofKey, 'base64'), nonce, iv);
  const header = Buffer.alloc(28);
  [28, 1, 0x6603, 0x8004, iv.length, hash.length, cipher.length].forEach((v, i) => {
    header.writeUInt32LE(v, i * 4);
  });
  return Buffer.concat([header, iv, hash, cipher]).toString('base64');
}
