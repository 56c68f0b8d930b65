import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../../core/core.ts';
import type { IssuedTicket } from '../../../core/tickets.ts';
import type { AccountRow } from '../../../store/types.ts';
import { randomToken } from '../../../util/ids.ts';
import { escapeXml } from '../../../util/xml.ts';
import { sendExact } from '../raw-reply.ts';
import { children, parseSoap, path, text, type XmlNode, XmlRejected } from '../soap.ts';

/**
 * The Passport SOAP security-token service, `POST https://login.live.com/RST.srf`
 * (docs/msnp-reference.md §5.4): MSN Messenger 7.5 and msn-pecan send a WS-Trust
 * RequestMultipleSecurityTokens with the credentials in a WS-Security UsernameToken
 * and get one token per requested service. The `messenger.msn.com` token is the
 * login ticket the client presents in `USR trid TWN S t=…&p=…` (§5.2).
 */

/** A real MSNP12 request is about 3 KiB; 64 KiB leaves room for any client. */
const BODY_LIMIT = 64 * 1024;
/** MSNP12 clients ask for 2–5 tokens. */
const MAX_TOKENS = 16;

const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  wsse: 'http://schemas.xmlsoap.org/ws/2003/06/secext',
  wst: 'http://schemas.xmlsoap.org/ws/2004/04/trust',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  wsp: 'http://schemas.xmlsoap.org/ws/2002/12/policy',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/03/addressing',
  saml: 'urn:oasis:names:tc:SAML:1.0:assertion',
  psf: 'http://schemas.microsoft.com/Passport/SoapServices/SOAPFault',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

const CONTENT_TYPE = 'text/xml; charset=utf-8';

export function registerRst(app: FastifyInstance, core: Core): void {
  app.post('/RST.srf', { bodyLimit: BODY_LIMIT }, async (request, reply) => handleRst(core, request, reply));
}

/** What the client asked for. */
interface RstRequest {
  username: string;
  password: string;
  /** The AppliesTo address of each RequestSecurityToken, in request order. */
  addresses: string[];
}

async function handleRst(core: Core, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  let rst: RstRequest;
  try {
    rst = readRequest(request.body);
  } catch (err) {
    if (!(err instanceof XmlRejected)) throw err;
    request.log.info({ ip: request.ip, reason: err.message }, 'passport RST: invalid request');
    // SOAP 1.1 §6.2: a fault goes with HTTP 500. Only broken clients get here.
    return sendExact(reply, 500, { 'Content-Type': CONTENT_TYPE }, clientFault());
  }

  // Shared with every protocol: per (address, handle) and per address. A locked
  // client gets the same fault without its password being checked at all.
  const result = await core.verifyPasswordGuarded(request.ip, rst.username, rst.password);
  if (result.status !== 'ok') {
    request.log.info(
      { ip: request.ip, handle: rst.username, throttled: result.status === 'throttled' },
      'passport RST failed',
    );
    // HTTP 200, although SOAP 1.1 §6.2 says 500. COMPAT: Miranda IM (msn_ssl.cpp,
    // MSN_GetPassportAuth) reads the body only for 200 or 302 and reports anything
    // else as "unable to contact Passport", never as a wrong password; msn-pecan
    // ignores the status. 200 with the fault is what [ESC] answers too.
    return sendExact(reply, 200, { 'Content-Type': CONTENT_TYPE }, authenticationFault(Date.now()));
  }

  const account = result.value;
  const wantsLogin = rst.addresses.some((a) => tokenKind(a) === 'messenger');
  const ticket = wantsLogin ? await core.tickets.issue(account.id) : undefined;
  request.log.info(
    { ip: request.ip, handle: account.handle, tokens: rst.addresses.length },
    'passport RST: tokens issued',
  );
  sendExact(reply, 200, { 'Content-Type': CONTENT_TYPE }, tokenResponse(account, rst.addresses, ticket));
}

/** Reads the credentials and requested tokens; throws `XmlRejected` for anything unusable. */
export function readRequest(body: unknown): RstRequest {
  if (typeof body !== 'string' || body.trim() === '') throw new XmlRejected('empty body');
  const envelope = path(parseSoap(body), 'Envelope');
  if (envelope === undefined) throw new XmlRejected('no SOAP Envelope');
  // Matched by local name: [PECAN] and MSN 7.5 use the wsse prefix, others may not.
  const token = path(envelope, 'Header', 'Security', 'UsernameToken');
  const username = text(path(token, 'Username'))?.trim();
  const password = text(path(token, 'Password'));
  if (!username || password === undefined) throw new XmlRejected('no wsse:UsernameToken');

  const bodyNode = path(envelope, 'Body');
  // MSNP12 clients wrap them in ps:RequestMultipleSecurityTokens; a lone
  // RequestSecurityToken directly in the Body is accepted as well.
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
  return { username, password, addresses: addresses as string[] };
}

type TokenKind = 'legacy' | 'messenger' | 'other';

function tokenKind(address: string): TokenKind {
  const normalized = address
    .trim()
    .toLowerCase()
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');
  if (normalized === 'passport.net/tb') return 'legacy';
  if (normalized === 'messenger.msn.com') return 'messenger';
  return 'other';
}

