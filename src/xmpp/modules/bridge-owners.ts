import type { Bus, BusSubscription, JsonValue } from '../../bus/types.ts';
import type { MessageContent } from '../../core/conversations.ts';
import type { Logger } from '../../server/logger.ts';

/**
 * How long a node owns a pair without a word about it; the owner renews it as its
 * conversation carries messages, and gives it up when the conversation ends.
 */
export const PAIR_OWNERSHIP_MS = 60 * 60_000;
/** An owner that does not answer a forwarded message by then is taken for gone. */
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

/** A message from an XMPP resource on one node, for the pair's conversation on the node that owns it. */
export interface ForwardedSend {
  senderId: string;
  recipientId: string;
  content: MessageContent;
  resource?: string;
}

type Wire =
  | { op: 'send'; node: string; request: number; send: ForwardedSend }
  | { op: 'sent'; node: string; request: number; ok: boolean }
  | { op: 'not-owner'; node: string; request: number };

/** The owner's answer: whether the message reached the MSN side, or why it was not handled there. */
export type ForwardResult = boolean | 'not-owner' | 'no-answer';

/** What the owner does with a forwarded message (the bridge's own send), or that it does not own the pair. */
export type ForwardHandler = (send: ForwardedSend) => Promise<boolean | 'not-owner'>;

function channelOf(nodeId: string): string {
  return `xmpp-bridge:${nodeId}`;
}

/**
 * Issue 11: one conversation per XMPP account and MSN contact across the cluster. An
 * XMPP account may have resources on several nodes, and each node has its own bridge
 * (conversation-bridge.ts); without agreement, each would open its own switchboard for
 * the same pair, and the MSN user would see two windows for one chat. So one node owns
 * each pair (a `Bus.claim` on `xmpp-pair:<xmppAccountId>|<otherAccountId>`): the
 * node that opened the pair's conversation, or whose bridge joined the one the MSN user
 * opened. The other nodes forward what their resources write to it (`xmpp-bridge:<node>`
 * channel), and it answers whether the message reached the MSN side; what the MSN side
 * says reaches every resource from the owner, as from one node. An owner that does not
 * answer (its node died) is replaced by the node that asked.
 */
export class BridgeOwners {
  private subscribed: Promise<BusSubscription | undefined> | undefined;
  private nextRequest = 1;
  private readonly pending = new Map<number, { owner: string; settle(result: ForwardResult): void }>();

  constructor(
    private readonly bus: Bus,
    private readonly handle: ForwardHandler,
    private readonly log: Logger,
    private readonly requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {}

  get nodeId(): string {
    return this.bus.nodeId;
  }

  /**
   * The node owning `pair` (`<xmppAccountId>|<otherAccountId>`) after this node asked
   * for it: this node if nobody had it; `replace` takes it from that owner (one gone),
   * or from anyone (`true`: this node's bridge just joined the pair's newest conversation).
   */
  async claim(pair: string, replace?: string | true): Promise<string> {
    // Listening before owning: other nodes forward to the owner as soon as it owns.
    await this.ready();
    return this.bus.claim(`xmpp-pair:${pair}`, this.nodeId, PAIR_OWNERSHIP_MS, replace);
  }

  /** The pair's conversation here ended: the next message from any node opens a new one. */
  release(pair: string): void {
    this.bus.release(`xmpp-pair:${pair}`, this.nodeId).catch(() => {});
  }

  /** Hands a message to the pair's owner; `no-answer` when it did not answer in time. */
  forward(owner: string, send: ForwardedSend): Promise<ForwardResult> {
    return new Promise((resolve) => {
      const request = this.nextRequest++;
      const timer = setTimeout(() => {
        if (this.pending.delete(request)) resolve('no-answer');
      }, this.requestTimeoutMs);
      timer.unref();
      this.pending.set(request, {
        owner,
        settle: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      });
      this.publish(owner, { op: 'send', node: this.nodeId, request, send });
    });
  }

  /** Stops listening (server shutdown); forwards still waiting get `no-answer`. */
  async close(): Promise<void> {
    for (const pending of this.pending.values()) pending.settle('no-answer');
    this.pending.clear();
    const subscription = await this.subscribed;
    this.subscribed = undefined;
    await subscription?.unsubscribe().catch(() => {});
  }

  private ready(): Promise<BusSubscription | undefined> {
    this.subscribed ??= this.bus
      .subscribe(channelOf(this.nodeId), (message) => this.receive(message))
      .catch(() => {
        this.subscribed = undefined;
        return undefined;
      });
    return this.subscribed;
  }

  private publish(nodeId: string, message: Wire): void {
    // A failed publish is an unanswered request: its timer settles it.
    this.bus.publish(channelOf(nodeId), message as unknown as JsonValue).catch(() => {});
  }

  private receive(message: JsonValue): void {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return;
    const wire = message as unknown as Wire;
    if (typeof wire.node !== 'string' || typeof wire.request !== 'number') return;
    if (wire.op === 'send') {
      const send = wire.send;
      if (typeof send?.senderId !== 'string' || typeof send.recipientId !== 'string') return;
      const { node, request } = wire;
      this.handle(send)
        .catch((err: unknown) => {
          this.log.error({ err }, 'a message forwarded to this node for an MSN conversation failed');
          return false;
        })
        .then((result) => {
          const answer: Wire =
            result === 'not-owner'
              ? { op: 'not-owner', node: this.nodeId, request }
              : { op: 'sent', node: this.nodeId, request, ok: result };
          this.publish(node, answer);
        });
      return;
    }
    const pending = this.pending.get(wire.request);
    if (!pending || pending.owner !== wire.node) return;
    this.pending.delete(wire.request);
    pending.settle(wire.op === 'sent' ? wire.ok === true : 'not-owner');
  }
}
