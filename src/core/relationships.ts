import type { AccountRow, GroupRow, RelationshipPatch, RelationshipRow, Store } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';
import { normalizeHandle } from '../util/handle.ts';
import { newId } from '../util/ids.ts';
import { hasControlCharacters } from '../util/text.ts';
import type { DomainEvents } from './events.ts';
import type { Presence } from './presence.ts';
import {
  addedMeUndecided,
  type DerivedSubscription,
  deriveSubscription,
  type ListFlags,
} from './subscription.ts';
import { listFlags as flags, type Visibility } from './visibility.ts';

/** MSN allowed 30 groups (error 223 past that) and group names of 61 bytes URL-encoded. */
export const MAX_GROUPS = 30;
export const MAX_GROUP_NAME_LENGTH = 61;
/** MSN's forward-list limit (error 210 "list full"). */
export const MAX_FORWARD_CONTACTS = 1000;

/** A contact as one account sees it: both sides' lists and what follows from them. */
export interface ContactView {
  contact: AccountRow;
  /** What the owner keeps about the contact. */
  mine: ListFlags;
  /** What the contact keeps about the owner; `theirs.forward` is MSN's reverse list. */
  theirs: ListFlags;
  nickname: string | null;
  groupIds: string[];
  derived: DerivedSubscription;
  /** MSN "X has added you" not yet answered (MSNP13+ pending list). */
  pending: boolean;
}

export interface ListsSnapshot {
  account: AccountRow;
  listVersion: number;
  groups: GroupRow[];
  contacts: ContactView[];
}

export function checkGroupName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || [...trimmed].length > MAX_GROUP_NAME_LENGTH) {
    throw new PapillonError('bad-group-name', `group names are 1 to ${MAX_GROUP_NAME_LENGTH} characters`);
  }
  if (hasControlCharacters(trimmed))
    throw new PapillonError('bad-group-name', 'group name has control characters');
  return trimmed;
}

/**
 * The relationship model: every list operation of every protocol (MSNP `ADD`/`ADC`/
 * `REM`/`ADG`…, XMPP roster sets and subscription stanzas) is a call here. Each call
 * changes the owner's row, bumps the owner's list version in the same transaction,
 * and tells both sides what changed.
 */
export class Relationships {
  constructor(
    private readonly store: Store,
    private readonly events: DomainEvents,
    private readonly presence: Presence,
    private readonly visibility: Visibility,
  ) {}

  async snapshot(ownerId: string): Promise<ListsSnapshot> {
    const account = await this.requireAccount(ownerId);
    const [rows, reverse, groups] = await Promise.all([
      this.store.listRelationships(ownerId),
      this.store.listRelationshipsTo(ownerId),
      this.store.listGroups(ownerId),
    ]);
    const theirsById = new Map(reverse.map((r) => [r.ownerId, r]));
    const mineById = new Map(rows.map((r) => [r.contactId, r]));
    const ids = [...new Set([...mineById.keys(), ...theirsById.keys()])];
    const contacts = await this.store.getAccountsByIds(ids);
    const views = contacts.map((contact) =>
      this.view(account, contact, mineById.get(contact.id), theirsById.get(contact.id)),
    );
    views.sort((a, b) => a.contact.handle.localeCompare(b.contact.handle));
    return { account, listVersion: account.listVersion, groups, contacts: views };
  }

  async contact(ownerId: string, contactId: string): Promise<ContactView> {
    const [owner, contact] = await Promise.all([
      this.requireAccount(ownerId),
      this.requireAccount(contactId),
    ]);
    const [mine, theirs] = await Promise.all([
      this.store.getRelationship(ownerId, contactId),
      this.store.getRelationship(contactId, ownerId),
    ]);
    return this.view(owner, contact, mine, theirs);
  }

  /** The owner's groups, without loading the whole list. */
  groups(ownerId: string): Promise<GroupRow[]> {
    return this.store.listGroups(ownerId);
  }

  /** May `viewerId` see `targetId` (its presence, its phone numbers)? */
  canSee(viewerId: string, targetId: string): Promise<boolean> {
    return this.visibility.canSee(viewerId, targetId);
  }

  /** Is `contactId` on the owner's block list? */
  async blocks(ownerId: string, contactId: string): Promise<boolean> {
    return (await this.blocking(ownerId, contactId)).userBlocks;
  }

  /**
   * Whether `userId` blocks `contactId` and whether `contactId` blocks `userId`, in one
   * read: routing asks it for every stanza (an account never blocks itself).
   */
  async blocking(
    userId: string,
    contactId: string,
  ): Promise<{ userBlocks: boolean; contactBlocks: boolean }> {
    if (userId === contactId) return { userBlocks: false, contactBlocks: false };
    const blockers = await this.store.blockersBetween(userId, contactId);
    return { userBlocks: blockers.includes(userId), contactBlocks: blockers.includes(contactId) };
  }

