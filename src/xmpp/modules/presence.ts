import type { AccountPresence, Status } from '../../core/presence-model.ts';
import { digest53 } from '../../util/digest.ts';
import { isPapillonError } from '../../util/errors.ts';
import { bareJid, parseJid } from '../../util/jid.ts';
import { routeStanza } from '../c2s/context.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { StanzaError } from '../stanza-error.ts';
import { RawXml, type XmlElement, xml } from '../stream/element.ts';
import { bounceIfBlocked, presenceShown, rememberBlocked } from './blocking.ts';
import { capsCapabilities, capsElement, capsOf } from './caps.ts';
import { deliverOffline } from './offline.ts';
import { afterAvailablePresence } from './pep-notify.ts';
import { subscriptionKey, subscriptionPresence } from './roster.ts';

/**
 * RFC 6121 §4.7.2.1 `<show/>` ↔ the core statuses. XMPP has four; MSN has more, so
 * some MSN statuses share one (busy and on-the-phone → dnd; be-right-back and
 * out-to-lunch → away; idle → xa).
 */
export function statusFromShow(show: string | undefined): Status {
  switch (show) {
    case 'away':
      return 'away';
    case 'xa':
      return 'idle';
    case 'dnd':
      return 'busy';
    default:
      return 'online';
  }
}

export function showFromStatus(status: Status): string | undefined {
  switch (status) {
    case 'busy':
    case 'on-the-phone':
      return 'dnd';
    case 'away':
    case 'be-right-back':
    case 'out-to-lunch':
      return 'away';
    case 'idle':
      return 'xa';
    default:
      return undefined;
  }
}

/** The resource a contact's aggregate presence is shown from: its XMPP resource, or "msn". */
export function presenceResource(presence: AccountPresence): string {
  return presence.capabilities.xmppResource ?? 'msn';
}

/** Endpoint capability keys (core presence `capabilities`, opaque to core) of what the client sent. */
const LANG_KEY = 'xmppLang';
const EXTENSIONS_KEY = 'xmppExtensions';
/** Extension elements kept per endpoint, serialized; what does not fit is not broadcast. */
const MAX_EXTENSION_BYTES = 4096;

/** XEP-0153 §4.1: the hash of the picture the vCard serves (an empty `<photo/>`: none). */
function photoUpdate(picture: AccountPresence['picture']): XmlElement {
  return xml('x', { xmlns: NS.vcardUpdate }, xml('photo', {}, picture?.sha1 ?? ''));
}

/**
 * RFC 6120 §8.4 / RFC 6121 §4.7.1: the extension elements of a client's presence, which
 * the server broadcasts as they were sent (XEP-0319 idle, XEP-0172 nick, signatures…).
 * `<show/>`, `<status/>`, `<priority/>` and the XEP-0115 `<c/>` are kept apart; the
 * client's own XEP-0153 `<x/>` is left out, the server puts its hash instead (as
 * Prosody's mod_vcard_legacy does): it is the one that knows the stored picture.
 */
function extensionsOf(el: XmlElement): string {
  let out = '';
  for (const child of el.getChildren()) {
    const ns = child.xmlns;
    if (ns === undefined || ns === NS.client || ns === NS.caps || ns === NS.vcardUpdate) continue;
    const text = child.toString();
    if (Buffer.byteLength(out) + Buffer.byteLength(text) > MAX_EXTENSION_BYTES) continue;
    out += text;
  }
  return out;
}

/** A contact's presence as an XMPP stanza to this session. */
export function presenceStanza(s: XmppSession, handle: string, presence: AccountPresence): XmlElement {
  const from = `${handle}/${presenceResource(presence)}`;
  if (presence.status === 'offline' || presence.status === 'invisible') {
    return xml('presence', { type: 'unavailable', from, to: s.jid });
  }
  const show = showFromStatus(presence.status);
  const caps = presence.capabilities;
  const priority = caps.xmppPriority;
  const extensions = caps[EXTENSIONS_KEY];
  return xml(
    'presence',
    // RFC 6121 §4.7.1: the language the client wrote its status in.
    { from, to: s.jid, 'xml:lang': caps[LANG_KEY] || undefined },
    show && xml('show', {}, show),
    presence.statusText && xml('status', {}, presence.statusText),
    // §4.7.2.3: absent means 0, so only another value is written.
    priority && priority !== '0' && xml('priority', {}, priority),
    // The server knows the stored picture, so it gives the hash for every contact, MSN
    // ones included (an MSN client's own picture never reaches the server).
    photoUpdate(presence.picture),
    // XEP-0115 §4: the caps of the resource the presence comes from.
    capsElement(caps),
    // Serialized by this server from a parsed presence (extensionsOf), so well-formed.
    extensions && new RawXml(extensions),
  );
}

/**
 * A digest of the presence each contact was last shown in: the same one is not sent
 * twice. Not the stanza itself: a few hundred bytes per contact per session, the most
 * of an idle session's memory with a full roster (issue 14).
 */
const shownPresence = new WeakMap<XmppSession, Map<string, number>>();

