import { mailDataHeader, storedSenderName } from '../services/oim-mail-data.ts';
import type { NsSession } from './session.ts';

/**
 * Offline messages for MSNP13+ clients: the NS only tells the client what is stored
 * (MSNP wiki "OIM"); the client fetches each message from rsi.asmx and deletes it
 * there (services/rsi.ts). Pidgin (msn/notification.c initial_mdata_msg) handles both
 * notices alike: it reads `Mail-Data` and fetches every `<M>` it has not fetched yet.
 */

/** At sign-in, after the profile: `text/x-msmsgsinitialmdatanotification`, even with nothing stored. */
export async function sendInitialMailData(s: NsSession): Promise<void> {
  if (!s.dialect?.oim) return;
  await sendMailData(s, 'text/x-msmsgsinitialmdatanotification');
}

/**
 * A message was stored while the client is signed in (appearing offline, or the
 * sender thought so): `text/x-msmsgsoimnotification` with everything still stored.
 */
export async function sendOimArrival(s: NsSession): Promise<void> {
  if (!s.dialect?.oim) return;
  await sendMailData(s, 'text/x-msmsgsoimnotification');
}

async function sendMailData(s: NsSession, contentType: string): Promise<void> {
  const account = s.account;
  if (!account) return;
  const pending = await s.ctx.core.offline.pending(account.id);
  const payload = [
    'MIME-Version: 1.0',
    `Content-Type: ${contentType}; charset=UTF-8`,
    'Content-Transfer-Encoding: 7bit',
    '',
    // No Inbox-URL: Papillon has no mailbox, and Pidgin asks `URL INBOX` when it sees one.
    `Mail-Data: ${mailDataHeader(pending, storedSenderName)}`,
    '',
    '',
  ].join('\r\n');
  s.sendPayload('MSG', ['Hotmail', 'Hotmail'], payload);
}
