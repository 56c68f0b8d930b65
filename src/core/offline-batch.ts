import type { Store } from '../store/types.ts';
import type { DomainEvents } from './events.ts';
import type { OfflineMessage } from './offline.ts';

/**
 * Where a protocol has no acknowledgement: how long the connection must stay up after
 * the messages were flushed for them to count as received. A TCP reset within it loses
 * what sat in either side's buffers; past it, the client had the time to read them.
 */
export const OFFLINE_GRACE_MS = 2_000;

/** How a connection that carried offline messages ended: closed by the client itself, or dropped. */
export type ConnectionEnd = 'clean' | 'dropped';

export interface OfflineBatchOptions {
  store: Store;
  events: DomainEvents;
  clock: () => number;
  recipientId: string;
  /** The store's lease token for these messages. */
  token: string;
  leaseMs: number;
}

/**
 * Offline messages one delivery leased (issue 13: delivered at least once). They stay
 * stored, renewed while the delivery lasts, until the recipient acknowledged them
 * (`acknowledge`) or they go back to the queue (`release`) with their id and original
 * time, to be delivered again. A node that dies leaves its lease to run out.
 */
export class OfflineBatch {
  /** Leased and neither acknowledged nor released yet. */
  private readonly open: Set<string>;
  private renewal: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: OfflineBatchOptions,
    /** In storage order. */
    readonly messages: readonly OfflineMessage[],
  ) {
    this.open = new Set(messages.map((m) => m.id));
    if (this.open.size > 0) {
      this.renewal = setInterval(() => void this.renew(), Math.max(1, Math.floor(options.leaseMs / 3)));
      this.renewal.unref();
    }
  }

  /** True once every message was acknowledged or released. */
  get settled(): boolean {
    return this.open.size === 0;
  }

  /** The recipient has these (default: all still open): they leave the queue for good. */
  async acknowledge(ids: readonly string[] = [...this.open]): Promise<void> {
    const mine = this.take(ids);
    if (mine.length === 0) return;
    const { store, recipientId, clock } = this.options;
    await store.claimOfflineIds(recipientId, mine, clock());
  }

  /**
   * These (default: all still open) did not reach the recipient: deliverable again. The
   * recipient's live sessions hear `offline-stored`, as for a new message, so one that is
   * still signed in (another resource, another protocol) gets them now.
   */
  async release(ids: readonly string[] = [...this.open]): Promise<void> {
    const mine = this.take(ids);
    if (mine.length === 0) return;
    const { store, events, recipientId, token } = this.options;
    for (const { messageId } of await store.releaseOfflineLease(token, mine))
      await events.publish(recipientId, { type: 'offline-stored', messageId });
  }

  /**
   * For a connection that cannot acknowledge: once the messages were `flushed` (written
   * out of this process), they count as received when the connection then stays up for
   * `graceMs` or is closed by the client; if it drops, or ends before they were flushed,
   * they are released. Resolves when settled.
   */
  async settleByConnection(
    flushed: Promise<unknown>,
    ended: Promise<ConnectionEnd>,
    graceMs = OFFLINE_GRACE_MS,
  ): Promise<void> {
    const first = await Promise.race([flushed.then(() => 'flushed' as const), ended]);
    if (first !== 'flushed') return this.release();
    let timer: NodeJS.Timeout | undefined;
    const stayedUp = new Promise<'up'>((resolve) => {
      timer = setTimeout(() => resolve('up'), graceMs);
      timer.unref();
    });
    const outcome = await Promise.race([stayedUp, ended]);
    clearTimeout(timer);
    return outcome === 'dropped' ? this.release() : this.acknowledge();
  }

  /** The listed ids still open, now closed; the renewal stops with the last one. */
  private take(ids: readonly string[]): string[] {
    const mine = ids.filter((id) => this.open.delete(id));
    if (this.open.size === 0 && this.renewal) {
      clearInterval(this.renewal);
      this.renewal = undefined;
    }
    return mine;
  }

  /** Keeps the lease while the delivery goes on (a slow client, a session waiting to be resumed). */
  private async renew(): Promise<void> {
    const { store, token, clock, leaseMs } = this.options;
    // A failed renewal only risks a duplicate: the lease runs out and another sign-in takes them.
    await store.renewOfflineLease(token, clock() + leaseMs).catch(() => {});
  }
}
