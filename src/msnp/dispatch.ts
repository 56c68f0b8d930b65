/** Referrals remembered at most: about 1 MB. */
const MAX_REFERRALS = 10_000;

/**
 * The dispatch step (docs/msnp-reference.md §4): a client's first `USR … I` is
 * answered with `XFR trid NS host:port`, and the client reconnects and logs in there.
 * Papillon is dispatch and notification server on one port, so it remembers whom it
 * just referred (address + handle, for two minutes) and lets that login proceed.
 * A client that skips the dispatch step is referred once; one that is referred again
 * by mistake just follows the referral again.
 */
export class DispatchReferrals {
  private readonly referred = new Map<string, number>();

  constructor(
    private readonly ttlMs = 120_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** True when this login should be referred to the notification server first. */
  shouldRefer(remoteAddress: string, handle: string): boolean {
    const key = `${remoteAddress}|${handle.toLowerCase()}`;
    const now = this.clock();
    const until = this.referred.get(key);
    if (until !== undefined && until > now) {
      this.referred.delete(key);
      return false;
    }
    if (this.referred.size >= MAX_REFERRALS) {
      for (const [k, t] of this.referred) if (t <= now) this.referred.delete(k);
      // Still full (a burst of `USR … I` from everywhere): the oldest go first. A client
      // forgotten this way is only referred once more (issue 13: nothing a client sends
      // may grow memory without bound).
      for (const k of this.referred.keys()) {
        if (this.referred.size < MAX_REFERRALS) break;
        this.referred.delete(k);
      }
    }
    this.referred.set(key, now + this.ttlMs);
    return true;
  }
}