  /**
   * Add to the forward list (MSNP `ADD FL`/`ADC FL`, XMPP `subscribe`): a subscription
   * request the contact is asked (RFC 6121 §3.1.3) unless it approved beforehand.
   */
  async addForward(ownerId: string, contactHandle: string, nickname?: string | null): Promise<ContactView> {
    const contact = await this.requireHandle(contactHandle, ownerId);
    const existing = await this.store.getRelationship(ownerId, contact.id);
    if (!existing?.forward) {
      const count = (await this.store.listRelationships(ownerId)).filter((r) => r.forward).length;
      if (count >= MAX_FORWARD_CONTACTS) throw new PapillonError('conflict', 'the contact list is full');
    }
    // A new add, or a new `subscribe` after a refusal, is a new question for the
    // contact (MSN's pending list; RFC 6121 §3.1.3 delivers it again).
    const askAgain =
      existing?.forward === true && existing.noticed && !(await this.visibility.canSee(ownerId, contact.id));
    const patch: RelationshipPatch =
      existing?.forward && !askAgain ? { forward: true } : { forward: true, noticed: false };
    if (nickname !== undefined) patch.nickname = nickname;
    const view = await this.change(ownerId, contact.id, patch, contact);
    if (!existing?.forward || askAgain) {
      const owner = await this.requireAccount(ownerId);
      // The contact's view changed too (a new reverse-list entry / roster item).
      const theirVersion = await this.store.bumpListVersion(contact.id);
      await this.events.publish(contact.id, {
        type: 'lists-changed',
        listVersion: theirVersion,
        contactId: ownerId,
      });
      await this.events.publish(contact.id, {
        type: 'contact-added-me',
        contactId: owner.id,
        contactHandle: owner.handle,
        displayName: owner.displayName,
      });
      // The new watcher learns the contact's presence at once if allowed to see it.
      await this.presence.sendCurrent(contact.id, ownerId);
    }
    return view;
  }

  /**
   * Keep the contact in the owner's list without asking for its presence (XMPP roster
   * set, RFC 6121 §2.1.5: an item with subscription 'none'; an address-book contact
   * that is not a Messenger contact). The contact is not told: nothing it sees changes.
   */
  async list(ownerId: string, contactHandle: string, nickname?: string | null): Promise<ContactView> {
    const contact = await this.requireHandle(contactHandle, ownerId);
    const patch: RelationshipPatch = { listed: true };
    if (nickname !== undefined) patch.nickname = nickname;
    return this.change(ownerId, contact.id, patch, contact);
  }

  /**
   * Remove from the forward list (MSNP `REM FL`, XMPP `unsubscribe`). With `keepListed`
   * (XMPP `unsubscribe`, RFC 6121 §3.3) the item stays, with its name and groups, and
   * subscription 'none'; without it the contact leaves the list and every group.
   */
  async removeForward(
    ownerId: string,
    contactId: string,
    options: { keepListed?: boolean } = {},
  ): Promise<ContactView> {
    const existing = await this.store.getRelationship(ownerId, contactId);
    const keep =
      options.keepListed === true && existing !== undefined && (existing.forward || existing.listed);
    if (!keep)
      for (const groupId of existing?.groupIds ?? [])
        await this.store.removeFromGroup(ownerId, contactId, groupId);
    const view = await this.change(
      ownerId,
      contactId,
      keep ? { forward: false, listed: true } : { forward: false, listed: false },
    );
    if (existing?.forward) {
      const owner = await this.requireAccount(ownerId);
      const theirVersion = await this.store.bumpListVersion(contactId);
      await this.events.publish(contactId, {
        type: 'lists-changed',
        listVersion: theirVersion,
        contactId: ownerId,
      });
      await this.events.publish(contactId, {
        type: 'contact-removed-me',
        contactId: owner.id,
        contactHandle: owner.handle,
      });
    }
    return view;
  }

  /**
   * The owner's client has shown "X has added you" for `contactId` (MSNP10–12 `REM trid
   * PL handle`, MSNP13+ `DeleteMember` of the Pending role): the add leaves the pending
   * list whatever the owner decided. Only the contact's row records it; nothing the
   * contact sees changes, so only the owner's sessions hear of it. Returns whether the
   * contact was pending.
   *
   * Acknowledged without an allow, the add is refused: the adder's request is no longer
   * pending (RFC 6121 §3.2: its roster shows 'none' without ask), so it hears of it too.
   */
  async acknowledgeAdded(ownerId: string, contactId: string): Promise<boolean> {
    const view = await this.contact(ownerId, contactId);
    if (!view.pending) return false;
    await this.store.updateRelationship(contactId, ownerId, { noticed: true });
    await this.tellContact(ownerId, contactId);
    await this.tellContact(contactId, ownerId);
    return true;
  }

