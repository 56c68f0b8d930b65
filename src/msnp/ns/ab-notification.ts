import { escapeXml, escapeXmlText } from '../../util/xml.ts';
import { cidOf } from '../cid.ts';
import { memberPid } from './profile-message.ts';
import type { NsSession } from './session.ts';

/** The ABCH's site id in its notifications (as the live service and Escargot wrote it). */
const ABCH_SITE_ID = 45705;

/**
 * MSNP13+ `NOT len` + the ABCH's "address book changed" notification: a
 * `<NOTIFICATION>` whose BODY carries an escaped `<NotificationData>` with
 * `<Service>ABCHInternal</Service>` and the owner's CID (MSNP wiki Commands/NOT,
 * "Contact update notification"). Windows Live Messenger answers it by fetching the
 * address book again (ABFindContactsPaged), which is how a contact added, removed or
 * blocked on one endpoint (or over XMPP, or on the web) reaches its other endpoints.
 * COMPAT: Pidgin reads a NOT's payload and ignores it (msn/notification.c not_cmd).
 */
export function sendAddressBookChanged(s: NsSession, now = Date.now()): void {
  const account = s.account;
  if (!account || !s.dialect?.addressBook) return;
  const data =
    '<NotificationData xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    '<Service>ABCHInternal</Service>' +
    `<CID>${cidOf(account.id)}</CID>` +
    `<LastModifiedDate>${new Date(now).toISOString()}</LastModifiedDate>` +
    '<HasNewItem>false</HasNewItem>' +
    '</NotificationData>';
  const payload =
    `<NOTIFICATION id="0" siteid="${ABCH_SITE_ID}" siteurl="http://contacts.msn.com">` +
    `<TO pid="${memberPid(account.id)}" name="${escapeXml(account.handle)}"><VIA agent="messenger"/></TO>` +
    '<MSG id="0"><SUBSCR url="s.htm"/><ACTION url="a.htm"/>' +
    `<BODY>${escapeXmlText(data)}</BODY>` +
    '</MSG></NOTIFICATION>';
  s.sendPayload('NOT', [], payload);
}
