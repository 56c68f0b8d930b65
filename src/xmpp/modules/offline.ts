import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { xml } from '../stream/element.ts';

/**
 * XEP-0160 / XEP-0203: messages kept while the account had no available resource,
 * delivered on its next available presence with their original time, in order, once.
 */
export async function deliverOffline(s: XmppSession): Promise<void> {
  const account = s.account;
  if (!account) return;
  const messages = await s.ctx.core.offline.claim(account.id);
  for (const m of messages) {
    const delay = xml(
      'delay',
      { xmlns: NS.delay, from: s.ctx.domain, stamp: new Date(m.sentAt).toISOString() },
      'Offline storage',
    );
    if (m.content.xml) {
      // The stanza as the sender wrote it (with every extension), plus the delay stamp.
      const raw = m.content.xml;
      const withDelay = raw.endsWith('/>')
        ? `${raw.slice(0, -2)}>${delay}</message>`
        : `${raw.slice(0, raw.lastIndexOf('</message>'))}${delay}</message>`;
      s.send(withDelay);
      continue;
    }
    s.send(
      xml(
        'message',
        { from: m.senderHandle, to: s.jid, type: m.content.kind },
        m.content.subject && xml('subject', {}, m.content.subject),
        xml('body', {}, m.content.text),
        delay,
      ),
    );
  }
  if (messages.length > 0) s.log.info({ count: messages.length }, 'delivered offline messages');
}