/**
 * Sends a contact's aggregate presence. When the aggregate moves to another endpoint
 * (another resource, or from XMPP to MSN), the old resource is first shown leaving,
 * so the client does not keep a stale resource online.
 */
export function sendContactPresence(s: XmppSession, handle: string, presence: AccountPresence): void {
  const resource = presenceResource(presence);
  const previous = s.shownResources.get(handle);
  const offline = presence.status === 'offline' || presence.status === 'invisible';
  if (previous && previous !== resource) {
    s.send(xml('presence', { type: 'unavailable', from: `${handle}/${previous}`, to: s.jid }));
  }
  if (offline) {
    shownPresence.get(s)?.delete(handle);
    // Nothing to retract for a contact never shown online.
    s.shownResources.delete(handle);
    if (previous === resource) s.send(presenceStanza(s, handle, presence));
    return;
  }
  // One change, one presence: the core also publishes changes XMPP does not show (an
  // MSN display name, media line or client id), which would repeat the same stanza.
  const text = presenceStanza(s, handle, presence).toString();
  const digest = digest53(text);
  let shown = shownPresence.get(s);
  if (!shown) {
    shown = new Map();
    shownPresence.set(s, shown);
  }
  if (previous === resource && shown.get(handle) === digest) return;
  shown.set(handle, digest);
  s.shownResources.set(handle, resource);
  s.send(text);
}

/** Parses `<priority/>` (RFC 6121 §4.7.2.3: -128..127). */
function priorityOf(el: XmlElement): number {
  const text = el.getChildText('priority');
  if (text === undefined) return 0;
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < -128 || n > 127)
    throw new StanzaError('modify', 'bad-request', 'priority is -128…127');
  return n;
}

export async function handlePresence(s: XmppSession, el: XmlElement): Promise<void> {
  const type = el.attrs.type;
  const to = el.attrs.to ? parseJid(el.attrs.to) : undefined;
  if (el.attrs.to && !to) throw new StanzaError('modify', 'jid-malformed');
  if (type === 'subscribe' || type === 'subscribed' || type === 'unsubscribe' || type === 'unsubscribed') {
    if (!to) throw new StanzaError('modify', 'bad-request', 'a subscription request needs a to address');
    return subscription(s, type, bareJid(to));
  }
  if (type === 'probe' || type === 'error') return; // §4.3: probes are the server's business.
  if (type !== undefined && type !== 'unavailable')
    throw new StanzaError('modify', 'bad-request', `unknown type ${type}`);
  if (to && bareJid(to) !== s.bare) return directedPresence(s, el, bareJid(to));
  return broadcastPresence(s, el);
}

/** RFC 6121 §4.2 and §4.5: the session's own presence, for its watchers and its other resources. */
async function broadcastPresence(s: XmppSession, el: XmlElement): Promise<void> {
  const account = s.account;
  if (!account) return;
  const core = s.ctx.core;
  const unavailable = el.attrs.type === 'unavailable';
  const wasAvailable = s.available;
  const own = xml('presence', { from: s.jid, type: el.attrs.type, 'xml:lang': el.attrs['xml:lang'] });
  if (unavailable) {
    s.available = false;
    await core.presence.set(account.id, s.endpointId, { status: 'offline', statusText: '' });
    own.append(...el.getChildren());
  } else {
    s.priority = priorityOf(el);
    s.available = true;
    const caps = capsOf(el);
    // What the client sent, kept with its endpoint for presenceStanza to replay (the
    // core keeps these capability strings without reading them).
    const presence = await core.presence.set(account.id, s.endpointId, {
      status: statusFromShow(el.getChildText('show')?.trim()),
      statusText: el.getChildText('status') ?? '',
      capabilities: {
        xmppResource: s.resource,
        xmppPriority: String(s.priority),
        [LANG_KEY]: el.attrs['xml:lang'] ?? '',
        [EXTENSIONS_KEY]: extensionsOf(el),
        ...capsCapabilities(caps),
      },
    });
    // The user's resources see the server's XEP-0153 hash too, in place of the client's.
    own.append(...el.getChildren().filter((c) => c.xmlns !== NS.vcardUpdate), photoUpdate(presence.picture));
    // XEP-0115 §6.2 / XEP-0163 §4.3.3: learn what it wants notifications of, then send it the last items.
    afterAvailablePresence(s, caps, !wasAvailable);
  }
  // §4.2.2 and §4.4.2: all the user's available resources see it, the sender included
  // (an unavailable sender is no longer available, so it does not get its own).
  await routeStanza(core, account.id, own);
  s.lastPresence = unavailable ? undefined : own;
  if (unavailable) {
    // §4.6.2: those who got directed presence hear that we left.
    for (const target of s.directedPresence)
      await sendDirected(s, target, xml('presence', { type: 'unavailable', from: s.jid }));
    s.directedPresence.clear();
    return;
  }
  if (!wasAvailable) await initialPresence(s);
}

