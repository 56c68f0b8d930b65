import { createHash, randomBytes } from 'node:crypto';
import type { IssuedTicket } from '../../../core/tickets.ts';
import type { AccountRow } from '../../../store/types.ts';
import { escapeXml } from '../../../util/xml.ts';
import { encryptRenewal } from './rst-renewal.ts';
import type { TokenKind } from './rst-request.ts';

/**
 * The answers of the Passport security-token service (docs/msnp-reference.md §5.4):
 * the RequestSecurityTokenResponseCollection and the faults, in two flavours:
 * - `rst`: `/RST.srf`, SOAP 1.1 and WS-Trust 2004/04, as MSN 7.5, msn-pecan and
 *   Pidgin's MSNP18 plugin read it;
 * - `rst2`: `/RST2.srf`, SOAP 1.2 and WS-Trust 2005/02, as Windows Live Messenger
 *   2009 asks for it (element `wst:Lifetime` instead of `wst:LifeTime`, token
 *   references as RequestedAttached/UnattachedReference).
 */
export type RstFlavor = 'rst' | 'rst2';

const NS = {
  soap11: 'http://schemas.xmlsoap.org/soap/envelope/',
  soap12: 'http://www.w3.org/2003/05/soap-envelope',
  wsse: 'http://schemas.xmlsoap.org/ws/2003/06/secext',
  wsse2: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wst: 'http://schemas.xmlsoap.org/ws/2004/04/trust',
  wst2: 'http://schemas.xmlsoap.org/ws/2005/02/trust',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  wsp: 'http://schemas.xmlsoap.org/ws/2002/12/policy',
  wsp2: 'http://schemas.xmlsoap.org/ws/2004/09/policy',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/03/addressing',
  wsa2: 'http://www.w3.org/2005/08/addressing',
  saml: 'urn:oasis:names:tc:SAML:1.0:assertion',
  psf: 'http://schemas.microsoft.com/Passport/SoapServices/SOAPFault',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

/** One requested token and what was issued for it (nothing for `legacy`). */
export interface IssuedToken {
  address: string;
  kind: TokenKind;
  ticket?: IssuedTicket;
}

/** `YYYY-MM-DDTHH:MM:SSZ`. COMPAT: msn-pecan reads wsu:Expires with `%d-%d-%dT%d:%d:%dZ` (pn_auth.c). */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * One RequestSecurityTokenResponse per requested token, in request order. Token ids
 * carry the position of the request (RST0 → BinaryDAToken0, RST1 → Compact1, …),
 * which is how Passport numbered them.
 * COMPAT: msn-pecan finds the messenger ticket by the literal
 * `<wsse:BinarySecurityToken Id="Compact1">` (or `Id="PPToken1"`), splits it on the
 * literal `&amp;`, and reads the `<wsu:Expires>` following
 * `<wsa:Address>messenger.msn.com</wsa:Address>` (pn_auth.c process_body); so
 * prefixes, attribute quoting and the escaped `&amp;` are exactly as written here.
 * COMPAT: Pidgin (retro-prpl msn/nexus.c nexus_parse_token) files each token under
 * `atol(Id + 7) - 1`, so `Compact<n>` must be the position of its RST<n>; it reads
 * `RequestedProofToken/BinarySecret` (the SSO proof key) and `LifeTime/Expires`, and
 * fails the whole sign-in when a non-legacy response lacks a BinarySecurityToken.
 * COMPAT: Miranda IM takes the first `<wsse:BinarySecurityToken` of the response as
 * the ticket, so the legacy token uses EncryptedData and never that element.
 */
export function tokenResponse(
  flavor: RstFlavor,
  account: AccountRow,
  tokens: IssuedToken[],
  now: number,
): string {
  return envelope(
    flavor,
    passportHeader({ puid: puidOf(account), authstate: '0x48803', reqstatus: '0x0', now }),
    `<wst:RequestSecurityTokenResponseCollection ${collectionNamespaces(flavor)}>${tokenResponses(flavor, tokens, now).join('')}</wst:RequestSecurityTokenResponseCollection>`,
  );
}

/** The namespaces the RequestSecurityTokenResponse elements of `flavor` use. */
export function collectionNamespaces(flavor: RstFlavor): string {
  return flavor === 'rst2'
    ? `xmlns:wst="${NS.wst2}" xmlns:wsse="${NS.wsse2}" xmlns:wsu="${NS.wsu}" xmlns:saml="${NS.saml}" xmlns:wsp="${NS.wsp2}" xmlns:psf="${NS.psf}"`
    : `xmlns:wst="${NS.wst}" xmlns:wsse="${NS.wsse}" xmlns:wsu="${NS.wsu}" xmlns:saml="${NS.saml}" xmlns:wsp="${NS.wsp}" xmlns:psf="${NS.psf}"`;
}

/** One `wst:RequestSecurityTokenResponse` per token, in request order (see tokenResponse). */
export function tokenResponses(flavor: RstFlavor, tokens: readonly IssuedToken[], now: number): string[] {
  const v2 = flavor === 'rst2';
  return tokens.map(({ address, kind, ticket }, position) => {
    const created = isoSeconds(ticket?.issuedAt ?? now);
    // Each token's own expiry: WLM caches web-service tokens until wsu:Expires.
    const expires = isoSeconds(ticket?.expiresAt ?? now + 24 * 60 * 60 * 1000);
    const lifetimeTag = v2 ? 'wst:Lifetime' : 'wst:LifeTime';
    const lifetime = `<${lifetimeTag}><wsu:Created>${created}</wsu:Created><wsu:Expires>${expires}</wsu:Expires></${lifetimeTag}>`;
    const appliesTo = `<wsp:AppliesTo xmlns:wsa="${v2 ? NS.wsa2 : NS.wsa}"><wsa:EndpointReference><wsa:Address>${escapeXml(address)}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>`;
    if (kind === 'legacy' || ticket === undefined) {
      // The Passport DA token. Its CipherValue and BinarySecret come back when a client
      // renews a token (Pidgin msn/nexus.c msn_nexus_update_token; rst-renewal.ts): the
      // base64 of the stored DA token and its proof key. Opaque to clients otherwise.
      const id = `BinaryDAToken${position}`;
      return [
        '<wst:RequestSecurityTokenResponse>',
        '<wst:TokenType>urn:passport:legacy</wst:TokenType>',
        appliesTo,
        lifetime,
        '<wst:RequestedSecurityToken>',
        `<EncryptedData xmlns="${NS.xenc}" Id="${id}" Type="${NS.xenc}Element">`,
        `<EncryptionMethod Algorithm="${NS.xenc}tripledes-cbc"></EncryptionMethod>`,
        `<ds:KeyInfo xmlns:ds="${NS.ds}"><ds:KeyName>http://Passport.NET/STS</ds:KeyName></ds:KeyInfo>`,
        `<CipherData><CipherValue>${ticket ? Buffer.from(ticket.t, 'utf8').toString('base64') : randomBytes(96).toString('base64')}</CipherValue></CipherData>`,
        '</EncryptedData>',
        '</wst:RequestedSecurityToken>',
        reference(v2, 'urn:passport', id),
        `<wst:RequestedProofToken><wst:BinarySecret>${ticket?.proofKey ?? randomBytes(24).toString('base64')}</wst:BinarySecret></wst:RequestedProofToken>`,
        '</wst:RequestSecurityTokenResponse>',
      ].join('');
    }
    const id = `Compact${position}`;
    const value = `t=${escapeXml(ticket.t)}&amp;p=${escapeXml(ticket.p)}`;
    return [
      '<wst:RequestSecurityTokenResponse>',
      '<wst:TokenType>urn:passport:compact</wst:TokenType>',
      appliesTo,
      lifetime,
      `<wst:RequestedSecurityToken><wsse:BinarySecurityToken Id="${id}">${value}</wsse:BinarySecurityToken></wst:RequestedSecurityToken>`,
      reference(v2, 'urn:passport:compact', id, ticket.t),
      // MSNP15 SSO: the key the client answers the MBI_KEY_OLD nonce with.
      ticket.proofKey === undefined
        ? ''
        : `<wst:RequestedProofToken><wst:BinarySecret>${ticket.proofKey}</wst:BinarySecret></wst:RequestedProofToken>`,
      '</wst:RequestSecurityTokenResponse>',
    ].join('');
  });
}

/** RST.srf: RequestedTokenReference; RST2.srf: attached/unattached references by digest. */
function reference(v2: boolean, valueType: string, id: string, token?: string): string {
  if (!v2) {
    return `<wst:RequestedTokenReference><wsse:KeyIdentifier ValueType="${valueType}"></wsse:KeyIdentifier><wsse:Reference URI="#${id}"></wsse:Reference></wst:RequestedTokenReference>`;
  }
  const digest = createHash('sha1')
    .update(token ?? id)
    .digest('base64');
  const ref = `<wsse:SecurityTokenReference><wsse:Reference URI="${digest}"></wsse:Reference></wsse:SecurityTokenReference>`;
  return `<wst:RequestedAttachedReference>${ref}</wst:RequestedAttachedReference><wst:RequestedUnattachedReference>${ref}</wst:RequestedUnattachedReference>`;
}

/** Bad credentials (§5.4): FailedAuthentication, with Passport's error state in psf:pp. */
export function authenticationFault(flavor: RstFlavor, now: number): string {
  const header = passportHeader({ authstate: '0x80048800', reqstatus: '0x80048823', now });
  if (flavor === 'rst2') {
    // SOAP 1.2 (§5.4): the code is a Sender fault, the WS-Trust reason its subcode.
    return envelope(
      flavor,
      header,
      `<S:Fault><S:Code><S:Value>S:Sender</S:Value><S:Subcode><S:Value xmlns:wst="${NS.wst2}">wst:FailedAuthentication</S:Value></S:Subcode></S:Code><S:Reason><S:Text xml:lang="en-US">Authentication Failure</S:Text></S:Reason><S:Detail><psf:error xmlns:psf="${NS.psf}"><psf:value>0x80048823</psf:value></psf:error></S:Detail></S:Fault>`,
    );
  }
  return envelope(
    flavor,
    header,
    // COMPAT: Miranda IM tests for the substring `wsse:FailedAuthentication`.
    '<S:Fault><faultcode>wsse:FailedAuthentication</faultcode><faultstring>Authentication Failure</faultstring></S:Fault>',
  );
}

/** A request we cannot read (§5.4): a client fault. */
export function clientFault(flavor: RstFlavor): string {
  if (flavor === 'rst2') {
    return envelope(
      flavor,
      '',
      '<S:Fault><S:Code><S:Value>S:Sender</S:Value></S:Code><S:Reason><S:Text xml:lang="en-US">Invalid Request</S:Text></S:Reason></S:Fault>',
    );
  }
  return envelope(
    flavor,
    '',
    '<S:Fault><faultcode>S:Client</faultcode><faultstring>Invalid Request</faultstring></S:Fault>',
  );
}

/**
 * `psf:pp`, Passport's status header. Clients do not read it ([PECAN], Pidgin and
 * Miranda look only at the body); the version strings are plausible constants.
 */
export function passportHeader(options: {
  puid?: string;
  authstate: string;
  reqstatus: string;
  now: number;
}): string {
  return [
    `<psf:pp xmlns:psf="${NS.psf}">`,
    '<psf:serverVersion>1</psf:serverVersion>',
    options.puid === undefined ? '' : `<psf:PUID>${escapeXml(options.puid)}</psf:PUID>`,
    '<psf:configVersion>3.0.869.0</psf:configVersion>',
    '<psf:uiVersion>3.0.869.0</psf:uiVersion>',
    `<psf:authstate>${options.authstate}</psf:authstate>`,
    `<psf:reqstatus>${options.reqstatus}</psf:reqstatus>`,
    `<psf:serverInfo ServerTime="${isoSeconds(options.now)}">Papillon</psf:serverInfo>`,
    '<psf:cookies></psf:cookies>',
    '<psf:response></psf:response>',
    '</psf:pp>',
  ].join('');
}

export function envelope(flavor: RstFlavor, header: string, body: string): string {
  const ns =
    flavor === 'rst2'
      ? `xmlns:S="${NS.soap12}" xmlns:wsse="${NS.wsse2}" xmlns:wsu="${NS.wsu}"`
      : `xmlns:S="${NS.soap11}" xmlns:wsse="${NS.wsse}"`;
  return `<?xml version="1.0" encoding="utf-8" ?><S:Envelope ${ns}><S:Header>${header}</S:Header><S:Body>${body}</S:Body></S:Envelope>`;
}

/** Passport's 64-bit member id, as 16 hex digits; ours is derived from the account id. */
export function puidOf(account: AccountRow): string {
  return createHash('sha256').update(account.id).digest('hex').slice(0, 16).toUpperCase();
}

/**
 * The answer to a token renewal (rst-renewal.ts): the token response — one
 * RequestSecurityTokenResponse for one token, as Pidgin asks, else the collection —
 * encrypted under the renewal's key in `Body/EncryptedData`, and the key's nonce in
 * `Header/Security/DerivedKeyToken Id="EncKey"` (Pidgin nexus.c nexus_got_update_cb
 * reads exactly these two).
 */
export function renewalResponse(
  flavor: RstFlavor,
  account: AccountRow,
  tokens: IssuedToken[],
  proofKey: string,
  now: number,
): string {
  const responses = tokenResponses(flavor, tokens, now);
  const inner =
    responses.length === 1
      ? (responses[0] ?? '').replace(
          '<wst:RequestSecurityTokenResponse>',
          `<wst:RequestSecurityTokenResponse ${collectionNamespaces(flavor)}>`,
        )
      : `<wst:RequestSecurityTokenResponseCollection ${collectionNamespaces(flavor)}>${responses.join('')}</wst:RequestSecurityTokenResponseCollection>`;
  const { nonce, cipherValue } = encryptRenewal(inner, proofKey);
  const security = [
    '<wsse:Security>',
    '<wssc:DerivedKeyToken xmlns:wssc="http://schemas.xmlsoap.org/ws/2005/02/sc" Id="EncKey">',
    `<wssc:Nonce>${nonce}</wssc:Nonce>`,
    '</wssc:DerivedKeyToken>',
    '</wsse:Security>',
  ].join('');
  return envelope(
    flavor,
    passportHeader({ puid: puidOf(account), authstate: '0x48803', reqstatus: '0x0', now }) + security,
    [
      `<EncryptedData xmlns="${NS.xenc}" Id="BinaryDAToken0" Type="${NS.xenc}Element">`,
      `<EncryptionMethod Algorithm="${NS.xenc}tripledes-cbc"></EncryptionMethod>`,
      `<ds:KeyInfo xmlns:ds="${NS.ds}"><wsse:SecurityTokenReference><wsse:Reference URI="#EncKey"></wsse:Reference></wsse:SecurityTokenReference></ds:KeyInfo>`,
      `<CipherData><CipherValue>${cipherValue}</CipherValue></CipherData>`,
      '</EncryptedData>',
    ].join(''),
  );
}
