import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../../core/core.ts';
import type { AccountRow } from '../../../store/types.ts';
import { isPapillonError } from '../../../util/errors.ts';
import { usableHost } from '../../../util/host.ts';
import { escapeXml } from '../../../util/xml.ts';
import { sendSoap } from '../raw-reply.ts';
import { parseSoap, path, soapEnvelope, text, type XmlNode, XmlRejected } from '../soap.ts';

/**
 * What the address book (abservice.asmx) and the sharing service (SharingService.asmx)
 * have in common: the request envelope with its ABApplicationHeader / ABAuthHeader,
 * the response envelope with its ServiceHeader, the faults, and the route plumbing.
 * References: the MSNP wiki's "Address Book Service" page (shared templates), Pidgin
 * msn/contact.c + msn/soap.c (what an MSNP18 client sends and parses).
 */

export const AB_NS = 'http://www.msn.com/webservices/AddressBook';
/** The one address book an account has: clients send this abId for their own. */
export const OWN_AB_ID = '00000000-0000-0000-0000-000000000000';
/** What the live service answered with in `<Version>`. Clients do not check it. */
const SERVICE_VERSION = '15.01.1408.0000';
/** A full ABFindAll request is ~1.5 KiB; ABContactAdd of many contacts stays far below this. */
export const AB_BODY_LIMIT = 256 * 1024;

/** One parsed request. */
export interface AbRequest {
  /** Local name of the Body's operation element (`ABFindAll`, `AddMember`…). */
  operation: string;
  /** The operation element. */
  action: XmlNode;
  /** `ABApplicationHeader`, if sent. */
  application: XmlNode | undefined;
  /** `ABAuthHeader/TicketToken` (`t=…&p=…`), or the MSPAuth cookie as `t=…`. */
  ticket: string | undefined;
}

/** What an operation gets: the signed-in account and the request. */
export interface AbCall {
  core: Core;
  account: AccountRow;
  request: AbRequest;
  http: FastifyRequest;
}

/** An operation answers the inner XML of `soap:Body` (its `…Response` element). */
export type AbOperation = (call: AbCall) => Promise<string>;

/**
 * An expected failure, answered as a SOAP fault: HTTP 500 as SOAP 1.1 §6.2 says.
 * COMPAT: Miranda IM's and aMSN's ABCH code read the error code only from a 500 answer.
 * `errorcode` goes in `detail/errorcode`, where Pidgin (msn/contact.c) and aMSN look for
 * `InvalidPassportUser`, `ABDoesNotExist`, `ContactAlreadyExists`…
 */
export class AbFault extends Error {
  override name = 'AbFault';
  constructor(
    readonly errorcode: string,
    message: string,
    readonly details: string = '',
  ) {
    super(message);
  }
}

/**
 * Reads the envelope; throws `XmlRejected` for anything that is not a SOAP request
 * with an operation element in its Body. The operation is the Body's element, which
 * every client sends; the SOAPAction header names the same one and is not needed.
 */
export function readAbRequest(body: unknown, cookie: string | undefined): AbRequest {
  if (typeof body !== 'string' || body.trim() === '') throw new XmlRejected('empty body');
  const envelope = path(parseSoap(body), 'Envelope');
  if (envelope === undefined || typeof envelope === 'string') throw new XmlRejected('no SOAP Envelope');
  const bodyNode = path(envelope, 'Body');
  if (bodyNode === undefined || typeof bodyNode === 'string') throw new XmlRejected('no SOAP Body');
  const operation = Object.keys(bodyNode).find((k) => !k.startsWith('@_') && k !== '#text');
  if (operation === undefined) throw new XmlRejected('no operation in the SOAP Body');
  const action = bodyNode[operation];
  const header = path(envelope, 'Header');
  const token = text(path(header, 'ABAuthHeader', 'TicketToken'))?.trim();
  // MSNP13/14 (WLM 8.x) authenticated with the ticket's t part as the MSPAuth cookie
  // instead (MSNP wiki, Address Book Service, "Using Cookies").
  const mspAuth = cookie ? /(?:^|;\s*)MSPAuth=([^;]+)/.exec(cookie)?.[1]?.trim() : undefined;
  return {
    operation,
    action: (Array.isArray(action) ? action[0] : action) ?? '',
    application: path(header, 'ABApplicationHeader'),
    ticket: token ? token : mspAuth ? `t=${mspAuth}&p=` : undefined,
  };
}