  /**
   * The owner refuses the contact (XMPP `unsubscribed`, RFC 6121 §3.2; roster remove,
   * §2.5.2): off the allow list, and the contact's request, if any, answered. The
   * contact stops seeing the owner unless the owner chose open privacy (MSN `BLP AL`:
   * everyone not blocked sees them; refusing there is MSN's block, a separate act).
   */
  async refuse(ownerId: string, contactId: string): Promise<ContactView> {
    const seeing = new Set(await this.visibility.watchers(ownerId));
    await this.answer(contactId, ownerId);
    const view = await this.change(ownerId, contactId, { allow: false });
    await this.afterVisibilityChange(ownerId, seeing);
    await this.tellContact(contactId, ownerId);
    return view;
  }

  /** Allow list; leaves the block list (MSN keeps AL and BL disjoint). */
  async allow(ownerId: string, contactHandle: string): Promise<ContactView> {
    const contact = await this.requireHandle(contactHandle, ownerId);
    // The contact's request, if any, is answered (approved).
    await this.answer(contact.id, ownerId);
    return this.changeVisibility(ownerId, contact.id, { allow: true, block: false }, contact);
  }

  async unallow(ownerId: string, contactId: string): Promise<ContactView> {
    return this.changeVisibility(ownerId, contactId, { allow: false });
  }

  /** Block list; leaves the allow list. A pending request from the contact is refused with it. */
  async block(ownerId: string, contactHandle: string): Promise<ContactView> {
    const contact = await this.requireHandle(contactHandle, ownerId);
    await this.answer(contact.id, ownerId);
    return this.changeVisibility(ownerId, contact.id, { block: true, allow: false }, contact);
  }

  async unblock(ownerId: string, contactId: string): Promise<ContactView> {
    return this.changeVisibility(ownerId, contactId, { block: false });
  }

  async setNickname(ownerId: string, contactId: string, nickname: string | null): Promise<ContactView> {
    const contact = await this.requireAccount(contactId);
    return this.change(ownerId, contactId, { nickname }, contact);
  }

  /** MSN `BLP`: who sees the owner when on neither list. */
  async setPrivacy(ownerId: string, privacy: 'allow-all' | 'allow-list'): Promise<number> {
    const before = await this.store.getAccountById(ownerId);
    const seeing = new Set(await this.visibility.watchers(ownerId));
    const updated = await this.store.updateAccount(ownerId, { privacy });
    if (!updated) throw new PapillonError('no-such-account', 'no such account');
    if (before?.privacy !== privacy) {
      await this.afterVisibilityChange(ownerId, seeing);
      await this.events.publish(ownerId, {
        type: 'lists-changed',
        listVersion: updated.listVersion,
        contactId: null,
      });
      // Everyone who keeps the owner on a list sees a different subscription now.
      for (const row of await this.store.listRelationshipsTo(ownerId))
        await this.tellContact(row.ownerId, ownerId);
    }
    return updated.listVersion;
  }

  // Groups ------------------------------------------------------------------------

  async createGroup(ownerId: string, name: string): Promise<{ group: GroupRow; listVersion: number }> {
    const groupName = checkGroupName(name);
    if ((await this.store.listGroups(ownerId)).length >= MAX_GROUPS) {
      throw new PapillonError('too-many-groups', `at most ${MAX_GROUPS} groups`);
    }
    const { value, listVersion } = await this.store.createGroup(ownerId, newId(), groupName);
    await this.events.publish(ownerId, { type: 'lists-changed', listVersion, contactId: null });
    return { group: value, listVersion };
  }

  async renameGroup(
    ownerId: string,
    groupId: string,
    name: string,
  ): Promise<{ group: GroupRow; listVersion: number }> {
    const { value, listVersion } = await this.store.renameGroup(ownerId, groupId, checkGroupName(name));
    if (!value) throw new PapillonError('no-such-group', 'no such group');
    await this.events.publish(ownerId, { type: 'lists-changed', listVersion, contactId: null });
    return { group: value, listVersion };
  }

  async deleteGroup(ownerId: string, groupId: string): Promise<number> {
    const { value, listVersion } = await this.store.deleteGroup(ownerId, groupId);
    if (!value) throw new PapillonError('no-such-group', 'no such group');
    await this.events.publish(ownerId, { type: 'lists-changed', listVersion, contactId: null });
    return listVersion;
  }

