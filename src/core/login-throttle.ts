import { isIPv4, isIPv6 } from 'node:net';
import { unmappedAddress } from '../util/address.ts';
import type { RateStore } from './rate-store.ts';

/**
 * Slows guessing, for every protocol that checks a password or a token (Passport
 * login2.srf and RST.srf, MSNP MD5/TWN/SSO, XMPP SASL, the web pages). Keys are whatever
 * the caller throttles on: the client's address, or an (address, handle) pair
 * (`LoginGuard`). Never the handle alone: that would let anyone lock its owner out.
 *
 * Only failures count. After `maxFailures` failures from one key within `windowMs`, the
 * key is locked for `lockoutMs`: the caller then fails the attempt at once, without the
 * (deliberately slow) check. So a client repeating a wrong password costs the server a
 * few hashes a minute, however fast it sends, and other clients are not slowed down.
 * Attempts still in progress are not counted here: `LoginGuard` bounds those per
 * (address, handle) pair, where they can be bounded without refusing anyone's right
 * password.
 *
 * The counters live in a `RateStore`: in process memory on one node, in Redis when
 * several nodes share the limits.
 */
export interface LoginThrottleOptions {
  /** Names this throttle's counters in the store (`login-address`, `login-pair`). */
  name: string;
  /** Failed attempts allowed per window. Default 5. */
  maxFailures?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** How long a key stays locked once it reaches `maxFailures`. Default 60 s. */
  lockoutMs?: number;
}

/** A key's state as `enter` found it, the caller's own attempt included in `inFlight`. */
export interface Slot {
  /** Attempts on the key in progress (on every node). */
  inFlight: number;
  failures: number;
  lockedFor: number;
}

/** The outcome of `LoginThrottle.attempt`. */
export type ThrottledAttempt<T> =
  | { status: 'ok'; value: T }
  | { status: 'failed' }
  /** Locked: the check was not even run. */
  | { status: 'throttled' };

export class LoginThrottle {
  readonly name: string;
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly lockoutMs: number;

  constructor(
    private readonly store: RateStore,
    options: LoginThrottleOptions,
  ) {
    this.name = options.name;
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.lockoutMs = options.lockoutMs ?? 60_000;
  }

  /** Milliseconds until the key is unlocked; 0 when it is not locked. */
  async lockedFor(key: string): Promise<number> {
    return (await this.store.read(this.#lockKey(key))).ttlMs;
  }

  /** Failures counted against the key in its current window (a lock starts the count again). */
  async failures(key: string): Promise<number> {
    return (await this.store.read(this.#failKey(key))).count;
  }

  /** A checked attempt failed (wrong password, unknown account, bad token). */
  async fail(key: string): Promise<void> {
    const failures = await this.store.increment(this.#failKey(key), 1, this.windowMs);
    if (failures.count < this.maxFailures) return;
    // Two nodes reaching the limit together both get here: the lock is made once (an
    // existing one keeps its expiry), and the count starts again.
    await this.store.increment(this.#lockKey(key), 1, this.lockoutMs);
    await this.store.reset(this.#failKey(key));
  }

  /**
   * Takes an in-flight slot for the key and reads its state, in one round trip (the
   * increment is applied before the reads). Every `enter` must be followed by `leave`,
   * after `fail` when the attempt failed: a failure is then never out of both counts.
   */
  async enter(key: string): Promise<Slot> {
    const [busy, failures, lock] = await Promise.all([
      // Sliding, so the count outlives a steady stream of attempts, yet a slot held by a
      // node that died is given back a window after the key's last attempt.
      this.store.increment(this.#busyKey(key), 1, this.windowMs, { slide: true }),
      this.store.read(this.#failKey(key)),
      this.store.read(this.#lockKey(key)),
    ]);
    return { inFlight: busy.count, failures: failures.count, lockedFor: lock.ttlMs };
  }

  async leave(key: string): Promise<void> {
    await this.store.increment(this.#busyKey(key), -1, this.windowMs);
  }

  /**
   * Runs `verify` under the throttle: `throttled` without running it when the key is
   * locked; `failed` (counted) when it resolves to undefined; `ok` otherwise. A success
   * does not forgive earlier failures: that would let a guesser reset its count by
   * signing in to an account of its own between guesses. An exception from `verify` is
   * passed on and counts as nothing.
   *
   * Attempts in flight are not counted unless `strict`, so a parallel burst may run as
   * many checks as arrive before the first failures land. That is right where many
   * clients behind one address legitimately check at once (OAuth tokens after a
   * restart; 256-bit tokens are not guessable anyway). `strict` counts them as if they
   * had failed, refusing what is beyond `maxFailures`: for secrets one address rarely
   * checks twice at once and that could be guessed (an invitation code).
   */
  async attempt<T>(
    key: string,
    verify: () => Promise<T | undefined>,
    options: { strict?: boolean } = {},
  ): Promise<ThrottledAttempt<T>> {
    if (!options.strict) {
      if ((await this.lockedFor(key)) > 0) return { status: 'throttled' };
      const value = await verify();
      if (value === undefined) await this.fail(key);
      return value === undefined ? { status: 'failed' } : { status: 'ok', value };
    }
    const slot = await this.enter(key);
    if (slot.lockedFor > 0 || slot.failures + slot.inFlight > this.maxFailures) {
      await this.leave(key);
      return { status: 'throttled' };
    }
    try {
      const value = await verify();
      if (value === undefined) await this.fail(key);
      return value === undefined ? { status: 'failed' } : { status: 'ok', value };
    } finally {
      await this.leave(key);
    }
  }

  #busyKey(key: string): string {
    return `${this.name}:busy:${key}`;
  }

  #failKey(key: string): string {
    return `${this.name}:fail:${key}`;
  }

  #lockKey(key: string): string {
    return `${this.name}:lock:${key}`;
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
