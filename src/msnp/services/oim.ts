import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.ts';
import { MAX_OFFLINE_TEXT_BYTES } from '../../core/offline.ts';
import { isPapillonError } from '../../util/errors.ts';
import { isValidHandle, normalizeHandle } from '../../util/handle.ts';
import { escapeXmlText } from '../../util/xml.ts';
import { OimLockKeys } from './oim-lock-keys.ts';
import { OimContentRejected, readOimContent } from './oim-message.ts';
import { OIM_NS, oimFault, ticketFault } from './oim-soap.ts';
import { sendSoap } from './raw-reply.ts';
import { attribute, parseSoap, path, soapEnvelope, text, XmlRejected } from './soap.ts';

/**
 * Sending offline messages: `POST https://ows.messenger.msn.com/OimWS/oim.asmx`,
 * SOAPAction `http://messenger.live.com/ws/2006/09/oim/Store2` (MSNP wiki "OIM";
 * what Pidgin msn/oim.c and msn-pecan pn_oim.c send, msn-pecan even at MSNP12).
 *
 * Header: `From memberName friendlyName …`, `To memberName`, `Ticket passport="t=…&p=…"
 * appid lockkey` (the messengersecure.live.com service token), `Sequence/MessageNumber`.
 * Body: `MessageType` text and `Content`: MIME headers + base64 UTF-8 text.
 *
 * The sender is the ticket's account, never the From header. A message is stored in
 * the core's offline store (delivered once: OIM for MSNP13+, a server switchboard for
 * MSNP2–12, XEP-0203 for XMPP) before success is answered.
 *
 * Faults, as the clients know them: `q0:AuthenticationFailed` with `LockKeyChallenge`
 * (answer the lock key), with `RequiredAuthPolicy` (fetch a new ticket);
 * `q0:SystemUnavailable` (no such user, or blocked: Pidgin says exactly that);
 * `q0:MessageTooLarge` (msn-pecan); `q0:InvalidContent` (undecodable text).
 */

/** Real messages are a few KiB; room for the MIME and base64 around MAX_OFFLINE_TEXT_BYTES. */
const BODY_LIMIT = 2 * MAX_OFFLINE_TEXT_BYTES;

interface Store2Request {
  ticket: string;
  appId: string;
  lockKey: string;
  to: string;
  messageType: string;
  content: string;
  sequence: string;
}

export function registerOim(app: FastifyInstance, core: Core): void {
  const lockKeys = new OimLockKeys();
  app.post('/OimWS/oim.asmx', { bodyLimit: BODY_LIMIT }, (request, reply) =>
    handleStore(core, lockKeys, request, reply),
  );
}

async function handleStore(
  core: Core,
  lockKeys: OimLockKeys,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  let req: Store2Request;
  try {
    req = readStore2(request.body);
  } catch (err) {
    if (!(err instanceof XmlRejected)) throw err;
    request.log.info({ reason: err.message }, 'OIM Store2: unreadable request');
    return sendSoap(reply, oimFault('InvalidContent'), true);
  }

  const sender = await core.tickets.verifyService(req.ticket);
  if (!sender) return sendSoap(reply, ticketFault('MBI_SSL'), true);

  if (!lockKeys.check(sender.id, req.appId, req.lockKey)) {
    // COMPAT: an unknown appid gets no challenge (its answer could not be checked);
    // Pidgin then gives up instead of resending in a loop.
    const detail = OimLockKeys.knows(req.appId)
      ? // COMPAT: msn-pecan searches for `<LockKeyChallenge ` with a space: an attribute must follow.
        `<LockKeyChallenge xmlns="${OIM_NS}">${lockKeys.challenge(sender.id)}</LockKeyChallenge>`
      : '';
    return sendSoap(reply, oimFault('AuthenticationFailed', detail), true);
  }

  const handle = normalizeHandle(req.to);
  const recipient = isValidHandle(handle) ? await core.accounts.find(handle) : undefined;
  // Blocked looks the same as nobody there, as on the live service.
  if (
    !recipient ||
    recipient.id === sender.id ||
    !(await core.relationships.canSee(sender.id, recipient.id))
  ) {
    return sendSoap(reply, oimFault('SystemUnavailable'), true);
  }

  let messageText: string;
  try {
    if (req.messageType !== 'text') throw new OimContentRejected(`message type ${req.messageType}`);
    messageText = readOimContent(req.content);
  } catch (err) {
    if (!(err instanceof OimContentRejected)) throw err;
    request.log.info({ reason: err.message }, 'OIM Store2: content refused');
    return sendSoap(reply, oimFault('InvalidContent'), true);
  }

  try {
    await core.offline.save(recipient.id, sender.handle, {
      kind: 'chat',
      text: messageText,
      senderName: sender.displayName,
    });
  } catch (err) {
    if (isPapillonError(err, 'conflict')) return sendSoap(reply, oimFault('MessageTooLarge'), true);
    throw err;
  }
  // An offline message is a one-to-one message like any other: both archives keep it.
  core.archive.record(sender, recipient, messageText);
  request.log.info({ sender: sender.handle, recipient: recipient.handle }, 'OIM stored');
  sendSoap(reply, storeResponse(req.sequence));
}

/** Reads a Store2 request; throws `XmlRejected` for anything unusable. */
export function readStore2(body: unknown): Store2Request {
  if (typeof body !== 'string' || body.trim() === '') throw new XmlRejected('empty body');
  const envelope = path(parseSoap(body), 'Envelope');
  const header = path(envelope, 'Header');
  const ticketNode = path(header, 'Ticket');
  const to = attribute(path(header, 'To'), 'memberName');
  const ticket = attribute(ticketNode, 'passport');
  const content = text(path(envelope, 'Body', 'Content'));
  if (!to || ticket === undefined || content === undefined) {
    throw new XmlRejected('Store2 needs To, Ticket and Content');
  }
  return {
    ticket,
    appId: attribute(ticketNode, 'appid') ?? '',
    lockKey: attribute(ticketNode, 'lockkey') ?? '',
    to,
    messageType: text(path(envelope, 'Body', 'MessageType'))?.trim() || 'text',
    content,
    sequence: text(path(header, 'Sequence', 'MessageNumber'))?.trim() ?? '1',
  };
}

/** Success: the WS-ReliableMessaging acknowledgement of the client's sequence number. */
function storeResponse(sequence: string): string {
  const n = /^\d{1,9}$/.test(sequence) ? sequence : '1';
  return soapEnvelope(
    `<StoreResponse xmlns="${OIM_NS}"><PointsConsumed>0</PointsConsumed></StoreResponse>`,
    '<SequenceAcknowledgment xmlns="http://schemas.xmlsoap.org/ws/2003/03/rm">' +
      '<Identifier xmlns="http://schemas.xmlsoap.org/ws/2002/07/utility">http://messenger.msn.com</Identifier>' +
      `<AcknowledgmentRange Upper="${escapeXmlText(n)}" Lower="${escapeXmlText(n)}"/>` +
      '</SequenceAcknowledgment>',
  );
}
