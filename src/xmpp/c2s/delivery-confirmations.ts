import type { BusSubscription, JsonValue } from '../../bus/types.ts';
import type { Core } from '../../core/core.ts';
import type { Logger } from '../../server/logger.ts';

/** How often an unconfirmed message looks again whether its recipient's node still holds it. */
export const CONFIRM_TIMEOUT_MS = 3_000;
/** However busy the node looks, a message is kept offline once this long unconfirmed. */
const GIVE_UP_MS = 120_000;

/** Which node asked, and which of its messages this is (RoutedStanza `confirm`). */
export interface ConfirmRequest {
  node: string;
  seq: number;
}

const ackChannel = (nodeId: string) => `xmpp-ack:${nodeId}`;

/**
 * Confirmed delivery of messages to resources on other nodes (a cluster): the node that
 * writes the message to a session answers on the asking node's channel; a message nobody
 * confirms in time went to a node that died before the registry dropped its endpoints,
 * and is kept offline instead. So a message the server accepted is delivered or stored
 * (issue 11: nothing lost when a node dies); at worst it is both, when an answer itself
 * is lost. Messages to this node's own sessions need no answer.
 */
export class DeliveryConfirmations {
  #seq = 0;
  readonly #waiting = new Map<number, { timer: NodeJS.Timeout; unconfirmed: () => Promise<void> }>();
  #subscription: Promise<BusSubscription> | undefined;

  constructor(
    private readonly core: Core,
    private readonly logger: Logger,
    private readonly timeoutMs = CONFIRM_TIMEOUT_MS,
  ) {}

  /**
   * A request to put on a routed message. Unconfirmed for a while, it asks `stillThere`
   * (are the recipient's sessions still in the registry?): yes, their node is alive but
   * busy, and the wait goes on (keeping it now would deliver it twice); no, their node
   * died or they left, and `unconfirmed` keeps it.
   */
  async expect(
    unconfirmed: () => Promise<void>,
    stillThere: () => Promise<boolean>,
  ): Promise<ConfirmRequest> {
    this.#subscription ??= this.core.bus.subscribe(ackChannel(this.core.bus.nodeId), (message) =>
      this.#confirmed((message as { seq: number }).seq),
    );
    await this.#subscription;
    const seq = ++this.#seq;
    const giveUpAt = Date.now() + GIVE_UP_MS;
    const check = async () => {
      const waiting = this.#waiting.get(seq);
      if (waiting === undefined) return;
      const wait = Date.now() < giveUpAt && (await stillThere().catch(() => false));
      if (wait && this.#waiting.get(seq) === waiting) {
        waiting.timer.refresh();
        return;
      }
      this.logger.warn({ seq }, 'a message routed to another node was not confirmed: kept offline');
      await this.#keep(seq);
    };
    const timer = setTimeout(() => void check(), this.timeoutMs);
    timer.unref();
    this.#waiting.set(seq, { timer, unconfirmed });
    return { node: this.core.bus.nodeId, seq };
  }

  #confirmed(seq: number): void {
    const waiting = this.#waiting.get(seq);
    if (waiting === undefined) return; // confirmed already, by another session
    clearTimeout(waiting.timer);
    this.#waiting.delete(seq);
  }

  async #keep(seq: number): Promise<void> {
    const waiting = this.#waiting.get(seq);
    if (waiting === undefined) return;
    this.#waiting.delete(seq);
    clearTimeout(waiting.timer);
    await waiting
      .unconfirmed()
      .catch((err) => this.logger.error({ err }, 'keeping a message offline failed'));
  }

  /** Stops listening; messages still unconfirmed are kept offline now rather than forgotten. */
  async close(): Promise<void> {
    await Promise.all([...this.#waiting.keys()].map((seq) => this.#keep(seq)));
    await (await this.#subscription)?.unsubscribe();
  }
}

/** The receiving side: a session wrote a message that asked to be confirmed. */
export function confirmDelivery(core: Core, request: ConfirmRequest): void {
  core.bus.publish(ackChannel(request.node), { seq: request.seq } as JsonValue).catch(() => {
    // The asking node keeps the message offline when no answer comes.
  });
}