  async addToGroup(ownerId: string, contactId: string, groupId: string): Promise<number> {
    const row = await this.store.getRelationship(ownerId, contactId);
    if (!row?.forward && !row?.listed)
      throw new PapillonError('no-such-contact', 'the contact is not on the list');
    const { value, listVersion } = await this.store.addToGroup(ownerId, contactId, groupId);
    if (!value) throw new PapillonError('no-such-group', 'no such group');
    await this.events.publish(ownerId, { type: 'lists-changed', listVersion, contactId });
    return listVersion;
  }

  async removeFromGroup(ownerId: string, contactId: string, groupId: string): Promise<number> {
    const { value, listVersion } = await this.store.removeFromGroup(ownerId, contactId, groupId);
    if (!value) throw new PapillonError('no-such-contact', 'the contact is not in that group');
    await this.events.publish(ownerId, { type: 'lists-changed', listVersion, contactId });
    return listVersion;
  }

  // Internals -------------------------------------------------------------------

  /**
   * Records that the owner answered the adder's request (`noticed` on the adder's row);
   * the adder's side is told by the caller. A later add asks again (addForward).
   */
  private async answer(adderId: string, ownerId: string): Promise<void> {
    const row = await this.store.getRelationship(adderId, ownerId);
    if (row?.forward && !row.noticed)
      await this.store.updateRelationship(adderId, ownerId, { noticed: true });
  }

  private async changeVisibility(
    ownerId: string,
    contactId: string,
    patch: RelationshipPatch,
    contact?: AccountRow,
  ): Promise<ContactView> {
    const seeing = new Set(await this.visibility.watchers(ownerId));
    const view = await this.change(ownerId, contactId, patch, contact);
    await this.afterVisibilityChange(ownerId, seeing);
    // The contact's derived subscription (to / ask / pre-approval) changed too.
    await this.tellContact(contactId, ownerId);
    return view;
  }

  /** `contactId`'s view of `ownerId` changed on the owner's side: bump its version and say so. */
  private async tellContact(contactId: string, ownerId: string): Promise<void> {
    const listVersion = await this.store.bumpListVersion(contactId);
    await this.events.publish(contactId, { type: 'lists-changed', listVersion, contactId: ownerId });
  }

  /** Tells every watcher whose right to see the owner changed what they now see. */
  private async afterVisibilityChange(ownerId: string, before: Set<string>): Promise<void> {
    const after = new Set(await this.visibility.watchers(ownerId));
    for (const id of new Set([...before, ...after])) {
      if (before.has(id) !== after.has(id)) await this.presence.sendCurrent(ownerId, id);
    }
  }

  /** Applies `patch` and returns the owner's view of the contact (`contact`: its row, if already read). */
  private async change(
    ownerId: string,
    contactId: string,
    patch: RelationshipPatch,
    contact?: AccountRow,
  ): Promise<ContactView> {
    const { value: mine, listVersion } = await this.store.updateRelationship(ownerId, contactId, patch);
    await this.events.publish(ownerId, { type: 'lists-changed', listVersion, contactId });
    // `mine` is the row just written: only the two accounts and the contact's side are read.
    const [owner, contactRow, theirs] = await Promise.all([
      this.requireAccount(ownerId),
      contact ?? this.requireAccount(contactId),
      this.store.getRelationship(contactId, ownerId),
    ]);
    return this.view(owner, contactRow, mine, theirs);
  }

  private view(
    owner: AccountRow,
    contact: AccountRow,
    mineRow: RelationshipRow | undefined,
    theirsRow: RelationshipRow | undefined,
  ): ContactView {
    const mine = flags(mineRow);
    const theirs = flags(theirsRow);
    return {
      contact,
      mine,
      theirs,
      nickname: mineRow?.nickname ?? null,
      groupIds: mineRow?.groupIds ?? [],
      derived: deriveSubscription({ mine, theirs, myPrivacy: owner.privacy, theirPrivacy: contact.privacy }),
      pending: addedMeUndecided({ mine, theirs }),
    };
  }

  private async requireAccount(id: string): Promise<AccountRow> {
    const account = await this.store.getAccountById(id);
    if (!account) throw new PapillonError('no-such-account', 'no such account');
    return account;
  }

  private async requireHandle(handle: string, ownerId: string): Promise<AccountRow> {
    const normalized = normalizeHandle(handle);
    const account = await this.store.getAccountByHandle(normalized);
    if (!account) throw new PapillonError('no-such-account', `no account named ${normalized}`);
    if (account.id === ownerId)
      throw new PapillonError('self-contact', 'an account cannot be its own contact');
    return account;
  }
}
