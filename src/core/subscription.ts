import type { Privacy } from '../store/types.ts';

/**
 * RFC 6121 subscription state, derived — never stored — from the MSN lists both
 * sides keep. The rule that joins the two models: B may see A's presence when A
 * has not blocked B and either allowed B explicitly (MSN AL = XMPP approval) or
 * chose the open privacy setting (MSN's `BLP AL`; accounts start with 'allow-list').
 */

/** One side's lists about the other (the stored relationship row, or none). */
export interface ListFlags {
  forward: boolean;
  allow: boolean;
  block: boolean;
  /**
   * The other side answered this side's forward add (MSN's pending list acknowledged,
   * XMPP `unsubscribed`): without an allow, the request was refused.
   */
  noticed: boolean;
  /** Kept in the list without asking for presence (roster item 'none', RFC 6121 §2.1.5). */
  listed: boolean;
}

export interface PairState {
  /** What the user keeps about the contact. */
  mine: ListFlags;
  /** What the contact keeps about the user. */
  theirs: ListFlags;
  myPrivacy: Privacy;
  theirPrivacy: Privacy;
}

export type Subscription = 'none' | 'to' | 'from' | 'both';

export interface DerivedSubscription {
  /** RFC 6121 §2.1.2.5. */
  subscription: Subscription;
  /** The user asked to see the contact and is waiting (`ask='subscribe'`, "None + Pending Out"). */
  ask: boolean;
  /** The contact asked to see the user and the user has not answered ("Pending In", Appendix A). */
  pendingIn: boolean;
  /** The user approved the contact before being asked (RFC 6121 §3.4, `approved='true'`). */
  preApproved: boolean;
}

export const NO_LISTS: ListFlags = Object.freeze({
  forward: false,
  allow: false,
  block: false,
  noticed: false,
  listed: false,
});

/** May the owner of `lists` (with `privacy`) be seen by the other side? */
export function permits(lists: ListFlags, privacy: Privacy): boolean {
  if (lists.block) return false;
  return lists.allow || privacy === 'allow-all';
}

export function deriveSubscription(state: PairState): DerivedSubscription {
  const to = state.mine.forward && permits(state.theirs, state.theirPrivacy);
  const from = state.theirs.forward && permits(state.mine, state.myPrivacy);
  const subscription: Subscription = to ? (from ? 'both' : 'to') : from ? 'from' : 'none';
  return {
    subscription,
    // §3.2: a request the contact answered with a denial is no longer pending ("None").
    ask: state.mine.forward && !to && !state.mine.noticed,
    // Only an undecided request is pending: allowed (AL, or open privacy) is "from",
    // blocked or answered (`unsubscribed`, MSN `REM PL`) is refused.
    pendingIn: state.theirs.forward && !from && !state.mine.block && !state.theirs.noticed,
    // Pre-approval is only meaningful while the contact has no subscription (§3.4).
    preApproved: state.mine.allow && !state.mine.block && !from,
  };
}

/**
 * MSN's "X has added you" condition, the pending list (PL, MSNP10–12) and the address
 * book's Pending membership (MSNP13+); MSNP2–9 clients compute it as RL minus AL minus
 * BL. The contact has the user on their forward list, the user has neither allowed nor
 * blocked them, and the user's client has not acknowledged the add (`REM PL`,
 * `DeleteMember` Pending): one acknowledgement, and no MSN client asks again.
 */
export function addedMeUndecided(state: Pick<PairState, 'mine' | 'theirs'>): boolean {
  return state.theirs.forward && !state.theirs.noticed && !state.mine.allow && !state.mine.block;
}
