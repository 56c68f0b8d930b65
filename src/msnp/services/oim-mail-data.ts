import type { OfflineMessage } from '../../core/offline.ts';
import { escapeXmlText } from '../../util/xml.ts';
import { encodedWord } from './oim-message.ts';

/**
 * The `<MD>` metadata that lists a recipient's offline messages (MSNP wiki "OIM";
 * Pidgin msn/oim.c msn_parse_oim_xml; msn-pecan notification.c): sent in the NS
 * `Mail-Data:` header and returned by rsi.asmx GetMetadata.
 *
 * `<E>` is the mailbox (Papillon has no mail: all zero), `<Q>` the quota, and one
 * `<M>` per message: T 11 and S 6 (an OIM), RT received time, RS 0 (unread), SZ size,
 * E sender, I message id, F the OIM folder, N sender name, SU subject.
 * COMPAT: msn-pecan finds messages by the literal `<M>` and takes only those whose
 * `<RS>` is exactly `0`; Pidgin reads E, I, N and RT.
 */
export function mailData(messages: readonly OfflineMessage[], nameOf: (m: OfflineMessage) => string): string {
  const items = messages.map((m) =>
    [
      '<M>',
      '<T>11</T><S>6</S>',
      `<RT>${new Date(m.sentAt).toISOString()}</RT>`,
      '<RS>0</RS>',
      `<SZ>${Buffer.byteLength(m.content.text, 'utf8')}</SZ>`,
      `<E>${escapeXmlText(m.senderHandle)}</E>`,
      `<I>${escapeXmlText(m.id)}</I>`,
      '<F>00000000-0000-0000-0000-000000000009</F>',
      `<N>${escapeXmlText(encodedWord(nameOf(m)))}</N>`,
      '<SU> </SU>',
      '</M>',
    ].join(''),
  );
  return `<MD><E><I>0</I><IU>0</IU><O>0</O><OU>0</OU></E><Q><QTM>409600</QTM><QNM>204800</QNM></Q>${items.join('')}</MD>`;
}

/**
 * Past this many bytes the NS sends `Mail-Data: too-large` and the client asks
 * GetMetadata instead (Pidgin msn_parse_oim_msg): an NS payload stays small.
 */
export const MAIL_DATA_INLINE_LIMIT = 7 * 1024;

/** The `Mail-Data:` header value: the metadata, or `too-large`. */
export function mailDataHeader(
  messages: readonly OfflineMessage[],
  nameOf: (m: OfflineMessage) => string,
): string {
  const md = mailData(messages, nameOf);
  return Buffer.byteLength(md, 'utf8') > MAIL_DATA_INLINE_LIMIT ? 'too-large' : md;
}

/** The display name a message lists: the one it was sent under, else the handle. */
export function storedSenderName(m: OfflineMessage): string {
  return m.content.senderName ?? m.senderHandle;
}
