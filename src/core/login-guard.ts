import { setTimeout as sleep } from 'node:timers/promises';
import { normalizeHandle } from '../util/handle.ts';
import { addressKey, LoginThrottle, type ThrottledAttempt } from './login-throttle.ts';
import { MemoryRateStore, type RateStore } from './rate-store.ts';

export interface LoginGuardOptions {
  /** How long an attempt waits for an in-flight slot of its (address, handle) pair. Default 10 s. */
  slotWaitMs?: number;
}

/** How often a waiting attempt looks again when no attempt of this node wakes it (one held on another node). */
const SLOT_POLL_MS = 100;

/**
 * Password guessing limits for every protocol, on two keys. Neither is the handle
 * alone: that would let anyone lock its owner out.
 *
 * - The (address, handle) pair: 5 failures a minute, then locked for a minute, so one
 *   account cannot be guessed quickly from one place. Strict, parallel bursts included:
 *   failures plus attempts in flight never exceed 5, so at most 5 passwords are being
 *   checked for a pair at any time, and at most 5 fail a minute. An attempt beyond that
 *   waits (up to `slotWaitMs`) for one in flight to end rather than being refused: if
 *   those were right, it goes ahead; if they were wrong, the pair is locked and it is
 *   refused. So several of one account's clients signing in at once from one address
 *   (MSNP16+ MPOP machines or XMPP resources behind one NAT, reconnecting after a
 *   restart) all get in, a little later.
 * - The address alone: 50 failures a minute, whatever the handles, locks the address for
 *   a minute, so one place cannot spray passwords across many accounts. The address lock
 *   refuses the handles that have failed from that address in the current window, and
 *   gives every other handle one check at a time: a right password from an address that
 *   has not failed for that account is never refused (users behind one NAT are not
 *   locked out by another user's typos or by a bot beside them), while a spraying
 *   address gets one guess per account a window instead of five.
 *
 * Only failures count: attempts in progress do not lock an address, so a burst of right
 * passwords from one address (a NAT after a restart) all succeed.
 */
export class LoginGuard {
  readonly perAccount: LoginThrottle;
  readonly perAddress: LoginThrottle;
  readonly #slotWaitMs: number;
  /** Attempts of this node waiting for a slot, by pair, woken in turn as slots free up. */
  readonly #waiting = new Map<string, Array<() => void>>();

  constructor(store: RateStore = new MemoryRateStore(), options: LoginGuardOptions = {}) {
    this.perAccount = new LoginThrottle(store, { name: 'login-pair', maxFailures: 5 });
    this.perAddress = new LoginThrottle(store, { name: 'login-address', maxFailures: 50 });
    this.#slotWaitMs = options.slotWaitMs ?? 10_000;
  }

  async attempt<T>(
    address: string | undefined,
    handle: string,
    verify: () => Promise<T | undefined>,
  ): Promise<ThrottledAttempt<T>> {
    const where = addressKey(address);
    const pair = `${where}|${normalizeHandle(handle)}`;
    const deadline = performance.now() + this.#slotWaitMs;
    for (;;) {
      const entered = await this.#enter(where, pair);
      if (entered === 'entered') break;
      if (entered === 'refused' || performance.now() >= deadline) {
        this.#wakeNext(pair);
        return { status: 'throttled' };
      }
      await this.#waitForSlot(pair, deadline);
    }
    try {
      const value = await verify();
      if (value === undefined) {
        // Counted before the slot is given back, so the failure is never out of both counts.
        await Promise.all([this.perAccount.fail(pair), this.perAddress.fail(where)]);
        return { status: 'failed' };
      }
      return { status: 'ok', value };
    } finally {
      await this.perAccount.leave(pair);
      this.#wakeNext(pair);
    }
  }

  /** Takes a slot for the pair, or says why not: refused for good, or full for now. */
  async #enter(where: string, pair: string): Promise<'entered' | 'refused' | 'full'> {
    const [addressLockedFor, slot] = await Promise.all([
      this.perAddress.lockedFor(where),
      this.perAccount.enter(pair),
    ]);
    // While the address is locked, a pair gets one check at a time and none once it has failed.
    const limit = addressLockedFor > 0 ? 1 : this.perAccount.maxFailures;
    if (slot.lockedFor === 0 && slot.failures + slot.inFlight <= limit) return 'entered';
    await this.perAccount.leave(pair);
    if (slot.lockedFor > 0) {
      // Hammering a locked pair still counts against the address.
      await this.perAddress.fail(where);
      return 'refused';
    }
    return slot.failures >= limit ? 'refused' : 'full';
  }

  /** Until an attempt of this node on the pair ends, a poll interval passes, or the deadline. */
  async #waitForSlot(pair: string, deadline: number): Promise<void> {
    const ac = new AbortController();
    let queue = this.#waiting.get(pair);
    if (queue === undefined) {
      queue = [];
      this.#waiting.set(pair, queue);
    }
    const wake = () => ac.abort();
    queue.push(wake);
    const ms = Math.max(1, Math.min(SLOT_POLL_MS, deadline - performance.now()));
    await sleep(ms, undefined, { signal: ac.signal }).catch(() => {});
    const at = queue.indexOf(wake);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0 && this.#waiting.get(pair) === queue) this.#waiting.delete(pair);
  }

  /** One waiting attempt tries again: a slot is free, or it learns the pair is locked. */
  #wakeNext(pair: string): void {
    this.#waiting.get(pair)?.shift()?.();
  }
}