/** `YYYY-MM-DDTHH:MM:SSZ`. COMPAT: msn-pecan reads wsu:Expires with `%d-%d-%dT%d:%d:%dZ` (pn_auth.c). */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The RequestSecurityTokenResponseCollection (docs/msnp-reference.md §5.4 "Success
 * response"), one RequestSecurityTokenResponse per requested token, in request order.
 * Token ids carry the position of the request (RST0 → BinaryDAToken0, RST1 →
 * Compact1, RST2 → Compact2…), which is how Passport numbered them.
 * COMPAT: msn-pecan finds the messenger ticket by the literal
 * `<wsse:BinarySecurityToken Id="Compact1">` (or `Id="PPToken1"`), splits it on the
 * literal `&amp;`, and reads the `<wsu:Expires>` following
 * `<wsa:Address>messenger.msn.com</wsa:Address>` (pn_auth.c process_body); so
 * prefixes, attribute quoting and the escaped `&amp;` are exactly as written here.
 * COMPAT: Miranda IM takes the first `<wsse:BinarySecurityToken` of the response as
 * the ticket, so the legacy token uses EncryptedData and never that element.
 */
function tokenResponse(account: AccountRow, addresses: string[], ticket: IssuedTicket | undefined): string {
  const now = ticket?.issuedAt ?? Date.now();
  const created = isoSeconds(now);
  const expires = isoSeconds(ticket?.expiresAt ?? now + 10 * 60 * 1000);
  const lifetime = `<wst:LifeTime><wsu:Created>${created}</wsu:Created><wsu:Expires>${expires}</wsu:Expires></wst:LifeTime>`;

  const responses = addresses.map((address, position) => {
    const appliesTo = `<wsp:AppliesTo xmlns:wsa="${NS.wsa}"><wsa:EndpointReference><wsa:Address>${escapeXml(address)}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>`;
    const kind = tokenKind(address);
    if (kind === 'legacy') {
      // Opaque to every MSNP12 client: nothing reads it back.
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
        `<CipherData><CipherValue>${randomBytes(96).toString('base64')}</CipherValue></CipherData>`,
        '</EncryptedData>',
        '</wst:RequestedSecurityToken>',
        `<wst:RequestedTokenReference><wsse:KeyIdentifier ValueType="urn:passport"></wsse:KeyIdentifier><wsse:Reference URI="#${id}"></wsse:Reference></wst:RequestedTokenReference>`,
        `<wst:RequestedProofToken><wst:BinarySecret>${randomBytes(24).toString('base64')}</wst:BinarySecret></wst:RequestedProofToken>`,
        '</wst:RequestSecurityTokenResponse>',
      ].join('');
    }
    // The messenger.msn.com token is the login ticket. Tokens for other services
    // (messengersecure.live.com, contacts.msn.com, storage.msn.com: MSNP13+ web
    // services, not served yet) are opaque placeholders no endpoint accepts.
    const compact = kind === 'messenger' && ticket !== undefined ? ticket : { t: randomToken(32), p: '' };
    const id = `Compact${position}`;
    return [
      '<wst:RequestSecurityTokenResponse>',
      '<wst:TokenType>urn:passport:compact</wst:TokenType>',
      appliesTo,
      lifetime,
      `<wst:RequestedSecurityToken><wsse:BinarySecurityToken Id="${id}">t=${escapeXml(compact.t)}&amp;p=${escapeXml(compact.p)}</wsse:BinarySecurityToken></wst:RequestedSecurityToken>`,
      `<wst:RequestedTokenReference><wsse:KeyIdentifier ValueType="urn:passport:compact"></wsse:KeyIdentifier><wsse:Reference URI="#${id}"></wsse:Reference></wst:RequestedTokenReference>`,
      '</wst:RequestSecurityTokenResponse>',
    ].join('');
  });

  return envelope(
    passportHeader({ puid: puidOf(account), authstate: '0x48803', reqstatus: '0x0', now }),
    `<wst:RequestSecurityTokenResponseCollection xmlns:wst="${NS.wst}" xmlns:wsse="${NS.wsse}" xmlns:wsu="${NS.wsu}" xmlns:saml="${NS.saml}" xmlns:wsp="${NS.wsp}" xmlns:psf="${NS.psf}">${responses.join('')}</wst:RequestSecurityTokenResponseCollection>`,
  );
}

/** Bad credentials (§5.4): faultcode wsse:FailedAuthentication, Passport's error state in psf:pp. */
function authenticationFault(now: number): string {
  return envelope(
    passportHeader({ authstate: '0x80048800', reqstatus: '0x80048823', now }),
    // COMPAT: Miranda IM tests for the substring `wsse:FailedAuthentication`.
    '<S:Fault><faultcode>wsse:FailedAuthentication</faultcode><faultstring>Authentication Failure</faultstring></S:Fault>',
  );
}

/** A request we cannot read (§5.4): faultcode S:Client. */
function clientFault(): string {
  return envelope(
    '',
    '<S:Fault><faultcode>S:Client</faultcode><faultstring>Invalid Request</faultstring></S:Fault>',
  );
}

/**
 * `psf:pp`, Passport's status header. Clients do not read it ([PECAN] and Miranda
 * look only at the body); the version strings are plausible constants.
 */
function passportHeader(options: {
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

function envelope(header: string, body: string): string {
  return `<?xml version="1.0" encoding="utf-8" ?><S:Envelope xmlns:S="${NS.soap}" xmlns:wsse="${NS.wsse}"><S:Header>${header}</S:Header><S:Body>${body}</S:Body></S:Envelope>`;
}

/** Passport's 64-bit member id, as 16 hex digits; ours is derived from the account id. */
function puidOf(account: AccountRow): string {
  return createHash('sha256').update(account.id).digest('hex').slice(0, 16).toUpperCase();
}
