import { getHeapStatistics } from 'node:v8';

/**
 * The default process budget: a quarter of the V8 heap limit, at most 256 MiB. Output
 * written as strings (XMPP) lives on that heap until it is sent, and an unfinished
 * stanza is heap too, so the budget is a fraction of it, leaving room for everything else.
 */
export function defaultBudgetBytes(): number {
  return Math.min(256 * 1024 * 1024, Math.floor(getHeapStatistics().heap_size_limit / 4));
}

/**
 * One connection's share of a `MemoryBudget`: the bytes it holds that its client
 * controls (output the client has not read, input not yet handled). The connection
 * adds and subtracts as they change; closing releases whatever is left.
 */
export class BudgetAccount {
  /** Bytes this account holds now. */
  held = 0;
  private open = true;

  constructor(
    private readonly budget: MemoryBudget,
    /** Called (once) when the budget chose this account to close: close the connection. */
    readonly shed: () => void,
  ) {}

  /** `delta` bytes more (or fewer, when negative). Ignored once closed. */
  add(delta: number): void {
    if (!this.open || delta === 0) return;
    this.held += delta;
    this.budget.adjust(delta);
  }

  /** The connection is gone: its bytes leave the budget. Idempotent. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.budget.adjust(-this.held);
    this.held = 0;
    this.budget.forget(this);
  }

  get closed(): boolean {
    return !this.open;
  }
}

/**
 * The memory the whole process lets clients make it hold: output queued for clients
 * that do not read, input received but not yet handled. Per-connection bounds stop one
 * client; this stops ten thousand clients that each stay under them. When the total
 * goes over `limit`, the accounts holding most are shed (their connections closed),
 * largest first, until the total is back under three quarters of the limit, so one
 * shedding buys room instead of running again at the next byte.
 */
export class MemoryBudget {
  /** Bytes held by all accounts together. */
  used = 0;
  /** Accounts shed so far (for metrics and tests). */
  shedCount = 0;
  private readonly accounts = new Set<BudgetAccount>();
  private sweepQueued = false;

  constructor(readonly limit: number = defaultBudgetBytes()) {}

  /** An account for a new connection; `shed` closes that connection. */
  open(shed: () => void): BudgetAccount {
    const account = new BudgetAccount(this, shed);
    this.accounts.add(account);
    return account;
  }

  /** Called by accounts. Shedding waits for the next turn: the caller may be mid-write. */
  adjust(delta: number): void {
    this.used += delta;
    if (delta > 0 && this.used > this.limit && !this.sweepQueued) {
      this.sweepQueued = true;
      setImmediate(() => this.sweep());
    }
  }

  /** Called by a closing account. */
  forget(account: BudgetAccount): void {
    this.accounts.delete(account);
  }

  /** Sheds the largest accounts while the budget is over its limit (also callable directly). */
  sweep(): void {
    this.sweepQueued = false;
    if (this.used <= this.limit) return;
    const target = Math.floor(this.limit * 0.75);
    const largest = [...this.accounts].filter((a) => a.held > 0).sort((a, b) => b.held - a.held);
    for (const account of largest) {
      if (this.used <= target) break;
      // Released here, whatever the connection does next: a shed account never counts again.
      account.close();
      this.shedCount += 1;
      account.shed();
    }
  }
}
