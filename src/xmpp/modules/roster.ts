import { createHash, randomBytes } from 'node:crypto';
import type { ContactView, ListsSnapshot } from '../../core/relationships.ts';
import type { GroupRow } from '../../store/types.ts';
import { isPapillonError } from '../../util/errors.ts';
import { bareJid, parseJid } from '../../util/jid.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { StanzaError } from '../stanza-error.ts';
import { type XmlElement, xml } from '../stream/element.ts';

/**
 * RFC 6121 §2: the roster is the MSN contact list seen through the derived
 * subscription states (core/subscription.ts). An item exists for every contact on
 * the forward list, every contact kept without a subscription (§2.1.5 roster set,
 * §3.3 what `unsubscribe` leaves), every contact subscribed to the user ("from"),
 * and every contact the user pre-approved (§3.4.1: the item exists with `approved='true'`).
 */
export function inRoster(view: ContactView): boolean {
  return (
    view.mine.forward ||
    view.mine.listed ||
    view.derived.subscription === 'from' ||
    view.derived.subscription === 'both' ||
    view.derived.preApproved
  );
}

/** RFC 6121 §2.1.2 item: jid, name, subscription, ask, approved, groups. */
export function rosterItem(view: ContactView, groups: GroupRow[]): XmlElement {
  const item = xml('item', {
    jid: view.contact.handle,
    name: view.nickname ?? undefined,
    subscription: view.derived.subscription,
    ask: view.derived.ask ? 'subscribe' : undefined,
    approved: view.derived.preApproved ? 'true' : undefined,
  });
  for (const g of groups) if (view.groupIds.includes(g.id)) item.append(xml('group', {}, g.name));
  return item;
}

/** The roster's items, in a stable order (the snapshot's, by handle). */
function rosterItems(snapshot: ListsSnapshot): XmlElement[] {
  return snapshot.contacts.filter(inRoster).map((view) => rosterItem(view, snapshot.groups));
}

/**
 * RFC 6121 §2.6.1: the version is an opaque string that must change whenever the
 * roster does. The account's list version does not: a contact approving or cancelling
 * a subscription, or changing their privacy, changes this roster's items without
 * touching the account's own lists. So the version is a digest of the items themselves.
 */
function rosterVersion(items: XmlElement[]): string {
  const digest = createHash('sha256');
  for (const item of items) digest.update(item.toString()).update('\n');
  return digest.digest('base64url').slice(0, 22);
}

/** RFC 6121 §2.1.3 roster get, with §2.6 versioning: nothing to send when the client is current. */
export async function rosterGet(s: XmppSession, iq: XmlElement): Promise<XmlElement | undefined> {
  const account = s.account;
  if (!account) return undefined;
  const snapshot = await s.ctx.core.relationships.snapshot(account.id);
  s.interested = true;
  const items = rosterItems(snapshot);
  const ver = rosterVersion(items);
  for (const view of snapshot.contacts) s.shownSubscriptions.set(view.contact.id, subscriptionKey(view));
  const query = iq.getChild('query', NS.roster);
  if (query?.attrs.ver !== undefined && query.attrs.ver === ver) {
    return xml('iq', { type: 'result', id: iq.attrs.id });
  }
  return xml('iq', { type: 'result', id: iq.attrs.id }, xml('query', { xmlns: NS.roster, ver }, ...items));
}

/** RFC 6121 §2.1.5 roster set: add/update an item (name, groups) or remove it. */
export async function rosterSet(s: XmppSession, iq: XmlElement): Promise<XmlElement> {
  const account = s.account;
  const items = iq.getChild('query', NS.roster)?.getChildren('item') ?? [];
  // §2.3.3: exactly one item.
  if (!account || items.length !== 1)
    throw new StanzaError('modify', 'bad-request', 'one item per roster set');
  const item = items[0] as XmlElement;
  const jid = parseJid(item.attrs.jid ?? '');
  if (!jid || jid.resource || !jid.local)
    throw new StanzaError('modify', 'bad-request', 'the item needs a bare JID');
  const handle = bareJid(jid);
  const core = s.ctx.core;
  const contact = await core.accounts.find(handle);
  if (item.attrs.subscription === 'remove') {
    // §2.5: removing cancels both subscriptions and drops the item.
    if (!contact) throw new StanzaError('cancel', 'item-not-found');
    const view = await core.relationships.contact(account.id, contact.id);
    if (!inRoster(view)) throw new StanzaError('cancel', 'item-not-found');
    await core.relationships.setNickname(account.id, contact.id, null);
    // §2.5.2: as `unsubscribed` then `unsubscribe`. Not a block: the contact can still
    // write to the user (XEP-0191 is the separate act that stops that).
    await core.relationships.refuse(account.id, contact.id);
    await core.relationships.removeForward(account.id, contact.id);
    return xml('iq', { type: 'result', id: iq.attrs.id });
  }
  if (!contact) throw new StanzaError('cancel', 'item-not-found', `no account ${handle} on this server`);
  if (contact.id === account.id)
    throw new StanzaError('cancel', 'not-allowed', 'you cannot be your own contact');
  const groupNames = [...new Set(item.getChildren('group').map((g) => g.text().trim()))];
  if (groupNames.some((g) => g.length === 0))
    throw new StanzaError('modify', 'not-acceptable', 'empty group name');
  try {
    const name = item.attrs.name?.trim();
    // §2.1.5 / §3.1: an item alone asks for nothing ('none' until a `subscribe`).
    await core.relationships.list(account.id, handle, name ? name : null);
    await setGroups(s, contact.id, groupNames);
  } catch (err) {
    if (isPapillonError(err, 'bad-group-name') || isPapillonError(err, 'too-many-groups')) {
      throw new StanzaError('modify', 'not-acceptable', err.message);
    }
    if (isPapillonError(err, 'conflict')) throw new StanzaError('wait', 'resource-constraint', err.message);
    throw err;
  }
  return xml('iq', { type: 'result', id: iq.attrs.id });
}

