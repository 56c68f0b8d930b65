import { escapeXml, escapeXmlText } from '../../util/xml.ts';
import { memberPid } from './profile-message.ts';
import type { NsSession } from './session.ts';

/**
 * An operator's notice to an MSN client (docs/msnp-reference.md §10).
 *
 * The maintenance countdown is the system message `MSG Hotmail Hotmail` with
 * `application/x-msmsgssystemmessage`, `Type: 1` and `Arg1: <minutes>`: every MSNP version
 * has it, and every client read for this shows it in its own words ("The MSN server will
 * shut down for maintenance in N minutes…": MSN Messenger, Pidgin and msn-pecan
 * notification.c system_msg, bitlbee). No client displays any other Type, so the system
 * message cannot carry free text.
 *
 * Free text goes as an MSN Alerts `NOT` (MSNP5+): MSN Messenger 5+ and Windows Live
 * Messenger show its `<TEXT>` as a toast. COMPAT: Pidgin and msn-pecan read a NOT and
 * ignore it, and MSNP2–4 have no NOT: those users see nothing of a plain broadcast.
 */
export function sendServerNotice(s: NsSession, text: string, shutdownInMinutes?: number): void {
  const dialect = s.dialect;
  const account = s.account;
  if (!dialect || !account) return;
  if (shutdownInMinutes !== undefined) {
    const body =
      'MIME-Version: 1.0\r\nContent-Type: application/x-msmsgssystemmessage\r\n\r\n' +
      `Type: 1\r\nArg1: ${Math.max(0, Math.round(shutdownInMinutes))}\r\n`;
    s.sendPayload('MSG', ['Hotmail', 'Hotmail'], body);
    if (text === '') return;
  }
  // §10 "NOT (MSNP5+)".
  if (dialect.version < 5) return;
  const payload =
    '<NOTIFICATION ver="2" id="1" siteid="0" siteurl="http://localhost/">' +
    `<TO pid="${memberPid(account.id)}" name="${escapeXml(account.handle)}"/>` +
    '<MSG pri="1" id="1"><ACTION url="/"/><SUBSCR url="/"/>' +
    `<BODY lang="1033" icon=""><TEXT>${escapeXmlText(text)}</TEXT></BODY>` +
    '</MSG></NOTIFICATION>';
  s.sendPayload('NOT', [], payload);
}
