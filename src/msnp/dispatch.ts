import { MemoryRateStore, type RateStore } from '../core/rate-store.ts';

/** Referrals remembered at most on one node: about 1 MB. */
const MAX_REFERRALS = 10_000;

export interface DispatchReferralsOptions {
  /** How long a referral is remembered. Default two minutes. */
  ttlMs?: number;
  /** The one-node store's clock (tests). */
  clock?: () => number;
}

/**
 * The dispatch step (docs/msnp-reference.md §4): a client's first `USR … I` is
 * answered with `XFR trid NS host:port`, and the client reconnects and logs in there.
 * Papillon is dispatch and notification server on one port, so it remembers whom it
 * just referred (address + handle, for two minutes) and lets that login proceed.
 * A client that skips the dispatch step is referred once; one that is referred again
 * by mistake just follows the referral again.
 *
 * The memory is the rate store the shared limits count in (`core.rates`): in a cluster
 * that is Redis, so whichever node the referred client's second connection reaches
 * accepts it (issue 11; before, another node referred it again, and a balancer had to
 * stick 1863 clients to one node). On one node it is a bounded store of its own, so a
 * flood of `USR … I` can neither grow memory without bound nor push the login
 * throttles' counters out of the shared one (issue 13).
 */
export class DispatchReferrals {
  private readonly store: RateStore;
  private readonly ttlMs: number;

  constructor(shared: RateStore, options: DispatchReferralsOptions = {}) {
    this.ttlMs = options.ttlMs ?? 120_000;
    this.store =
      shared instanceof MemoryRateStore
        ? new MemoryRateStore({ maxKeys: MAX_REFERRALS, ...(options.clock ? { clock: options.clock } : {}) })
        : shared;
  }

  /** True when this login should be referred to the notification server first. */
  async shouldRefer(remoteAddress: string, handle: string): Promise<boolean> {
    const key = `dispatch:${remoteAddress}|${handle.toLowerCase()}`;
    // A counter that did not exist (1): refer, and remember it for ttlMs. One that did:
    // this is the referred login, accepted once; the next one is referred again.
    const { count } = await this.store.increment(key, 1, this.ttlMs);
    if (count <= 1) return true;
    await this.store.reset(key);
    return false;
  }
}