/** `…T…Z` with milliseconds: the form every client's xsd:dateTime reader accepts. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** xsd:dateTime's minimum, which the live service used for "never". */
export const NEVER = '0001-01-01T00:00:00';

/**
 * The address book's `lastChange` (and the sharing service's `LastChange`): the
 * account's list version, written as a time — creation time plus one millisecond per
 * version — so it grows with every change and says exactly which version a client
 * holds when it sends it back in a delta request (`deltasOnly` + `lastChange`).
 */
export function lastChangeOf(account: AccountRow): string {
  return isoTime(account.createdAt + account.listVersion);
}

/**
 * Whether a delta request's `lastChange` is the current version: then nothing changed
 * and the answer is empty. Anything else (older, foreign, unreadable) gets the
 * full-sync fault, since deletions since then cannot be listed.
 */
export function isCurrent(account: AccountRow, lastChange: string | undefined): boolean {
  if (lastChange === undefined) return false;
  const ms = Date.parse(lastChange.trim());
  return Number.isFinite(ms) && ms === account.createdAt + account.listVersion;
}

/** `deltasOnly`/`DeltasOnly` is `true` somewhere in the action (FindMembership puts it directly, ABFindContactsPaged in filterOptions). */
export function deltasRequested(action: XmlNode): { deltas: boolean; lastChange: string | undefined } {
  const where = [action, path(action, 'filterOptions')];
  for (const node of where) {
    const deltas = text(path(node, 'deltasOnly')) ?? text(path(node, 'DeltasOnly'));
    if (deltas?.trim().toLowerCase() === 'true') {
      const lastChange = text(path(node, 'lastChange')) ?? text(path(node, 'LastChange'));
      return { deltas: true, lastChange };
    }
  }
  return { deltas: false, lastChange: undefined };
}

/**
 * Registers one service's paths. Every request: read, authenticate, run the
 * operation; expected failures become faults, and nothing a client sends can crash
 * the process (an unexpected error is logged and answered with a server fault).
 */
export function registerAbService(
  app: FastifyInstance,
  core: Core,
  options: { name: string; paths: readonly string[]; operations: Readonly<Record<string, AbOperation>> },
): void {
  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const host = usableHost(request.headers.host) ?? 'contacts.msn.com';
    let parsed: AbRequest;
    try {
      parsed = readAbRequest(request.body, request.headers.cookie);
    } catch (err) {
      if (!(err instanceof XmlRejected)) throw err;
      request.log.info({ ip: request.ip, reason: err.message }, `${options.name}: invalid request`);
      return sendFault(reply, faultXml('soap:Client', 'Invalid request', '', ''));
    }
    const run = options.operations[parsed.operation];
    const actor = `${AB_NS}/${parsed.operation}`;
    const account = parsed.ticket === undefined ? undefined : await core.tickets.verifyService(parsed.ticket);
    if (!account) {
      request.log.info({ ip: request.ip, operation: parsed.operation }, `${options.name}: bad ticket`);
      return sendFault(reply, badTicketFault(actor));
    }
    if (!run) {
      return sendFault(
        reply,
        faultXml(
          'soap:Client',
          `Unknown operation ${parsed.operation}`,
          actor,
          abDetail('InvalidArgument', ''),
        ),
      );
    }
    try {
      const inner = await run({ core, account, request: parsed, http: request });
      sendSoap(reply, soapEnvelope(inner, serviceHeader(account, parsed, host)));
    } catch (err) {
      const fault = err instanceof AbFault ? err : coreFault(err);
      if (!fault) {
        request.log.error({ err, operation: parsed.operation }, `${options.name}: operation failed`);
        return sendFault(reply, faultXml('soap:Server', 'Internal error', actor, ''));
      }
      request.log.info(
        { handle: account.handle, operation: parsed.operation, errorcode: fault.errorcode },
        `${options.name}: fault`,
      );
      sendFault(
        reply,
        faultXml(
          'soap:Client',
          fault.message,
          actor,
          abDetail(fault.errorcode, fault.message, fault.details),
        ),
      );
    }
  };
  for (const p of options.paths) app.post(p, { bodyLimit: AB_BODY_LIMIT }, handle);
}

