import { AtMostEvery } from '../util/at-most-every.ts';

/** A counter's value and how long it has left. */
export interface Counter {
  /** 0 when the counter does not exist (never made, reset, expired, or fallen to 0). */
  count: number;
  /** Milliseconds until the counter expires; 0 when it does not exist. */
  ttlMs: number;
}

export interface IncrementOptions {
  /** Restart the counter's lifetime at `ttlMs` from now even when it exists (a sliding expiry). */
  slide?: boolean;
}

/**
 * Expiring counters that every node of a deployment shares: what the login throttles,
 * the sign-up limit and the in-flight log-in slots count with. One process: the
 * in-memory store below. Several nodes: a Redis implementation (the composition root
 * picks it when `redisUrl` is set), so a limit holds whichever node a request reaches.
 *
 * Each operation is atomic on its own; keys are opaque strings (the implementation may
 * prefix them).
 */
export interface RateStore {
  /**
   * Adds `by` (which may be negative) to the counter and returns it, atomically. A counter
   * that does not exist starts at 0 and lives `ttlMs` from now; an existing one keeps its
   * expiry unless `slide`. A counter that falls to 0 or below is deleted.
   */
  increment(key: string, by: number, ttlMs: number, options?: IncrementOptions): Promise<Counter>;
  read(key: string): Promise<Counter>;
  /** Deletes the counter. */
  reset(key: string): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

export interface MemoryRateStoreOptions {
  /** Counters kept at most; beyond it, expired ones go first, then the oldest. Default 200 000. */
  maxKeys?: number;
  clock?: () => number;
}

interface Entry {
  count: number;
  expiresAt: number;
}

/** The one-process `RateStore`: a map, bounded in size, with lazy expiry. */
export class MemoryRateStore implements RateStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxKeys: number;
  readonly #clock: () => number;
  readonly #sweep = new AtMostEvery(60_000);

  constructor(options: MemoryRateStoreOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 200_000;
    this.#clock = options.clock ?? Date.now;
  }

  // The bodies run to completion before the returned promise settles, so operations
  // apply in the order they are called, as a pipelined Redis connection applies them.
  async increment(key: string, by: number, ttlMs: number, options: IncrementOptions = {}): Promise<Counter> {
    const now = this.#clock();
    let entry = this.#live(key, now);
    if (entry === undefined) {
      this.#makeRoom(now);
      entry = { count: 0, expiresAt: now + ttlMs };
      this.#entries.set(key, entry);
    } else if (options.slide) {
      entry.expiresAt = now + ttlMs;
    }
    entry.count += by;
    if (entry.count <= 0) {
      this.#entries.delete(key);
      return { count: 0, ttlMs: 0 };
    }
    return { count: entry.count, ttlMs: entry.expiresAt - now };
  }

  async read(key: string): Promise<Counter> {
    const now = this.#clock();
    const entry = this.#live(key, now);
    return entry === undefined
      ? { count: 0, ttlMs: 0 }
      : { count: entry.count, ttlMs: entry.expiresAt - now };
  }

  async reset(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }

  /** How many counters are held (bounded by `maxKeys`). */
  get size(): number {
    return this.#entries.size;
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.expiresAt > now) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  /** Keeps memory bounded when many keys (addresses, address-handle pairs) show up. */
  #makeRoom(now: number): void {
    if (this.#entries.size < this.#maxKeys) return;
    // A full sweep at most once a minute, so a flood of new keys costs O(1) each.
    if (this.#sweep.due(now)) {
      for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
    }
    // Still full: forget the oldest counters (a Map iterates in insertion order).
    for (const key of this.#entries.keys()) {
      if (this.#entries.size < this.#maxKeys) break;
      this.#entries.delete(key);
    }
  }
}
