import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.ts';
import type { AccountRow } from '../../store/types.ts';
import { escapeXmlText } from '../../util/xml.ts';
import { mailData, storedSenderName } from './oim-mail-data.ts';
import { oimMessageText } from './oim-message.ts';
import { oimFault, RSI_NS, ticketFault, ticketFromCookie } from './oim-soap.ts';
import { sendSoap } from './raw-reply.ts';
import { children, path, readOperation, soapEnvelope, text } from './soap.ts';

/**
 * Reading offline messages: `POST https://rsi.hotmail.com/rsi/rsi.asmx` (MSNP wiki
 * "OIM", "Retrieving"; Pidgin msn/oim.h templates, msn-pecan pn_oim.c). The ticket is
 * in `<PassportCookie><t>…</t><p>…</p></PassportCookie>`.
 *
 * - GetMetadata: the `<MD>` list (as the NS Mail-Data header has it).
 * - GetMessage `messageId`: the message as MIME text; it stays stored.
 * - DeleteMessages `messageIds/messageId…`: only now are the messages gone (core
 *   offline `take`), so a client that crashes before showing one gets it again.
 */

const BODY_LIMIT = 64 * 1024;
/** Ids one DeleteMessages may name; clients send one at a time. */
const MAX_DELETE = 100;

type Operation = 'GetMetadata' | 'GetMessage' | 'DeleteMessages';
const OPERATIONS: readonly Operation[] = ['GetMetadata', 'GetMessage', 'DeleteMessages'];

export function registerRsi(app: FastifyInstance, core: Core): void {
  app.post('/rsi/rsi.asmx', { bodyLimit: BODY_LIMIT }, (request, reply) => handleRsi(core, request, reply));
}

async function handleRsi(core: Core, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const read = readOperation(request.body, OPERATIONS);
  if (typeof read === 'string') return sendSoap(reply, oimFault('InvalidContent'), true);
  const { envelope, body, operation } = read;

  const cookie = path(envelope, 'Header', 'PassportCookie');
  const account = await accountFor(core, ticketFromCookie(text(path(cookie, 't')), text(path(cookie, 'p'))));
  if (!account) return sendSoap(reply, ticketFault('MBI'), true);

  switch (operation) {
    case 'GetMetadata': {
      const pending = await core.offline.pending(account.id);
      return sendSoap(
        reply,
        soapEnvelope(
          `<GetMetadataResponse xmlns="${RSI_NS}">${mailData(pending, storedSenderName)}</GetMetadataResponse>`,
        ),
      );
    }
    case 'GetMessage': {
      const pending = await core.offline.pending(account.id);
      const id = text(path(body, 'GetMessage', 'messageId'))?.trim() ?? '';
      const index = pending.findIndex((m) => m.id === id);
      const message = pending[index];
      // Gone already (another machine deleted it): the live service's answer for a missing message.
      if (!message) return sendSoap(reply, oimFault('MessageNotFound'), true);
      const sender = await core.accounts.find(message.senderHandle);
      const mime = oimMessageText(
        message,
        account.handle,
        sender?.displayName ?? storedSenderName(message),
        index + 1,
      );
      return sendSoap(
        reply,
        soapEnvelope(
          `<GetMessageResponse xmlns="${RSI_NS}"><GetMessageResult>${escapeXmlText(mime)}</GetMessageResult></GetMessageResponse>`,
        ),
      );
    }
    case 'DeleteMessages': {
      const ids = children(path(body, 'DeleteMessages', 'messageIds'), 'messageId')
        .map((node) => text(node)?.trim() ?? '')
        .filter((id) => id !== '')
        .slice(0, MAX_DELETE);
      const taken = await core.offline.take(account.id, ids);
      if (taken.length > 0) request.log.info({ count: taken.length }, 'OIMs deleted by the recipient');
      return sendSoap(reply, soapEnvelope(`<DeleteMessagesResponse xmlns="${RSI_NS}"/>`));
    }
  }
}

/**
 * The account of an RSI ticket: a web-service token, or the messenger.msn.com login
 * ticket, before or after it signed in, while its web-service lifetime lasts
 * (core tickets `verifyWebLogin`). COMPAT: Pidgin (MSN_AUTH_MESSENGER_WEB) and
 * msn-pecan send the messenger.msn.com token here, which at MSNP13–14 is the login
 * ticket itself, already redeemed by `USR TWN S`.
 */
async function accountFor(core: Core, ticket: string): Promise<AccountRow | undefined> {
  return (await core.tickets.verifyService(ticket)) ?? (await core.tickets.verifyWebLogin(ticket));
}
