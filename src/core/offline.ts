import type { OfflineMessageRow, Store } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';
import { newId } from '../util/ids.ts';
import type { DomainEvents } from './events.ts';

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
 * Offline messages: stored durably before the sender is acknowledged (the promise
 * from `save` resolves only after the write), delivered exactly once by `claim`.
 */
export class OfflineMessages {
  constructor(
    private readonly store: Store,
    private readonly events: DomainEvents,
    private readonly clock: () => number = Date.now,
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
   * Takes the recipient's undelivered messages (only those `senderHandle` sent, when
   * given), oldest first; a second claim gets none of them.
   */
  async claim(recipientId: string, senderHandle?: string): Promise<OfflineMessage[]> {
    return (await this.store.claimOffline(recipientId, this.clock(), senderHandle)).map(toMessage);
  }

  /**
   * Takes the listed messages from the store (MSN's OIM DeleteMessages: the client has
   * shown them); ids that are not the recipient's undelivered messages are skipped.
   */
  async take(recipientId: string, ids: readonly string[]): Promise<OfflineMessage[]> {
    return (await this.store.claimOfflineIds(recipientId, ids, this.clock())).map(toMessage);
  }

  /** The recipient's undelivered messages, oldest first, left where they are. */
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
