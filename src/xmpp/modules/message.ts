import type { Core } from '../../core/core.ts';
import type { ConnectedEndpoint } from '../../core/presence.ts';
import type { AccountRow } from '../../store/types.ts';
import { isPapillonError } from '../../util/errors.ts';
import { bareJid, parseJid } from '../../util/jid.ts';
import { routeStanza } from '../c2s/context.ts';
import type { XmppSession } from '../c2s/session.ts';
import { StanzaError } from '../stanza-error.ts';
import type { XmlElement } from '../stream/element.ts';
import { bounceBlocked } from './blocking.ts';
import { copyReceived, copySent, stripPrivate, wantsCarbons } from './carbons.ts';
import { contentFromStanza } from './conversation-bridge.ts';
import { archiveSent } from './mam.ts';

/** A bound XMPP resource of an account, from the cluster-wide endpoint registry. */
export interface XmppResource {
  resource: string;
  available: boolean;
  priority: number;
}

/** The XMPP resources among an account's endpoints (read them with `core.presence.endpoints`). */
export function xmppResourcesOf(endpoints: readonly ConnectedEndpoint[]): XmppResource[] {
  return endpoints
    .filter((e) => e.endpointId.startsWith('xmpp:'))
    .map((e) => ({
      resource: e.endpointId.slice(5),
      available: e.presence.status !== 'offline',
      priority: Number(e.presence.capabilities.xmppPriority ?? 0),
    }));
}

export async function xmppResources(core: Core, accountId: string): Promise<XmppResource[]> {
  return xmppResourcesOf(await core.presence.endpoints(accountId));
}

/**
 * RFC 6121 §8.5 message routing for a local recipient:
 * - full JID of a connected resource → that resource;
 * - bare JID (or an unknown resource, for chat/normal) → every available resource
 *   with non-negative priority (§8.5.2.1.1 allows all of them);
 * - none available: `chat` and `normal` messages are kept offline (XEP-0160) before
 *   the sender learns anything; `headline` is dropped; `groupchat` is an error.
 */
export async function handleMessage(s: XmppSession, el: XmlElement): Promise<void> {
  const account = s.account;
  if (!account) return;
  const type = el.attrs.type ?? 'normal';
  const to = parseJid(el.attrs.to ?? s.bare);
  if (!to) throw new StanzaError('modify', 'jid-malformed');
  if (to.domain !== s.ctx.domain)
    throw new StanzaError('cancel', 'remote-server-not-found', 'this server does not federate');
  if (!to.local) {
    if (type === 'error' || type === 'headline') return;
    throw new StanzaError('cancel', 'service-unavailable');
  }
  const core = s.ctx.core;
  const recipient = await core.accounts.find(bareJid(to));
  if (type === 'error') {
    if (recipient && to.resource) await routeStanza(core, recipient.id, el, [to.resource]);
    return;
  }
  if (!recipient) throw new StanzaError('cancel', 'service-unavailable');
  const block = await core.relationships.blocking(account.id, recipient.id);
  // XEP-0191 §3.3: to a contact the user blocks, `not-acceptable` with `<blocked/>`.
  if (block.userBlocks) return bounceBlocked(s, el);
  // The recipient blocks the sender (XEP-0191 / MSN BL): the same answer as no one
  // there (§8.5.1). Not being subscribed is no reason to refuse a message (RFC 6121 §2.5.2:
  // removal is not blocking); an MSN user who may not see the sender gets it offline.
  if (block.contactBlocks) throw new StanzaError('cancel', 'service-unavailable');
  if (type === 'groupchat')
    throw new StanzaError('cancel', 'service-unavailable', 'no group chat on this server');

  // XEP-0280: the sender's other resources see what it sent; the recipient's, what it got.
  const carbons = wantsCarbons(el);
  stripPrivate(el);
  if (carbons && recipient.id !== account.id) await copySent(s, el);
  // XEP-0313: archived once for both parties; the recipient's copies say where (stanza-id).
  archiveSent(s, account, recipient, el, type);
  // One read of the recipient's endpoints serves both the XMPP routing and the MSN bridge.
  const endpoints = await core.presence.endpoints(recipient.id);
  const resources = xmppResourcesOf(endpoints);
  if (to.resource && resources.some((r) => r.resource === to.resource)) {
    const confirm = await confirmIfRemote(s, endpoints, [to.resource], account, recipient, el, type);
    await routeStanza(core, recipient.id, el, [to.resource], undefined, confirm);
    countXmppToXmpp(core, el, 1);
    if (carbons) await copyReceived(core, recipient.id, el, [to.resource], resources);
    return;
  }
  if (to.resource && to.resource !== 'msn' && type === 'headline') return;
  const targets = resources.filter((r) => r.available && r.priority >= 0).map((r) => r.resource);
  // The recipient's MSN client(s) get it through a switchboard conversation.
  const reachedMsn = await sendToMsn(s, account, recipient, endpoints, el, type);
  if (targets.length > 0) {
    const confirm = await confirmIfRemote(s, endpoints, targets, account, recipient, el, type);
    await routeStanza(core, recipient.id, el, targets, undefined, confirm);
    countXmppToXmpp(core, el, targets.length);
    if (carbons) await copyReceived(core, recipient.id, el, targets, resources);
    return;
  }
  if (!reachedMsn) await keepOffline(s, account, recipient, el, type);
}

