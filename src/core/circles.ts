import { randomBytes } from 'node:crypto';
import type { AccountRow, CircleMemberRow, CircleRow, Store } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';
import type { DomainEvents } from './events.ts';

/**
 * Circles: named groups with one conversation for all their members (Windows Live
 * Messenger 2009 "Groups", MSNP18). A creator administers the circle and invites
 * accounts; an invitee becomes a member when they accept. Members' endpoints join the
 * circle's conversation; a message to the circle reaches every member's joined
 * endpoint. No protocol here: MSNP's address book and notification server render it.
 *
 * Delivery goes through each member's account channel (`circle-message`,
 * `circle-roster` events), so it works wherever the members' endpoints are; which
 * endpoint has joined is the session's own state.
 */

/** Circle ids are address-book GUIDs of this form (the circle's "network 9" name). */
export const CIRCLE_ID_PREFIX = '00000000-0000-0000-0009-';
const CIRCLE_ID = /^00000000-0000-0000-0009-[0-9a-f]{12}$/;
const MAX_NAME = 64;

/** What a member sends to the circle. `format`: the sender's text style, passed through. */
export interface CircleMessage {
  kind: 'text' | 'typing' | 'nudge';
  text: string;
  format?: string;
}

export interface CircleMember {
  account: AccountRow;
  member: CircleMemberRow;
}

export function isCircleId(id: string): boolean {
  return CIRCLE_ID.test(id);
}

export class Circles {
  constructor(
    private readonly store: Store,
    private readonly events: DomainEvents,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A new circle administered by its creator. */
  async create(ownerId: string, name: string): Promise<CircleRow> {
    const trimmed = name.trim();
    if (!trimmed || trimmed.length > MAX_NAME || [...trimmed].some((ch) => ch.charCodeAt(0) < 0x20)) {
      throw new PapillonError('bad-group-name', 'a circle name is 1 to 64 printable characters');
    }
    const circle = {
      id: CIRCLE_ID_PREFIX + randomBytes(6).toString('hex'),
      name: trimmed,
      ownerId,
      createdAt: this.clock(),
    };
    await this.store.createCircle(circle);
    await this.#changed(circle.id, [ownerId]);
    return circle;
  }

  /** The administrator invites an account; it is asked, and a member once it accepts. */
  async invite(circleId: string, inviterId: string, inviteeId: string): Promise<void> {
    const inviter = await this.#membership(circleId, inviterId);
    if (inviter?.state !== 'accepted' || inviter.role !== 1) {
      throw new PapillonError('not-authorized', 'only the circle administrator invites');
    }
    if (inviteeId === inviterId) throw new PapillonError('self-contact', 'already in the circle');
    if (!(await this.store.getAccountById(inviteeId))) {
      throw new PapillonError('no-such-account', `no account ${inviteeId}`);
    }
    if (await this.#membership(circleId, inviteeId)) return;
    await this.store.putCircleMember({
      circleId,
      accountId: inviteeId,
      role: 3,
      state: 'pending',
      inviterId,
      changedAt: this.clock(),
    });
    await this.#changed(circleId, [inviteeId, inviterId]);
  }

  /** The invitee's answer: a member when accepting, out of the circle when declining. */
  async respond(circleId: string, accountId: string, accept: boolean): Promise<void> {
    const own = await this.#membership(circleId, accountId);
    if (!own) throw new PapillonError('not-authorized', 'no invitation to this circle');
    if (own.state === 'accepted') return;
    if (accept) {
      await this.store.putCircleMember({ ...own, state: 'accepted', changedAt: this.clock() });
    } else {
      await this.store.deleteCircleMember(circleId, accountId);
    }
    await this.#changed(circleId, [accountId, ...(await this.#acceptedIds(circleId))]);
  }

  /** A member leaves (the administrator cannot: the circle would have none). */
  async leave(circleId: string, accountId: string): Promise<void> {
    const own = await this.#membership(circleId, accountId);
    if (!own) return;
    if (own.role === 1) throw new PapillonError('not-authorized', 'the administrator cannot leave');
    const others = await this.#acceptedIds(circleId);
    await this.store.deleteCircleMember(circleId, accountId);
    await this.#changed(circleId, [accountId, ...others]);
  }

  get(circleId: string): Promise<CircleRow | undefined> {
    return this.store.getCircle(circleId);
  }

  /** The account's circles, invitations included. */
  circlesOf(accountId: string): Promise<Array<{ circle: CircleRow; member: CircleMemberRow }>> {
    return this.store.listCirclesOf(accountId);
  }

  /** The circle's members and invitees with their accounts. */
  async members(circleId: string): Promise<CircleMember[]> {
    const rows = await this.store.listCircleMembers(circleId);
    const out: CircleMember[] = [];
    for (const member of rows) {
      const account = await this.store.getAccountById(member.accountId);
      if (account) out.push({ account, member });
    }
    return out;
  }

  async isMember(circleId: string, accountId: string): Promise<boolean> {
    return (await this.#membership(circleId, accountId))?.state === 'accepted';
  }

  /** A member's endpoint joins (or leaves) the circle's conversation; every member hears of it. */
  async roster(circleId: string, member: AccountRow, endpointId: string, joined: boolean): Promise<void> {
    const audience = await this.#audience(circleId, member.id);
    const event = {
      type: 'circle-roster' as const,
      circleId,
      memberHandle: member.handle,
      endpointId,
      joined,
    };
    for (const id of audience) await this.events.publish(id, event);
  }

  /** A member's message to everyone in the circle. */
  async send(
    circleId: string,
    sender: AccountRow,
    endpointId: string,
    message: CircleMessage,
  ): Promise<void> {
    const audience = await this.#audience(circleId, sender.id);
    const event = {
      type: 'circle-message' as const,
      circleId,
      senderHandle: sender.handle,
      senderEndpointId: endpointId,
      message,
    };
    for (const id of audience) await this.events.publish(id, event);
  }

  async #membership(circleId: string, accountId: string): Promise<CircleMemberRow | undefined> {
    if (!isCircleId(circleId)) return undefined;
    return (await this.store.listCircleMembers(circleId)).find((m) => m.accountId === accountId);
  }

  /** The accepted members, whom `accountId` must be one of (one read: this runs per circle message). */
  async #audience(circleId: string, accountId: string): Promise<string[]> {
    const accepted = isCircleId(circleId) ? await this.#acceptedIds(circleId) : [];
    if (!accepted.includes(accountId))
      throw new PapillonError('not-authorized', 'not a member of this circle');
    return accepted;
  }

  async #acceptedIds(circleId: string): Promise<string[]> {
    return (await this.store.listCircleMembers(circleId))
      .filter((m) => m.state === 'accepted')
      .map((m) => m.accountId);
  }

  /**
   * The address books of these accounts changed: their list version moves (so a
   * client's delta request gets the full book) and their endpoints hear of it.
   */
  async #changed(circleId: string, accountIds: string[]): Promise<void> {
    for (const id of new Set(accountIds)) {
      await this.store.bumpListVersion(id);
      await this.events.publish(id, { type: 'circles-changed', circleId });
    }
  }
}
