import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../../core/core.ts';
import { recordSignIn } from '../../../core/metrics.ts';
import type { IssuedTicket } from '../../../core/tickets.ts';
import type { AccountRow } from '../../../store/types.ts';
import { sendSoap } from '../raw-reply.ts';
import { XmlRejected } from '../soap.ts';
import { type RenewalRequest, verifyRenewal } from './rst-renewal.ts';
import { type RstRequest, readRequest, tokenKind } from './rst-request.ts';
import {
  authenticationFault,
  clientFault,
  type IssuedToken,
  type RstFlavor,
  renewalResponse,
  tokenResponse,
} from './rst-response.ts';

/**
 * The Passport SOAP security-token service at login.live.com (docs/msnp-reference.md
 * §5.4; MSNP wiki "MSNP15:SSO"): a WS-Trust RequestMultipleSecurityTokens with the
 * credentials in a WS-Security UsernameToken gets one token per requested service:
 * - messengerclear.live.com: the MSNP15+ login ticket plus its proof key, which the
 *   client answers the `USR … SSO S MBI_KEY_OLD <nonce>` challenge with;
 * - messenger.msn.com: the MSNP8–14 login ticket of `USR trid TWN S t=…&p=…`;
 * - every other domain: a web-service token (address book, OIM, storage, …).
 */

/** A real request is 3–8 KiB; 64 KiB leaves room for any client. */
const BODY_LIMIT = 64 * 1024;

export function registerRst(app: FastifyInstance, core: Core): void {
  const route = (flavor: RstFlavor) => (request: FastifyRequest, reply: FastifyReply) =>
    handleRst(core, flavor, request, reply);
  app.post('/RST.srf', { bodyLimit: BODY_LIMIT }, route('rst'));
  // COMPAT: Pidgin's MSNP18 plugin writes `POST /%s` with the path "/RST.srf"
  // (retro-prpl msn/soap.c, msn/nexus.h SSO_POST_URL), so it asks for `//RST.srf`.
  app.post('//RST.srf', { bodyLimit: BODY_LIMIT }, route('rst'));
  // Windows Live Messenger 2009 (MSNP18) uses RST2.srf, with SOAP 1.2 answers.
  app.post('/RST2.srf', { bodyLimit: BODY_LIMIT }, route('rst2'));
}

async function handleRst(
  core: Core,
  flavor: RstFlavor,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  let rst: RstRequest | RenewalRequest;
  try {
    rst = readRequest(request.body);
  } catch (err) {
    if (!(err instanceof XmlRejected)) throw err;
    request.log.info({ ip: request.ip, reason: err.message }, 'passport RST: invalid request');
    // SOAP 1.1 §6.2: a fault goes with HTTP 500. Only broken clients get here.
    return sendSoap(reply, clientFault(flavor), true);
  }
  if (rst.kind === 'renewal') return renewTokens(core, flavor, rst, request, reply);

  // Shared with every protocol: per (address, handle) and per address. A locked
  // client gets the same fault without its password being checked at all.
  const result = await core.verifyPasswordGuarded(request.ip, rst.username, rst.password);
  if (result.status !== 'ok') {
    recordSignIn(core.metrics, request.log, {
      path: 'passport-rst',
      result: result.status,
      address: request.ip,
      handle: rst.username,
    });
    // HTTP 200, although SOAP 1.1 §6.2 says 500. COMPAT: Miranda IM (msn_ssl.cpp,
    // MSN_GetPassportAuth) reads the body only for 200 or 302 and reports anything
    // else as "unable to contact Passport", never as a wrong password; msn-pecan
    // ignores the status. 200 with the fault is what [ESC] answers too.
    return sendSoap(reply, authenticationFault(flavor, Date.now()));
  }

  const account = result.value;
  const tokens = await issueTokens(core, account, rst.addresses, false);
  recordSignIn(core.metrics, request.log, {
    path: 'passport-rst',
    result: 'ok',
    address: request.ip,
    handle: account.handle,
  });
  request.log.debug({ tokens: rst.addresses.length, flavor }, 'passport RST: tokens issued');
  sendSoap(reply, tokenResponse(flavor, account, tokens, Date.now()));
}

/**
 * A token renewal (rst-renewal.ts): signed with the proof key of a live Passport DA
 * token of ours, it gets fresh web-service tokens, encrypted under that key. A bad or
 * expired signature gets the same FailedAuthentication as a wrong password.
 */
async function renewTokens(
  core: Core,
  flavor: RstFlavor,
  rst: RenewalRequest,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const now = Date.now();
  const found = await core.tickets.findPassport(rst.daToken);
  const account =
    found && verifyRenewal(rst, found.proofKey, now)
      ? await core.accounts.findById(found.accountId)
      : undefined;
  if (!found || !account) {
    request.log.info({ ip: request.ip, known: Boolean(found) }, 'passport RST: token renewal refused');
    return sendSoap(reply, authenticationFault(flavor, now));
  }
  const tokens = await issueTokens(core, account, rst.addresses, true);
  request.log.info(
    { ip: request.ip, handle: account.handle, tokens: rst.addresses.length, flavor },
    'passport RST: tokens renewed',
  );
  sendSoap(reply, renewalResponse(flavor, account, tokens, found.proofKey, now));
}

/**
 * One token per requested address. An MSNP15+ client signs in with the
 * messengerclear.live.com ticket and uses the messenger.msn.com one for web services
 * (Pidgin nexus.c: "Authentication for receiving OIMs"); MSNP8–14 clients sign in with
 * the messenger.msn.com ticket. A renewal only ever gets web-service tokens: nobody
 * signs in with a renewed token (Pidgin renews messenger.msn.com for RSI).
 */
async function issueTokens(
  core: Core,
  account: AccountRow,
  addresses: readonly string[],
  renewal: boolean,
): Promise<IssuedToken[]> {
  const kinds = addresses.map(tokenKind);
  const sso = kinds.includes('login-proof');
  let service: IssuedTicket | undefined;
  const serviceToken = async () => {
    service ??= await core.tickets.issueService(account.id);
    return service;
  };
  const tokens: IssuedToken[] = [];
  for (const [i, address] of addresses.entries()) {
    const kind = kinds[i] ?? 'service';
    let ticket: IssuedTicket;
    // The DA token: what a later renewal is signed with (its proof key is the BinarySecret).
    if (kind === 'legacy') ticket = await core.tickets.issuePassport(account.id);
    else if (renewal) ticket = await serviceToken();
    else if (kind === 'login-proof') ticket = await core.tickets.issue(account.id, { withProofKey: true });
    // COMPAT: MSNP13–14 clients (WLM 8.0/8.1; msn-pecan at MSNP12) sign in with the
    // messenger.msn.com ticket and then present it to RSI to fetch offline messages.
    else if (kind === 'login' && !sso) ticket = await core.tickets.issue(account.id, { alsoForWeb: true });
    else ticket = await serviceToken();
    tokens.push({ address, kind, ticket });
  }
  return tokens;
}
