import type { Bus, BusSubscription, JsonValue } from '../bus/types.ts';
import type { Membership, MembershipListener } from './conversation-membership.ts';
import {
  asWire,
  type ConversationWire,
  conversationChannel,
  fromWire,
  NODES_LOST_CHANNEL,
  toWire,
} from './conversation-wire.ts';
import type {
  ConversationEvent,
  Conversations,
  LeaveReason,
  MessageContent,
  Participant,
} from './conversations.ts';

export interface RemoteConversationOptions {
  /** A host that answers no request for this long is taken for lost (its members' conversations end). */
  requestTimeoutMs?: number;
  /**
   * A membership that heard nothing for this long ends (the host closes idle switchboards
   * after the same time and would have said so: this is for a host that died unheard).
   */
  idleMs?: number;
  clock?: () => number;
}

type Reply = Extract<ConversationWire, { op: 'joined' | 'refused' | 'sent' }>;

interface Pending {
  hostNodeId: string;
  /** Called from the bus handler itself, so a membership exists before the host's next event. */
  settle(reply: Reply | undefined): void;
  timer: NodeJS.Timeout;
}

/**
 * Conversations across nodes, both ways (wire protocol: core/conversation-wire.ts).
 * As a host, it lets members on other nodes into this node's conversations: each is a
 * member whose listener publishes the conversation's events to its node. As a member's
 * node, it holds `RemoteMembership`s: proxies that send requests to the host and hand
 * the host's events to the local listener. A host that is lost (`nodeLost`, a request
 * unanswered, or silence past the idle time) ends its conversations for local members
 * as if everyone else had left.
 */
export class RemoteConversations {
  private subscribed: Promise<BusSubscription[] | undefined> | undefined;
  private nextRequest = 1;
  private readonly pending = new Map<number, Pending>();
  /** Members here of conversations hosted elsewhere, by `host|conversation|endpoint`. */
  private readonly memberships = new Map<string, RemoteMembership>();
  /** Host side: members on other nodes, by node, as `conversation|endpoint` → [conversation, endpoint]. */
  private readonly remoteMembers = new Map<string, Map<string, [string, string]>>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Publishes not yet handed to the bus: `close` lets them go out before the bus closes. */
  private readonly sending = new Set<Promise<void>>();
  private readonly requestTimeoutMs: number;
  private readonly idleMs: number;
  readonly clock: () => number;

  constructor(
    private readonly bus: Bus,
    private readonly local: Conversations,
    options: RemoteConversationOptions = {},
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.idleMs = options.idleMs ?? 600_000;
    this.clock = options.clock ?? Date.now;
  }

  get nodeId(): string {
    return this.bus.nodeId;
  }

  /** Listens on this node's channel (once; again after a failure). A host must before it invites anyone. */
  async ready(): Promise<void> {
    const handler = (message: JsonValue) => this.receive(message);
    this.subscribed ??= Promise.all([
      this.bus.subscribe(conversationChannel(this.nodeId), handler),
      this.bus.subscribe(NODES_LOST_CHANNEL, handler),
    ])
      .then((subscriptions) => {
        // The host's own idle close would have told members first (plus one sweep of slack).
        const grace = Math.min(this.idleMs, 30_000);
        this.sweeper = setInterval(() => this.sweep(this.idleMs + grace), grace);
        this.sweeper.unref();
        return subscriptions;
      })
      .catch(() => {
        // A bus that is closing: this node cannot take remote members now; try again next time.
        this.subscribed = undefined;
        return undefined;
      });
    await this.subscribed;
  }

  /** Joins a conversation `hostNodeId` hosts; undefined when refused or the host did not answer. */
  async join(
    hostNodeId: string,
    conversationId: string,
    participant: Participant,
    listener: MembershipListener,
    unlessOnly?: string,
  ): Promise<Membership | undefined> {
    await this.ready();
    return new Promise((resolve) => {
      const request = this.request(hostNodeId, (reply) => {
        if (reply?.op !== 'joined') return resolve(undefined);
        const membership = new RemoteMembership(this, hostNodeId, conversationId, participant, listener);
        for (const other of reply.others) membership.members.set(other.endpointId, other);
        this.memberships.set(membership.key, membership);
        resolve(membership);
      });
      const message: ConversationWire = {
        op: 'join',
        node: this.nodeId,
        request,
        conversationId,
        participant,
      };
      if (unlessOnly !== undefined) message.unlessOnly = unlessOnly;
      this.publish(hostNodeId, message);
    });
  }

