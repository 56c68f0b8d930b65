import { isIPv4, isIPv6 } from 'node:net';
import { unmappedAddress } from '../util/address.ts';
import { AtMostEvery } from '../util/at-most-every.ts';

/**
 * Slows password guessing, for every protocol that checks a password (Passport
 * login2.srf and RST.srf, MSNP MD5, XMPP SASL). Keys are whatever the caller
 * throttles on — normally the client's IP address. Not per handle: locking a
 * handle would let anyone lock its owner out.
 *
 * After `maxFailures` failed attempts from one key within `windowMs`, the key is
 * locked for `lockoutMs`: `check` answers false and the caller fails the attempt
 * at once, without the (deliberately slow) password check. So a client repeating a
 * wrong password costs the server a few hashes a minute, however fast it sends, and
 * other clients are not slowed down.
 *
 * `check` reserves the attempt, so a burst of parallel attempts from one key is cut
 * off at `maxFailures` too, before any of them has failed. Every `check` that
 * answered true must be followed by `fail`, `succeed` or `cancel` for that key.
 * State lives in memory, per process.
 */
export interface LoginThrottleOptions {
  /** Failed (or pending) attempts allowed per window. Default 5. */
  maxFailures?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** How long a key stays locked once it reaches `maxFailures`. Default 60 s. */
  lockoutMs?: number;
  /** Keys remembered at most; beyond it, expired entries go first, then the oldest. Default 100 000. */
  maxKeys?: number;
  clock?: () => number;
}

/** The outcome of `LoginThrottle.attempt`. */
export type ThrottledAttempt<T> =
  | { status: 'ok'; value: T }
  | { status: 'failed' }
  /** Locked: the check was not even run. */
  | { status: 'throttled' };

interface Entry {
  windowStart: number;
  failures: number;
  /** Attempts checked but not yet settled with fail / succeed / cancel. */
  pending: number;
  lockedUntil: number;
}

export class LoginThrottle {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly lockoutMs: number;
  readonly #maxKeys: number;
  readonly #clock: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #sweep: AtMostEvery;

  constructor(options: LoginThrottleOptions = {}) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.lockoutMs = options.lockoutMs ?? 60_000;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#clock = options.clock ?? Date.now;
    this.#sweep = new AtMostEvery(this.windowMs);
  }

  /**
   * True: go ahead and check the password (the attempt is reserved; settle it with
   * `fail`, `succeed` or `cancel`). False: the key is locked; fail the attempt
   * without checking.
   */
  check(key: string): boolean {
    const now = this.#clock();
    const entry = this.#current(key, now);
    if (entry.lockedUntil > now) return false;
    if (entry.failures + entry.pending >= this.maxFailures) return false;
    entry.pending += 1;
    return true;
  }

  /** A checked attempt failed (wrong password, unknown account). */
  fail(key: string): void {
    const now = this.#clock();
    const entry = this.#current(key, now);
    entry.pending = Math.max(0, entry.pending - 1);
    entry.failures += 1;
    if (entry.failures >= this.maxFailures) {
      entry.lockedUntil = now + this.lockoutMs;
      entry.failures = 0;
      entry.windowStart = entry.lockedUntil;
    }
  }

  /**
   * A checked attempt succeeded. Earlier failures still count until their window
   * ends: forgiving them would let a guesser reset its counter by logging in to an
   * account of its own between guesses.
   */
  succeed(key: string): void {
    this.cancel(key);
  }

  /** A checked attempt ended without a verdict (an internal error): release it, count nothing. */
  cancel(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    entry.pending = Math.max(0, entry.pending - 1);
    if (entry.pending === 0 && entry.failures === 0 && entry.lockedUntil <= this.#clock()) {
      this.#entries.delete(key);
    }
  }

  /** How many keys are remembered (for metrics; bounded by `maxKeys`). */
  get size(): number {
    return this.#entries.size;
  }

  /** Milliseconds until the key is unlocked; 0 when it is not locked. */
  lockedFor(key: string): number {
    const entry = this.#entries.get(key);
    return entry === undefined ? 0 : Math.max(0, entry.lockedUntil - this.#clock());
  }

  /**
   * Runs `verify` under the throttle: `throttled` without running it when the key is
   * locked; `failed` when it resolves to undefined; `ok` otherwise. An exception
   * from `verify` is passed on and counts as neither success nor failure.
   */
  async attempt<T>(key: string, verify: () => Promise<T | undefined>): Promise<ThrottledAttempt<T>> {
    if (!this.check(key)) return { status: 'throttled' };
    let value: T | undefined;
    try {
      value = await verify();
    } catch (err) {
      this.cancel(key);
      throw err;
    }
    if (value === undefined) {
      this.fail(key);
      return { status: 'failed' };
    }
    this.succeed(key);
    return { status: 'ok', value };
  }

  /** The key's entry, with a window that has run out started afresh. */
  #current(key: string, now: number): Entry {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#makeRoom(now);
      entry = { windowStart: now, failures: 0, pending: 0, lockedUntil: 0 };
      this.#entries.set(key, entry);
    } else if (entry.lockedUntil <= now && now - entry.windowStart >= this.windowMs) {
      // A new window. Pending attempts older than a window are assumed lost.
      entry.windowStart = now;
      entry.failures = 0;
      entry.pending = 0;
    }
    return entry;
  }

  /** Keeps memory bounded when many keys (addresses) show up. */
  #makeRoom(now: number): void {
    if (this.#entries.size < this.#maxKeys) return;
    // A full sweep at most once per window, so a flood of new keys costs O(1) each.
    if (this.#sweep.due(now)) {
      for (const [key, entry] of this.#entries) {
        if (entry.lockedUntil <= now && now - entry.windowStart >= this.windowMs) this.#entries.delete(key);
      }
    }
    // Still full: forget the oldest keys (Map iterates in insertion order).
    for (const key of this.#entries.keys()) {
      if (this.#entries.size < this.#maxKeys) break;
      this.#entries.delete(key);
    }
  }
}

/**
 * The throttle key for a client address: an IPv4 address as is (also when it comes
 * IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address by its /64 — the block one
 * subscriber usually gets, so hopping between its addresses does not escape the
 * throttle.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const unmapped = unmappedAddress(address);
  if (unmapped !== address && isIPv4(unmapped)) return unmapped;
  if (!isIPv6(address)) return address;
  const [head = '', tail] = address.toLowerCase().split('%')[0]?.split('::') ?? [''];
  const groups = head === '' ? [] : head.split(':');
  if (tail !== undefined) {
    // `::` stands for enough zero groups to make eight (an embedded IPv4 counts as two).
    const tailGroups = tail === '' ? [] : tail.split(':');
    const tailLength = tailGroups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
    groups.push(...Array<string>(Math.max(0, 8 - groups.length - tailLength)).fill('0'), ...tailGroups);
  }
  const prefix = groups.slice(0, 4).map((g) => (g.includes('.') ? '0' : g.replace(/^0+(?=.)/, '')));
  while (prefix.length < 4) prefix.push('0');
  return `${prefix.join(':')}::/64`;
}
