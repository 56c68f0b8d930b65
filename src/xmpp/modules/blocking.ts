import type { Core } from '../../core/core.ts';
import { offlinePresence } from '../../core/presence-model.ts';
import type { ContactView } from '../../core/relationships.ts';
import { isPapillonError } from '../../util/errors.ts';
import { randomToken } from '../../util/ids.ts';
import { bareJid, parseJid } from '../../util/jid.ts';
import { routeStanza } from '../c2s/context.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { errorReply, StanzaError } from '../stanza-error.ts';
import { type XmlElement, xml } from '../stream/element.ts';
import { sendContactPresence } from './presence.ts';

/**
 * XEP-0191 blocking command over the MSN block list: one list, whichever protocol
 * edits it (core `relationships.block`/`unblock` are MSNP's `ADC BL`/`REM BL`). The
 * core already keeps blocked contacts from seeing the user and from reaching the
 * user (visibility: presence, messages and IQs from them get `service-unavailable`,
 * §3.3's "SHOULD"); this module adds the list itself, the pushes, the outbound rule
 * (§3.3: the user's own stanzas to a blocked contact bounce with `blocked`), and hides
 * a blocked contact's presence from the user (§3.3: nothing from it is delivered).
 *
 * The MSN list holds accounts, so an item is a bare JID of an account here. Full and
 * domain JIDs (the XEP's JID matching rules) cannot be written to it and are refused;
 * this server does not federate, so nobody elsewhere can reach the user anyway.
 */

/** Per session that asked for the list (§3.2: only those get pushes): the handles it was shown as blocked. */
const shown = new WeakMap<XmppSession, Set<string>>();

/** The handles the account blocks, in handle order. */
async function blockedHandles(core: Core, accountId: string): Promise<string[]> {
  const snapshot = await core.relationships.snapshot(accountId);
  return snapshot.contacts.filter((v) => v.mine.block).map((v) => v.contact.handle);
}

const result = (iq: XmlElement) => xml('iq', { type: 'result', id: iq.attrs.id });
const item = (handle: string) => xml('item', { jid: handle });

/** §3.2: the list; this session now hears of every change. */
export async function blocklistGet(s: XmppSession, iq: XmlElement): Promise<XmlElement | undefined> {
  const account = s.account;
  if (!account) return undefined;
  const handles = await blockedHandles(s.ctx.core, account.id);
  shown.set(s, new Set(handles));
  return xml(
    'iq',
    { type: 'result', id: iq.attrs.id },
    xml('blocklist', { xmlns: NS.blocking }, ...handles.map(item)),
  );
}

/**
 * The accounts an IQ's items name; the whole command is refused before anything
 * changes when one is not an account of this server (the command is atomic).
 */
async function accountsOf(s: XmppSession, items: XmlElement[]) {
  const accounts = [];
  for (const el of items) {
    const jid = parseJid(el.attrs.jid ?? '');
    if (!jid) throw new StanzaError('modify', 'jid-malformed', `not a JID: ${el.attrs.jid ?? ''}`);
    if (!jid.local || jid.resource) {
      throw new StanzaError(
        'cancel',
        'feature-not-implemented',
        'only whole accounts (bare JIDs) can be blocked: the block list is the MSN one',
      );
    }
    const account = await s.ctx.core.accounts.find(bareJid(jid));
    if (!account)
      throw new StanzaError('cancel', 'item-not-found', `no account ${bareJid(jid)} on this server`);
    accounts.push(account);
  }
  return accounts;
}

/** §3.3: block one or more accounts. */
export async function blockSet(s: XmppSession, iq: XmlElement): Promise<XmlElement | undefined> {
  const account = s.account;
  if (!account) return undefined;
  const items = iq.getChild('block', NS.blocking)?.getChildren('item') ?? [];
  // §3.3: a block without an item is a bad request.
  if (items.length === 0) throw new StanzaError('modify', 'bad-request', 'name at least one JID to block');
  const targets = await accountsOf(s, items);
  if (targets.some((t) => t.id === account.id))
    throw new StanzaError('modify', 'not-acceptable', 'you cannot block yourself');
  const core = s.ctx.core;
  for (const target of targets) {
    const view = await core.relationships.contact(account.id, target.id);
    if (view.mine.block) continue;
    // The core's visibility change shows the contact the user going offline (§3.3's unavailable).
    await core.relationships.block(account.id, target.handle);
    await endDirectedPresence(s, target.id, target.handle);
  }
  return result(iq);
}

/**
 * RFC 6121 §4.6 directed presence is outside the subscription the core knows of:
 * the user's resources here that sent some to the contact send it unavailable now.
 */
async function endDirectedPresence(s: XmppSession, targetId: string, handle: string): Promise<void> {
  for (const session of s.ctx.sessions.get(s.account?.id ?? '')?.values() ?? []) {
    if (!session.directedPresence.delete(handle)) continue;
    await routeStanza(
      s.ctx.core,
      targetId,
      xml('presence', { type: 'unavailable', from: session.jid, to: handle }),
    );
  }
}

/** §3.4 unblock the accounts named; §3.5 with no item, everyone. */
export async function unblockSet(s: XmppSession, iq: XmlElement): Promise<XmlElement | undefined> {
  const account = s.account;
  if (!account) return undefined;
  const core = s.ctx.core;
  const items = iq.getChild('unblock', NS.blocking)?.getChildren('item') ?? [];
  const ids =
    items.length === 0
      ? (await core.relationships.snapshot(account.id)).contacts
          .filter((v) => v.mine.block)
          .map((v) => v.contact.id)
      : await unblockable(s, items);
  for (const id of ids) {
    try {
      await core.relationships.unblock(account.id, id);
    } catch (err) {
      // Deleted meanwhile: nothing left to unblock.
      if (!isPapillonError(err, 'no-such-account')) throw err;
    }
  }
  return result(iq);
}

