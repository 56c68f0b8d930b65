import { bareJid, parseJid } from '../../util/jid.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { StanzaError } from '../stanza-error.ts';
import { type XmlElement, xml } from '../stream/element.ts';

const answer = (iq: XmlElement, seconds: number) =>
  xml(
    'iq',
    { type: 'result', id: iq.attrs.id, from: iq.attrs.to, to: iq.attrs.from },
    xml('query', { xmlns: NS.last, seconds: String(Math.max(0, Math.floor(seconds))) }),
  );

/**
 * XEP-0012 last activity, answered by the server (IQs to a full JID go to that
 * resource and are its client's business, §4):
 * - to the server (§5): how long it has been up;
 * - to an account's bare JID (§3): seconds since it went offline as contacts saw it
 *   (any protocol: core/last-activity.ts), 0 while it is online; only to the account
 *   itself and to contacts subscribed to it, else `forbidden`.
 */
export async function lastActivityGet(s: XmppSession, iq: XmlElement): Promise<XmlElement | undefined> {
  const account = s.account;
  if (!account) return undefined;
  const to = iq.attrs.to ? parseJid(iq.attrs.to) : undefined;
  if (!to?.local) {
    if (!iq.attrs.to) {
      // No `to`: the user's own bare JID (RFC 6120 §10.3.3), which is online: this session.
      return answer(iq, 0);
    }
    // The process runs one server: its uptime is the server's.
    return answer(iq, process.uptime());
  }
  const target = await s.ctx.core.accounts.find(bareJid(to));
  // No such account: the same answer as one that may not be seen (no probing for accounts).
  if (!target) throw new StanzaError('auth', 'forbidden');
  const view = await s.ctx.core.lastActivity.seenBy(account.id, target.id);
  if (view.kind === 'forbidden') throw new StanzaError('auth', 'forbidden');
  if (view.kind === 'online') return answer(iq, 0);
  if (view.since === undefined)
    throw new StanzaError('cancel', 'item-not-found', 'not seen online since records began');
  return answer(iq, (Date.now() - view.since) / 1000);
}
