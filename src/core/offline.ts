import type { OfflineMessageRow, Store } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';
import { newId, randomToken } from '../util/ids.ts';
import type { DomainEvents } from './events.ts';
import { OfflineBatch } from './offline-batch.ts';

/** A message kept for an account that could not take it when it was sent. */
export interface OfflineContent {
  /** `chat` and `normal` are XMPP's types; MSNP text messages are `chat`. */
  kind: 'chat' | 'normal';
  text: string;
  subject?: string;
  /** The sender's display name when it sent the message. */
  senderName?: string;
  /** The XMPP stanza as sent, so XMPP recipients get every extension; other protocols use the fields above. */
  xml?: string;
}

export interface OfflineMessage {
  id: string;
  senderHandle: string;
  sentAt: number;
  content: OfflineContent;
}

/** MSN's OIM limit was far smaller; this bounds what one message may cost the store. */
export const MAX_OFFLINE_TEXT_BYTES = 64 * 1024;

/**
 * How long a delivery holds its messages without renewing (it renews every third of
 * it): after a node dies (kill -9), how long its deliveries keep their messages from
 * the recipient's next sign-in on another node.
 */
export const OFFLINE_LEASE_MS = 30_000;

/**
 * Offline messages: stored durably before the sender is acknowledged (the promise
 * from `save` resolves only after the write), delivered at least once (issue 13): a
 * delivery leases them (`lease`) and they leave the queue only when the recipient
 * acknowledged them; a delivery that fails, or a node that dies, gives them back with
 * their id and time unchanged.
 */
export class OfflineMessages {
  constructor(
    private readonly store: Store,
    private readonly events: DomainEvents,
    private readonly clock: () => number = Date.now,
    /** This node (the bus's id): whose leases a restart or a node's death voids. */
    private readonly node = 'local',
    private readonly leaseMs = OFFLINE_LEASE_MS,
  ) {}

  async save(recipientId: string, senderHandle: string, content: OfflineContent): Promise<OfflineMessage> {
    if (
      Buffer.byteLength(content.text, 'utf8') + Buffer.byteLength(content.xml ?? '', 'utf8') >
      MAX_OFFLINE_TEXT_BYTES
    ) {
      throw new PapillonError('conflict', `offline messages are limited to ${MAX_OFFLINE_TEXT_BYTES} bytes`);
    }
    const message: OfflineMessage = { id: newId(), senderHandle, sentAt: this.clock(), content };
    await this.store.enqueueOffline({
      id: message.id,
      recipientId,
      senderHandle,
      payload: JSON.stringify(content),
      sentAt: message.sentAt,
    });
    await this.events.publish(recipientId, { type: 'offline-stored', messageId: message.id });
    return message;
  }

  /**
   * Leases the recipient's undelivered messages that no other delivery holds, oldest
   * first (only those `senderHandle` sent, and the first `limit`, when given): the
   * batch's `acknowledge` takes them out of the queue, `release` puts them back.
   */
  async lease(
    recipientId: string,
    options: { senderHandle?: string | undefined; limit?: number | undefined } = {},
  ): Promise<OfflineBatch> {
    const token = `${this.node}/${randomToken(12)}`;
    const now = this.clock();
    const rows = await this.store.leaseOffline(
      recipientId,
      { node: this.node, token, until: now + this.leaseMs },
      now,
      options,
    );
    const batch = {
      store: this.store,
      events: this.events,
      clock: this.clock,
      recipientId,
      token,
      leaseMs: this.leaseMs,
    };
    return new OfflineBatch(batch, rows.map(toMessage));
  }

  /**
   * Takes the listed messages from the store, leased or not (MSN's OIM DeleteMessages:
   * the client has shown them); ids that are not the recipient's undelivered messages
   * are skipped.
   */
  async take(recipientId: string, ids: readonly string[]): Promise<OfflineMessage[]> {
    return (await this.store.claimOfflineIds(recipientId, ids, this.clock())).map(toMessage);
  }

  /**
   * Deliveries that cannot have finished are void: `node`'s (at start-up this node's from
   * its previous run, with a configured node id; a node found dead), or with `undefined`
   * every node's (at start-up, when this server is alone: no cluster bus). Their
   * recipients' live sessions hear `offline-stored`. Returns how many recipients had
   * messages released.
   */
  async releaseNode(node: string | undefined): Promise<number> {
    const released = await this.store.releaseNodeOfflineLeases(node);
    for (const { recipientId, messageId } of released)
      await this.events.publish(recipientId, { type: 'offline-stored', messageId });
    return released.length;
  }

  /** The recipient's undelivered messages no delivery holds now, oldest first, left where they are. */
  async deliverable(recipientId: string): Promise<OfflineMessage[]> {
    const now = this.clock();
    return (await this.store.listOffline(recipientId))
      .filter((row) => row.leasedUntil === null || row.leasedUntil <= now)
      .map(toMessage);
  }

  /** The recipient's undelivered messages (being delivered or not), oldest first, left where they are. */
  async pending(recipientId: string): Promise<OfflineMessage[]> {
    return (await this.store.listOffline(recipientId)).map(toMessage);
  }

  count(recipientId: string): Promise<number> {
    return this.store.countOffline(recipientId);
  }
}

function toMessage(row: OfflineMessageRow): OfflineMessage {
  return {
    id: row.id,
    senderHandle: row.senderHandle,
    sentAt: row.sentAt,
    content: JSON.parse(row.payload) as OfflineContent,
  };
}