/** The blocked accounts among the items; JIDs not on the list are no error (there is nothing to undo). */
async function unblockable(s: XmppSession, items: XmlElement[]): Promise<string[]> {
  const ids: string[] = [];
  for (const el of items) {
    const jid = parseJid(el.attrs.jid ?? '');
    if (!jid) throw new StanzaError('modify', 'jid-malformed', `not a JID: ${el.attrs.jid ?? ''}`);
    if (!jid.local || jid.resource) continue;
    const account = await s.ctx.core.accounts.find(bareJid(jid));
    if (account && account.id !== s.account?.id) ids.push(account.id);
  }
  return ids;
}

/**
 * §3.3/§3.4 pushes, for a change of the account's lists whoever made it (this
 * session, another resource, an MSN client's `ADC BL`): a session that asked for the
 * list gets what changed since it last heard. `contactId` null: anything may have.
 */
export async function pushBlocklist(s: XmppSession, contactId: string | null): Promise<void> {
  const account = s.account;
  if (!account) return;
  const core = s.ctx.core;
  const seen = shown.get(s);
  // One read of whether the contact is blocked serves the presence change and the push.
  const contactBlocked =
    contactId !== null && (hidden.has(s) || seen)
      ? await core.relationships.blocks(account.id, contactId)
      : false;
  if (contactId !== null) await showBlockChange(s, contactId, contactBlocked);
  if (!seen) return;
  const blocked = new Set<string>();
  const checked = new Set<string>();
  if (contactId === null) {
    for (const handle of await blockedHandles(core, account.id)) blocked.add(handle);
    for (const handle of seen) checked.add(handle);
    for (const handle of blocked) checked.add(handle);
  } else {
    const contact = await core.accounts.findById(contactId);
    if (!contact) return;
    checked.add(contact.handle);
    if (contactBlocked) blocked.add(contact.handle);
  }
  const added = [...checked].filter((h) => blocked.has(h) && !seen.has(h));
  const removed = [...checked].filter((h) => !blocked.has(h) && seen.has(h));
  for (const h of added) seen.add(h);
  for (const h of removed) seen.delete(h);
  if (added.length > 0) s.send(push(s, 'block', added));
  if (removed.length > 0) s.send(push(s, 'unblock', removed));
}

function push(s: XmppSession, action: 'block' | 'unblock', handles: string[]): XmlElement {
  return xml(
    'iq',
    { type: 'set', id: `block-push-${randomToken(6)}`, to: s.jid },
    xml(action, { xmlns: NS.blocking }, ...handles.map(item)),
  );
}

/**
 * Per available session: the contacts the user blocks, as this session last knew, so
 * their presence is not shown (§3.3: nothing from a blocked contact reaches the
 * user; MSN's BL alone would still show it). Set with the initial presence burst,
 * then kept current by `lists-changed` (both run on the session's queue, in order).
 */
const hidden = new WeakMap<XmppSession, Set<string>>();

/** The initial presence burst (RFC 6121 §4.2.2) starts from these lists. */
export function rememberBlocked(s: XmppSession, views: readonly ContactView[]): void {
  hidden.set(s, new Set(views.filter((v) => v.mine.block).map((v) => v.contact.id)));
}

/** Whether a contact's presence may be shown to this session (not one the user blocks). */
export function presenceShown(s: XmppSession, contactId: string): boolean {
  return !hidden.get(s)?.has(contactId);
}

/**
 * After a change of the user's lists: a contact just blocked is shown going offline,
 * one just unblocked is shown as the user now sees it (XEP-0191 §3.3/§3.4).
 */
async function showBlockChange(s: XmppSession, contactId: string, blocked: boolean): Promise<void> {
  const account = s.account;
  if (!account) return;
  const set = hidden.get(s);
  if (!set) return; // no presence shown yet
  const core = s.ctx.core;
  if (blocked === set.has(contactId)) return;
  if (blocked) set.add(contactId);
  else set.delete(contactId);
  if (!s.available) return;
  const view = await core.relationships.contact(account.id, contactId).catch(() => undefined);
  if (!view) return;
  const presence = blocked ? offlinePresence(view.contact.displayName) : await core.presence.ofContact(view);
  sendContactPresence(s, view.contact.handle, presence);
}

/**
 * §3.3: a stanza the user sends to an account the user blocks is not routed; the
 * user gets `not-acceptable` with `<blocked/>` (errors and IQ results are dropped).
 * True when the stanza was stopped.
 */
export async function bounceIfBlocked(
  s: XmppSession,
  stanza: XmlElement,
  contactId: string,
): Promise<boolean> {
  const account = s.account;
  if (!account || !(await s.ctx.core.relationships.blocks(account.id, contactId))) return false;
  bounceBlocked(s, stanza);
  return true;
}

/** The §3.3 answer to a stanza the user sent to an account the user blocks. */
export function bounceBlocked(s: XmppSession, stanza: XmlElement): void {
  const type = stanza.attrs.type;
  if (type === 'error' || (stanza.name === 'iq' && type === 'result')) return;
  const reply = errorReply(stanza, 'cancel', 'not-acceptable', 'you have blocked this contact');
  reply.getChild('error')?.append(xml('blocked', { xmlns: NS.blockingErrors }));
  s.send(reply);
}
