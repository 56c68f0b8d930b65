import type { JsonValue } from '../../bus/types.ts';
import type { Core } from '../../core/core.ts';
import { type RoutedStanza, xmppChannel } from '../c2s/context.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { RawXml, XmlElement, xml } from '../stream/element.ts';
import type { XmppResource } from './message.ts';

/** XEP-0280 §4 `<enable/>` and §5 `<disable/>`; asking twice is no error (§10.1). */
export function carbonsSet(s: XmppSession, iq: XmlElement): XmlElement {
  s.carbons = iq.getChild('enable', NS.carbons) !== undefined;
  return xml('iq', { type: 'result', id: iq.attrs.id, to: iq.attrs.from });
}

/**
 * XEP-0280 §6 (the suggested rules): `chat` messages, and `normal` ones with a body,
 * unless the sender opted out with `<private/>` (§9) or the XEP-0334 `<no-copy/>`
 * hint, or the message already is a carbon copy.
 */
export function wantsCarbons(el: XmlElement): boolean {
  const type = el.attrs.type ?? 'normal';
  if (type !== 'chat' && !(type === 'normal' && el.getChild('body') !== undefined)) return false;
  for (const child of el.children) {
    if (!(child instanceof XmlElement)) continue;
    const ns = child.xmlns;
    if (ns === NS.hints && child.name === 'no-copy') return false;
    if (ns === NS.carbons) return false; // <private/>, or a forged <sent/>/<received/>
  }
  return true;
}

/** §9: the receiving server SHOULD take `<private/>` out before delivery. */
export function stripPrivate(el: XmlElement): void {
  const i = el.children.findIndex(
    (c) => c instanceof XmlElement && c.name === 'private' && c.xmlns === NS.carbons,
  );
  if (i >= 0) el.children.splice(i, 1);
}

/**
 * §8 Sending: a copy of what this resource sent goes to the account's other
 * carbons-enabled resources. Nothing is published when the account has no other
 * XMPP resource (the common case costs one endpoint read, no bus message).
 */
export async function copySent(s: XmppSession, el: XmlElement): Promise<void> {
  const account = s.account;
  if (!account) return;
  const core = s.ctx.core;
  const here = s.ctx.sessions.get(account.id);
  const others =
    (here !== undefined && here.size > 1) ||
    (await core.presence.endpoints(account.id)).some(
      (e) => e.endpointId.startsWith('xmpp:') && e.endpointId !== s.endpointId,
    );
  if (others) await publishCarbon(core, account.id, 'sent', el, [s.resource]);
}

/**
 * §7 Receiving: after RFC 6121 delivery to `deliveredTo`, a copy goes to each
 * carbons-enabled resource that did not get the original.
 */
export async function copyReceived(
  core: Core,
  accountId: string,
  el: XmlElement,
  deliveredTo: readonly string[],
  resources: readonly XmppResource[],
): Promise<void> {
  if (resources.every((r) => deliveredTo.includes(r.resource))) return;
  await publishCarbon(core, accountId, 'received', el, deliveredTo);
}

/**
 * The original goes over the bus once; each node wraps it for its own carbons-enabled
 * sessions (`deliverCarbon`), since the wrapper is addressed to each resource.
 */
function publishCarbon(
  core: Core,
  accountId: string,
  kind: 'sent' | 'received',
  el: XmlElement,
  except: readonly string[],
): Promise<void> {
  // XEP-0297 §3: the forwarded stanza names its namespace.
  const original = el.attrs.xmlns === NS.client ? el : el.clone();
  original.attrs.xmlns = NS.client;
  const routed: RoutedStanza = {
    targets: null,
    kind: 'message',
    xml: original.toString(),
    carbon: { kind, type: el.attrs.type ?? 'normal', except: [...except] },
  };
  return core.bus.publish(xmppChannel(accountId), routed as unknown as JsonValue);
}

/** A copy routed to this account, for this session if it enabled carbons (§7, §8 wrappers). */
export function deliverCarbon(s: XmppSession, routed: RoutedStanza): void {
  const carbon = routed.carbon;
  if (!carbon || !s.carbons || carbon.except.includes(s.resource)) return;
  s.send(
    xml(
      'message',
      // §11: from the user's bare JID, which is what clients check.
      { from: s.bare, to: s.jid, type: carbon.type },
      xml(
        carbon.kind,
        { xmlns: NS.carbons },
        xml('forwarded', { xmlns: NS.forward }, new RawXml(routed.xml)),
      ),
    ),
  );
}