async function setGroups(s: XmppSession, contactId: string, names: string[]): Promise<void> {
  const account = s.account;
  if (!account) return;
  const core = s.ctx.core;
  const snapshot = await core.relationships.snapshot(account.id);
  const view = snapshot.contacts.find((c) => c.contact.id === contactId);
  const byName = new Map(snapshot.groups.map((g) => [g.name, g]));
  const wanted = new Set<string>();
  for (const name of names) {
    let group = byName.get(name);
    if (!group) {
      group = (await core.relationships.createGroup(account.id, name)).group;
      byName.set(name, group);
    }
    wanted.add(group.id);
  }
  const current = new Set(view?.groupIds ?? []);
  for (const id of current)
    if (!wanted.has(id)) await core.relationships.removeFromGroup(account.id, contactId, id);
  for (const id of wanted)
    if (!current.has(id)) await core.relationships.addToGroup(account.id, contactId, id);
}

/**
 * RFC 6121 §3: a subscription request or answer from a contact's bare JID to the user;
 * a request carries the requester's display name (XEP-0172 §4.2 nick in subscription requests).
 */
export function subscriptionPresence(
  s: XmppSession,
  type: 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed',
  contactHandle: string,
  nick?: string,
): XmlElement {
  return xml(
    'presence',
    { type, from: contactHandle, to: s.bare },
    type === 'subscribe' && nick ? xml('nick', { xmlns: NS.nick }, nick) : undefined,
  );
}

/** What the client was last told of a contact's subscription, to spot approvals and cancellations. */
export function subscriptionKey(view: ContactView): string {
  return `${view.derived.subscription}${view.derived.ask ? '+ask' : ''}`;
}

/**
 * RFC 6121 §2.1.6 roster push for one contact (or all), to this session if it asked
 * for the roster, and the subscription notices that go with a change (§3.1.6: the
 * user learns of an approval as `subscribed`, §3.3 of a cancellation as `unsubscribed`).
 */
export async function pushRoster(s: XmppSession, contactId: string | null): Promise<void> {
  const account = s.account;
  if (!account) return;
  const snapshot = await s.ctx.core.relationships.snapshot(account.id);
  const views = contactId ? snapshot.contacts.filter((c) => c.contact.id === contactId) : snapshot.contacts;
  // The version digests the whole roster: only worth computing for a session that gets pushes.
  const ver = s.interested ? rosterVersion(rosterItems(snapshot)) : '';
  if (contactId && views.length === 0) {
    // The row is gone on both sides: the item was removed.
    const gone = await s.ctx.core.accounts.findById(contactId);
    if (gone && s.interested) sendPush(s, ver, xml('item', { jid: gone.handle, subscription: 'remove' }));
    s.shownSubscriptions.delete(contactId);
    return;
  }
  for (const view of views) {
    const before = s.shownSubscriptions.get(view.contact.id) ?? 'none';
    const after = subscriptionKey(view);
    s.shownSubscriptions.set(view.contact.id, after);
    // §3.1.6 / §3.2.3: the approval or refusal reaches the user before the roster push
    // that shows it (a client matches the push to the presence it just got).
    if (before !== after && s.available) subscriptionNotices(s, view, before);
    if (s.interested) {
      sendPush(
        s,
        ver,
        inRoster(view)
          ? rosterItem(view, snapshot.groups)
          : xml('item', { jid: view.contact.handle, subscription: 'remove' }),
      );
    }
  }
}

/** What changed in the user's subscription to the contact, as the contact's answer. */
function subscriptionNotices(s: XmppSession, view: ContactView, before: string): void {
  const hadTo = before.startsWith('to') || before.startsWith('both');
  const hasTo = view.derived.subscription === 'to' || view.derived.subscription === 'both';
  const wasAsking = before.endsWith('+ask');
  if (!hadTo && hasTo) s.send(subscriptionPresence(s, 'subscribed', view.contact.handle));
  // Cancelled (§3.2) or a pending request denied (§3.2.1: `unsubscribed` to a request).
  else if ((hadTo || wasAsking) && !hasTo && !view.derived.ask && view.mine.forward)
    s.send(subscriptionPresence(s, 'unsubscribed', view.contact.handle));
  // §3.3.3 / §3.2.3: the user no longer gets the contact's presence, so is told the
  // contact's resource is gone (whichever side ended the subscription).
  const shown = s.shownResources.get(view.contact.handle);
  if (hadTo && !hasTo && shown !== undefined) {
    s.shownResources.delete(view.contact.handle);
    s.send(xml('presence', { type: 'unavailable', from: `${view.contact.handle}/${shown}`, to: s.jid }));
  }
}

function sendPush(s: XmppSession, ver: string, item: XmlElement): void {
  s.send(
    xml(
      'iq',
      { type: 'set', id: `push-${randomBytes(6).toString('hex')}`, to: s.jid },
      xml('query', { xmlns: NS.roster, ver }, item),
    ),
  );
}