  /** A member's send: resolves to how many received it; ends the membership when the host says it is gone. */
  send(membership: RemoteMembership, content: MessageContent): Promise<number> {
    return new Promise((resolve) => {
      const request = this.request(membership.hostNodeId, (reply) => {
        if (reply?.op !== 'sent') return resolve(0);
        if (reply.gone) membership.end('closed');
        resolve(reply.delivered);
      });
      const { conversationId, hostNodeId } = membership;
      const endpointId = membership.participant.endpointId;
      this.publish(hostNodeId, {
        op: 'send',
        node: this.nodeId,
        request,
        conversationId,
        endpointId,
        content,
      });
    });
  }

  leave(membership: RemoteMembership, reason: LeaveReason): void {
    this.memberships.delete(membership.key);
    const { conversationId, hostNodeId } = membership;
    const endpointId = membership.participant.endpointId;
    this.publish(hostNodeId, { op: 'leave', node: this.nodeId, conversationId, endpointId, reason });
  }

  forget(membership: RemoteMembership): void {
    this.memberships.delete(membership.key);
  }

  /**
   * `nodeId` is gone (the bus found its heartbeat stopped): here and on every node that
   * takes part in conversations across nodes, its conversations end for their members,
   * and its members leave the conversations the others host.
   */
  nodeLost(nodeId: string): void {
    this.forgetNode(nodeId);
    this.bus
      .publish(NODES_LOST_CHANNEL, { op: 'lost', node: this.nodeId, lost: nodeId } satisfies ConversationWire)
      .catch(() => {});
  }

  private forgetNode(nodeId: string): void {
    if (nodeId === this.nodeId) return;
    for (const [request, pending] of this.pending) {
      if (pending.hostNodeId !== nodeId) continue;
      this.pending.delete(request);
      clearTimeout(pending.timer);
      pending.settle(undefined);
    }
    for (const membership of [...this.memberships.values()]) {
      if (membership.hostNodeId === nodeId) membership.end('closed');
    }
    const members = this.remoteMembers.get(nodeId);
    this.remoteMembers.delete(nodeId);
    for (const [conversationId, endpointId] of members?.values() ?? []) {
      this.local.leave(conversationId, endpointId, 'closed');
    }
  }

  /** Ends memberships that heard nothing for `silentMs`, telling the host in case it is still there. */
  sweep(silentMs: number): void {
    const before = this.clock() - silentMs;
    for (const membership of [...this.memberships.values()]) {
      if (membership.lastActivity >= before) continue;
      membership.end('idle');
      this.leave(membership, 'idle');
    }
  }

