import type { JsonValue } from '../../bus/types.ts';
import type { Core } from '../../core/core.ts';
import type { PepNodeConfig } from '../../core/pep.ts';
import type { AccountPresence } from '../../core/presence-model.ts';
import type { AccountRow } from '../../store/types.ts';
import { digest53 } from '../../util/digest.ts';
import { randomToken } from '../../util/ids.ts';
import { type RoutedStanza, xmppChannel } from '../c2s/context.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { RawXml, type XmlElement, xml } from '../stream/element.ts';
import { type Caps, featuresOf, noteCaps, wantsNotify } from './caps.ts';
import { configOf, defaultConfigOf, factsOfAccount, PROFILES, profileOf } from './pep-profile.ts';

/**
 * PEP notifications (XEP-0163 §4): who gets them, and when. Delivery is filtered per
 * resource by its caps `+notify` features (router.ts `deliverRouted`), so one routed
 * stanza serves every resource of a recipient, on any node.
 */

/** XEP-0060 §7.1.2.1 event message; XEP-0163 §4.3.1: from the owner's bare JID. */
function eventMessage(ownerHandle: string, to: string, node: string, content: XmlElement): XmlElement {
  return xml(
    'message',
    { from: ownerHandle, to, type: 'headline', id: randomToken(10) },
    xml('event', { xmlns: NS.pubsubEvent }, xml('items', { node }, content)),
  );
}

export function itemElement(itemId: string, payload: XmlElement | string): XmlElement {
  return xml('item', { id: itemId }, typeof payload === 'string' ? new RawXml(payload) : payload);
}

async function routeNotification(
  core: Core,
  recipient: Pick<AccountRow, 'id' | 'handle'>,
  ownerHandle: string,
  node: string,
  content: XmlElement,
): Promise<void> {
  const routed: RoutedStanza = {
    targets: null,
    kind: 'message',
    xml: eventMessage(ownerHandle, recipient.handle, node, content).toString(),
    notify: node,
  };
  await core.bus.publish(xmppChannel(recipient.id), routed as unknown as JsonValue);
}

/**
 * XEP-0163 §4.3.3 (1): a publish or retract (`content` is the `<item/>` or `<retract/>`)
 * goes to the owner's available resources and to the contacts sharing the owner's
 * presence that the access model lets read the node; `ownerOnly` for derived nodes,
 * whose contacts hear of the change through presence (`onContactPresence`).
 */
export async function notifyChange(
  core: Core,
  owner: AccountRow,
  node: string,
  config: PepNodeConfig,
  content: XmlElement,
  ownerOnly = false,
): Promise<void> {
  await routeNotification(core, owner, owner.handle, node, content);
  if (ownerOnly) return;
  const ids = await core.pep.subscribers(owner.id, config);
  for (const contact of await core.store.getAccountsByIds(ids)) {
    await routeNotification(core, contact, owner.handle, node, content);
  }
}

/**
 * Derived items already shown to a session, per node and owner id: a digest of the
 * version it has seen (issue 14: a number, not the version and a key string, per
 * contact and node of every session that asked for notifications).
 */
const shown = new WeakMap<XmppSession, Map<string, Map<string, number>>>();

function shownOf(s: XmppSession, node: string): Map<string, number> {
  let nodes = shown.get(s);
  if (!nodes) {
    nodes = new Map();
    shown.set(s, nodes);
  }
  let map = nodes.get(node);
  if (!map) {
    map = new Map();
    nodes.set(node, map);
  }
  return map;
}

/**
 * After the session's available presence: notes its caps, and once its features are
 * newly known (or known already, on `initial` presence) sends it the last items of what
 * it asked for. Not awaited by the presence handler: the client's disco#info answer
 * comes through the same session queue.
 */
export function afterAvailablePresence(s: XmppSession, caps: Caps | undefined, initial: boolean): void {
  noteCaps(s, caps)
    .then((known) => {
      if (known || (initial && featuresOf(s))) s.enqueue(() => sendLastItems(s));
    })
    .catch((err) => s.log.warn({ err }, 'entity capabilities failed'));
}

/**
 * XEP-0163 §4.3.3 (2) and §4.3.4: a newly available resource gets the last published
 * item of every node it wants notifications of: its own account's and those of the
 * contacts whose presence it gets (and whose nodes it may read).
 */
export async function sendLastItems(s: XmppSession): Promise<void> {
  const account = s.account;
  if (!account || !s.available) return;
  const core = s.ctx.core;
  const snapshot = await core.relationships.snapshot(account.id);
  const owners = [
    snapshot.account,
    ...snapshot.contacts
      .filter((v) => v.derived.subscription === 'to' || v.derived.subscription === 'both')
      .map((v) => v.contact),
  ];
  for (const owner of owners) {
    const stored = new Map((await core.pep.nodes(owner.id)).map((n) => [n.node, n.config]));
    const nodes = new Set([...stored.keys(), ...Object.keys(PROFILES)]);
    for (const node of nodes) {
      if (!wantsNotify(s, node)) continue;
      // Not among the owner's nodes: not stored, so the defaults (no second read).
      const config = stored.get(node) ?? defaultConfigOf(node);
      if (config.sendLastPublishedItem === 'never') continue;
      if (!(await core.pep.mayRead(account.id, owner.id, config))) continue;
      const derived = profileOf(node)?.derived;
      if (derived) {
        const item = await derived.current(core, owner);
        if (derived.version) shownOf(s, node).set(owner.id, digest53(derived.version(factsOfAccount(owner))));
        if (item) s.send(lastItemMessage(s, owner.handle, node, itemElement(item.itemId, item.payload)));
        continue;
      }
      const [last] = await core.pep.items(owner.id, node, { limit: 1 });
      if (last) s.send(lastItemMessage(s, owner.handle, node, itemElement(last.itemId, last.payload)));
    }
  }
}

function lastItemMessage(s: XmppSession, ownerHandle: string, node: string, item: XmlElement): XmlElement {
  return eventMessage(ownerHandle, s.jid, node, item);
}

/**
 * Derived nodes follow the account, whoever changed it: a contact's presence that
 * shows another picture or display name than this session last saw becomes an avatar
 * or nick notification (XEP-0163 §4.3.3 (1), the web page or an MSN client publishing).
 */
export async function onContactPresence(
  s: XmppSession,
  contactId: string,
  presence: AccountPresence,
): Promise<void> {
  const account = s.account;
  if (!account || presence.status === 'offline' || presence.status === 'invisible') return;
  const facts = { pictureSha1: presence.picture?.sha1 ?? null, displayName: presence.displayName };
  let owner: AccountRow | undefined;
  for (const [node, profile] of Object.entries(PROFILES)) {
    const derived = profile.derived;
    if (!derived?.version || !wantsNotify(s, node)) continue;
    const seen = shownOf(s, node);
    const version = digest53(derived.version(facts));
    if (seen.get(contactId) === version) continue;
    const { config } = await configOf(s.ctx.core, contactId, node);
    if (!(await s.ctx.core.pep.mayRead(account.id, contactId, config))) continue;
    owner ??= await s.ctx.core.store.getAccountById(contactId);
    if (!owner) return;
    seen.set(contactId, version);
    const item = (await derived.current(s.ctx.core, owner)) ?? derived.cleared?.();
    if (item) s.send(eventMessage(owner.handle, s.jid, node, itemElement(item.itemId, item.payload)));
  }
}