/**
 * RFC 6121 §4.2.1–4.2.3 on initial presence: the current presence of every contact
 * the user is subscribed to (the server answers the probes itself), the user's other
 * resources, pending subscription requests (§3.1.3), and messages kept offline.
 */
async function initialPresence(s: XmppSession): Promise<void> {
  const account = s.account;
  if (!account) return;
  const core = s.ctx.core;
  const snapshot = await core.relationships.snapshot(account.id);
  rememberBlocked(s, snapshot.contacts);
  // What the client now knows of each subscription (a roster get may have told it
  // already), so later changes are announced as changes (roster.ts pushRoster): from
  // the snapshot, before the presence read below lets a change in.
  for (const view of snapshot.contacts) {
    if (!s.shownSubscriptions.has(view.contact.id))
      s.shownSubscriptions.set(view.contact.id, subscriptionKey(view));
  }
  // Offline unless subscribed ("to" or "both"): every contact's in one read of the bus
  // (one round trip on the Redis bus, not one per contact).
  const presences = await core.presence.ofContacts(snapshot.contacts);
  for (const [i, view] of snapshot.contacts.entries()) {
    const presence = presences[i];
    // XEP-0191 §3.3: a contact the user blocks is not shown.
    if (presence && presence.status !== 'offline' && presenceShown(s, view.contact.id))
      sendContactPresence(s, view.contact.handle, presence);
    // §3.1.3: a request still unanswered is delivered again at each login.
    if (view.derived.pendingIn)
      s.send(subscriptionPresence(s, 'subscribe', view.contact.handle, view.contact.displayName));
  }
  for (const other of s.ctx.sessions.get(account.id)?.values() ?? []) {
    if (other !== s && other.available) {
      // Its presence as it sent it (show, status, priority, extensions), not just its priority.
      const presence = other.lastPresence?.clone() ?? xml('presence', { from: other.jid });
      presence.attrs.to = s.jid;
      s.send(presence);
    }
  }
  if (s.priority >= 0) await deliverOffline(s);
}

/** RFC 6121 §4.6: presence to one entity, outside the subscription. */
async function directedPresence(s: XmppSession, el: XmlElement, targetHandle: string): Promise<void> {
  // XEP-0191 §3.3: not to a contact the user blocks.
  const target = await s.ctx.core.accounts.find(targetHandle);
  if (target && (await bounceIfBlocked(s, el, target.id))) return;
  const stanza = xml('presence', { from: s.jid, to: targetHandle, type: el.attrs.type }, ...el.getChildren());
  if (el.attrs.type === 'unavailable') s.directedPresence.delete(targetHandle);
  else s.directedPresence.add(targetHandle);
  await sendDirected(s, targetHandle, stanza);
}

async function sendDirected(s: XmppSession, targetHandle: string, stanza: XmlElement): Promise<void> {
  const target = await s.ctx.core.accounts.find(targetHandle);
  if (!target || !s.account) return;
  // §4.6 directed presence needs no subscription; only a target that blocks the sender
  // (XEP-0191 / MSN BL) silently drops it.
  if (await s.ctx.core.relationships.blocks(target.id, s.account.id)) return;
  await routeStanza(s.ctx.core, target.id, stanza);
}

/**
 * RFC 6121 §3: subscription stanzas as relationship changes (README "MSN and XMPP together").
 * - subscribe: put the contact on the forward list (MSN "add contact"): the contact is asked.
 * - subscribed: allow the contact (MSN allow list), approving or pre-approving (§3.4).
 * - unsubscribe: off the forward list; the item stays with 'none' (§3.3).
 * - unsubscribed: refuse: off the allow list, the request answered (§3.2).
 */
async function subscription(s: XmppSession, type: string, handle: string): Promise<void> {
  const account = s.account;
  if (!account) return;
  const core = s.ctx.core;
  const contact = await core.accounts.find(handle);
  if (!contact) {
    if (type === 'subscribe')
      throw new StanzaError('cancel', 'item-not-found', `no account ${handle} on this server`);
    return;
  }
  try {
    if (type === 'subscribe') {
      const before = await core.relationships.contact(account.id, contact.id);
      await core.relationships.addForward(account.id, handle);
      // §3.1.3: already subscribed, so nothing changes: the contact's server answers
      // `subscribed` on the contact's behalf (the client may have lost its state).
      if (before.derived.subscription === 'to' || before.derived.subscription === 'both') {
        await routeStanza(core, account.id, subscriptionPresence(s, 'subscribed', contact.handle));
      }
    } else if (type === 'unsubscribe')
      await core.relationships.removeForward(account.id, contact.id, { keepListed: true });
    else if (type === 'subscribed') {
      const view = await core.relationships.contact(account.id, contact.id);
      if (!view.mine.allow || view.mine.block) await core.relationships.allow(account.id, handle);
    } else await core.relationships.refuse(account.id, contact.id);
  } catch (err) {
    if (isPapillonError(err, 'self-contact')) throw new StanzaError('cancel', 'not-allowed');
    if (isPapillonError(err, 'conflict')) throw new StanzaError('wait', 'resource-constraint', err.message);
    throw err;
  }
}