  /**
   * This node stops (a node that stops cleanly is not reported lost): it leaves the
   * conversations others host, and members elsewhere hear everyone in its own leave.
   */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const membership of [...this.memberships.values()]) membership.leave('closed');
    for (const [node, members] of this.remoteMembers) {
      for (const [conversationId, endpointId] of members.values()) {
        for (const participant of this.local.others(conversationId, endpointId)) {
          const event = { type: 'left', participant, reason: 'closed' } as const;
          this.publish(node, { op: 'event', node: this.nodeId, conversationId, endpointId, event });
        }
      }
    }
    this.remoteMembers.clear();
    await Promise.all(this.sending);
    for (const pending of this.pending.values()) clearTimeout(pending.timer);
    this.pending.clear();
    const subscriptions = await this.subscribed;
    this.subscribed = undefined;
    await Promise.all((subscriptions ?? []).map((s) => s.unsubscribe().catch(() => {})));
  }

  private request(hostNodeId: string, settle: (reply: Reply | undefined) => void): number {
    const request = this.nextRequest++;
    const timer = setTimeout(() => {
      if (!this.pending.delete(request)) return;
      settle(undefined);
      // A live host answers every request, even for a conversation it no longer has.
      this.forgetNode(hostNodeId);
    }, this.requestTimeoutMs);
    timer.unref();
    this.pending.set(request, { hostNodeId, settle, timer });
    return request;
  }

  private publish(nodeId: string, message: ConversationWire): void {
    // A failed publish (the bus is closing) is an unanswered request: its timer settles it.
    const sent = this.bus
      .publish(conversationChannel(nodeId), message as unknown as JsonValue)
      .catch(() => {});
    this.sending.add(sent);
    void sent.finally(() => this.sending.delete(sent));
  }

  private receive(message: JsonValue): void {
    const wire = asWire(message);
    if (!wire) return;
    switch (wire.op) {
      case 'join':
        this.hostJoin(wire);
        break;
      case 'send': {
        const { conversationId, endpointId, content } = wire;
        const member = this.local.get(conversationId)?.members.has(endpointId) ?? false;
        const delivered = member ? this.local.send(conversationId, endpointId, content) : 0;
        const gone = !member;
        this.publish(wire.node, { op: 'sent', node: this.nodeId, request: wire.request, delivered, gone });
        break;
      }
      case 'leave':
        this.remoteMembers.get(wire.node)?.delete(`${wire.conversationId}|${wire.endpointId}`);
        this.local.leave(wire.conversationId, wire.endpointId, wire.reason);
        break;
      case 'event': {
        const key = membershipKey(wire.node, wire.conversationId, wire.endpointId);
        this.memberships.get(key)?.deliver(fromWire(wire.event));
        break;
      }
      case 'lost':
        this.forgetNode(wire.lost);
        break;
      default: {
        const pending = this.pending.get(wire.request);
        if (!pending || pending.hostNodeId !== wire.node) return;
        this.pending.delete(wire.request);
        clearTimeout(pending.timer);
        pending.settle(wire);
      }
    }
  }

  /** Host side: a member on another node joins; its listener forwards the conversation's events there. */
  private hostJoin(wire: Extract<ConversationWire, { op: 'join' }>): void {
    const { node, request, conversationId, participant, unlessOnly } = wire;
    const endpointId = participant.endpointId;
    if (!this.local.admits(conversationId, endpointId, unlessOnly)) {
      this.publish(node, { op: 'refused', node: this.nodeId, request });
      return;
    }
    // The answer goes out before the join: what the others do on hearing of it follows it.
    const others = this.local.others(conversationId, endpointId);
    this.publish(node, { op: 'joined', node: this.nodeId, request, others });
    let byNode = this.remoteMembers.get(node);
    if (!byNode) {
      byNode = new Map();
      this.remoteMembers.set(node, byNode);
    }
    byNode.set(`${conversationId}|${endpointId}`, [conversationId, endpointId]);
    this.local.join(conversationId, participant, (event) => {
      const forward = {
        op: 'event',
        node: this.nodeId,
        conversationId,
        endpointId,
        event: toWire(event),
      } as const;
      this.publish(node, forward);
    });
  }
}

function membershipKey(hostNodeId: string, conversationId: string, endpointId: string): string {
  return `${hostNodeId}|${conversationId}|${endpointId}`;
}

/** A member on this node of a conversation another node hosts. */
export class RemoteMembership implements Membership {
  active = true;
  lastActivity: number;
  /** The other members, kept from the join answer and the host's joined/left events. */
  readonly members = new Map<string, Participant>();

  constructor(
    private readonly remote: RemoteConversations,
    readonly hostNodeId: string,
    readonly conversationId: string,
    readonly participant: Participant,
    private readonly listener: MembershipListener,
  ) {
    this.lastActivity = remote.clock();
  }

  get key(): string {
    return membershipKey(this.hostNodeId, this.conversationId, this.participant.endpointId);
  }

  others(): Participant[] {
    return [...this.members.values()];
  }

  async send(content: MessageContent): Promise<number> {
    if (!this.active) return 0;
    this.lastActivity = this.remote.clock();
    return this.remote.send(this, content);
  }

  leave(reason: LeaveReason = 'left'): void {
    if (!this.active) return;
    this.active = false;
    this.remote.leave(this, reason);
  }

  deliver(event: ConversationEvent): void {
    if (!this.active) return;
    this.lastActivity = this.remote.clock();
    if (event.type === 'joined') this.members.set(event.participant.endpointId, event.participant);
    if (event.type === 'left') this.members.delete(event.participant.endpointId);
    this.listener(event, this);
  }

  /** The conversation is over here (host lost, or idle): the listener hears everyone else leave. */
  end(reason: LeaveReason): void {
    if (!this.active) return;
    this.active = false;
    this.remote.forget(this);
    for (const participant of this.others()) {
      this.members.delete(participant.endpointId);
      this.listener({ type: 'left', participant, reason }, this);
    }
  }
}