/**
 * A message worth keeping (XEP-0160) for resources held by other nodes asks them to
 * confirm it was written; unconfirmed, it is kept offline (delivery-confirmations.ts).
 */
async function confirmIfRemote(
  s: XmppSession,
  endpoints: readonly ConnectedEndpoint[],
  resources: readonly string[],
  sender: AccountRow,
  recipient: AccountRow,
  el: XmlElement,
  type: string,
) {
  if (!worthKeeping(el, type)) return undefined;
  const here = s.ctx.core.bus.nodeId;
  const held = (list: readonly ConnectedEndpoint[]) =>
    list.filter(
      (e) =>
        e.nodeId !== here && e.endpointId.startsWith('xmpp:') && resources.includes(e.endpointId.slice(5)),
    );
  const remote = held(endpoints);
  if (remote.length === 0) return undefined;
  const ids = new Set(remote.map((e) => `${e.nodeId} ${e.endpointId}`));
  // Still registered: the node is alive (a dead one's endpoints go within nodeTimeoutSeconds).
  const stillThere = async () =>
    held(await s.ctx.core.presence.endpoints(recipient.id)).some((e) =>
      ids.has(`${e.nodeId} ${e.endpointId}`),
    );
  return s.ctx.confirmations.expect(() => keepOffline(s, sender, recipient, el, type), stillThere);
}

/** Metrics: a message with a body (not a bare chat state) reached `resources` XMPP resources. */
function countXmppToXmpp(core: Core, el: XmlElement, resources: number): void {
  if (el.getChild('body') === undefined) return;
  for (let i = 0; i < resources; i++) core.metrics.messageRouted('xmpp', 'xmpp');
}

/** True when an MSN client of the recipient took (or is being rung for) the message. */
async function sendToMsn(
  s: XmppSession,
  sender: AccountRow,
  recipient: AccountRow,
  endpoints: readonly ConnectedEndpoint[],
  el: XmlElement,
  type: string,
) {
  if (type !== 'chat' && type !== 'normal') return false;
  const content = contentFromStanza(el);
  if (!content || recipient.id === sender.id) return false;
  if (!endpoints.some((e) => e.endpointId.startsWith('msnp:') && e.presence.status !== 'offline'))
    return false;
  return s.ctx.bridge.send(sender, recipient, content, s.resource);
}

/** XEP-0160 §4: chat and normal messages with a body; chat states and receipts alone are not kept. */
function worthKeeping(el: XmlElement, type: string): type is 'chat' | 'normal' {
  return el.getChild('body') !== undefined && (type === 'chat' || type === 'normal');
}

async function keepOffline(
  s: XmppSession,
  sender: AccountRow,
  recipient: AccountRow,
  el: XmlElement,
  type: string,
) {
  const body = el.getChildText('body');
  if (body === undefined || !worthKeeping(el, type)) return;
  const subject = el.getChildText('subject');
  try {
    await s.ctx.core.offline.save(recipient.id, sender.handle, {
      kind: type,
      text: body,
      ...(subject !== undefined ? { subject } : {}),
      senderName: sender.displayName,
      xml: el.toString(),
    });
  } catch (err) {
    if (isPapillonError(err, 'conflict')) throw new StanzaError('modify', 'policy-violation', err.message);
    throw err;
  }
}