/** Core errors as the live service's error codes (aMSN abook.tcl, Miranda msn_soap.cpp). */
function coreFault(err: unknown): AbFault | undefined {
  if (!isPapillonError(err)) return undefined;
  switch (err.code) {
    case 'no-such-account':
    case 'self-contact':
    case 'bad-handle':
      return new AbFault('InvalidPassportUser', 'Invalid passport user');
    case 'conflict':
      return new AbFault('QuotaLimitReached', err.message);
    case 'too-many-groups':
      return new AbFault('GroupLimitReached', err.message);
    case 'bad-group-name':
      return new AbFault('BadArgumentLength', err.message);
    case 'group-name-taken':
      return new AbFault('GroupAlreadyExists', err.message);
    case 'no-such-group':
      return new AbFault('GroupDoesNotExist', err.message);
    case 'no-such-contact':
      return new AbFault('ContactDoesNotExist', err.message);
    case 'bad-display-name':
      return new AbFault('BadArgumentLength', err.message);
    default:
      return new AbFault('InvalidArgument', err.message);
  }
}

/**
 * `ServiceHeader` of every answer. `CacheKey` is stable per account; Pidgin stores it
 * and sends it back in ABApplicationHeader/CacheKey (msn/contact.c), so
 * `CacheKeyChanged` is true only when the client's differs. `PreferredHostName`:
 * Windows Live Messenger sends its later requests to that host, so it names the one
 * the client already reached.
 */
function serviceHeader(account: AccountRow, request: AbRequest, host: string): string {
  const key = `12r1:${createHash('sha256').update(`ab-cache:${account.id}`).digest('base64url')}`;
  const sent = text(path(request.application, 'CacheKey'))?.trim();
  return [
    `<ServiceHeader xmlns="${AB_NS}">`,
    `<Version>${SERVICE_VERSION}</Version>`,
    `<CacheKey>${key}</CacheKey>`,
    `<CacheKeyChanged>${sent === key ? 'false' : 'true'}</CacheKeyChanged>`,
    `<PreferredHostName>${escapeXml(host)}</PreferredHostName>`,
    `<SessionId>${randomUUID()}</SessionId>`,
    '</ServiceHeader>',
  ].join('');
}

function abDetail(errorcode: string, message: string, details = ''): string {
  return `<detail><errorcode xmlns="${AB_NS}">${escapeXml(errorcode)}</errorcode><errorstring xmlns="${AB_NS}">${escapeXml(message)}</errorstring><machineName xmlns="${AB_NS}">papillon</machineName><additionalDetails>${details}</additionalDetails></detail>`;
}

function faultXml(code: string, message: string, actor: string, detail: string): string {
  return `<soap:Fault><faultcode>${code}</faultcode><faultstring>${escapeXml(message)}</faultstring>${actor ? `<faultactor>${escapeXml(actor)}</faultactor>` : ''}${detail}</soap:Fault>`;
}

/**
 * A missing, unknown or expired ticket. COMPAT: Pidgin (msn/contact.c
 * msn_contact_request_cb, msn/oim.c) renews its contacts token through RST and
 * retries only for the literal faultcode `q0:BadContextToken`; any other fault on
 * FindMembership/ABFindContactsPaged ends the sign-in with "bad contact list".
 * `q0` is WS-SecureConversation's namespace, where BadContextToken is defined.
 */
function badTicketFault(actor: string): string {
  return `<soap:Fault><faultcode xmlns:q0="http://schemas.xmlsoap.org/ws/2005/02/sc">q0:BadContextToken</faultcode><faultstring>The ticket is missing, invalid or expired</faultstring><faultactor>${escapeXml(actor)}</faultactor>${abDetail('TicketExpired', 'The ticket is missing, invalid or expired')}</soap:Fault>`;
}

/**
 * Answers with `Content-Length` spelt so. COMPAT: Pidgin's SOAP reader (msn/soap.c)
 * matches response header names case-sensitively and reads no body without it.
 */
function sendFault(reply: FastifyReply, fault: string): void {
  sendSoap(reply, soapEnvelope(fault, ''), true);
}

/** The full-sync fault: the client's copy is older than the current version (msnp-sharp and Digsby match "Full sync required"). */
export function fullSyncRequired(): AbFault {
  return new AbFault('FullSyncRequired', 'Full sync required. Need to do full sync');
}

/** Only the account's own address book exists (circles' address books are not served). */
export function requireOwnAb(call: AbCall): void {
  const action = call.request.action;
  const abId = field(action, 'abId') ?? field(action, 'abHandle', 'ABId') ?? OWN_AB_ID;
  if (abId !== OWN_AB_ID) throw new AbFault('ABDoesNotExist', 'no such address book');
}

/** Text of a child element, trimmed; undefined when absent or empty. */
export function field(node: XmlNode | undefined, ...names: string[]): string | undefined {
  const value = text(path(node, ...names))?.trim();
  return value ? value : undefined;
}
