import { randomInt } from 'node:crypto';
import type { Bus } from '../bus/types.ts';
import type { AccountRow, Store } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';
import { normalizeHandle } from '../util/handle.ts';
import type { MessageArchive } from './archive.ts';
import { inviteEvent, type SwitchboardAccess } from './conversation-invite.ts';
import { LocalMembership, type Membership, type MembershipListener } from './conversation-membership.ts';
import type { DomainEvents } from './events.ts';
import { type CoreMetrics, NO_METRICS, protocolOf } from './metrics.ts';
import type { Presence } from './presence.ts';
import { type RemoteConversationOptions, RemoteConversations } from './remote-conversations.ts';
import type { Visibility } from './visibility.ts';

/** One endpoint taking part in a conversation. */
export interface Participant {
  accountId: string;
  handle: string;
  displayName: string;
  /** The endpoint (connection) that joined; one account may join from several. */
  endpointId: string;
  /** Protocol-specific capabilities to show the others (e.g. the MSNP client id). */
  capabilities: Record<string, string>;
  /**
   * What this participant says is archived already, by whoever speaks for it (the XMPP
   * bridge archives where it routes; a replay of offline messages was archived when sent).
   */
  archived?: boolean;
}

/**
 * What a message means, in words every protocol has. Text, typing and nudges cross
 * between protocols; anything else (invitations, P2P data, custom emoticons) only
 * means something to the protocol that sent it.
 */
export type MessageContent =
  | { kind: 'text'; text: string }
  | { kind: 'typing' }
  | { kind: 'nudge' }
  | { kind: 'other' };

/** Left by itself, dropped for idling (MSN `BYE handle 1`), or the connection or its node went away. */
export type LeaveReason = 'left' | 'idle' | 'closed';

export type ConversationEvent =
  | { type: 'joined'; participant: Participant }
  | { type: 'left'; participant: Participant; reason: LeaveReason }
  /**
   * A message: its meaning, and — when an MSNP client sent it — the bytes exactly as
   * sent, so MSNP participants get them unchanged (P2P, invitations, formatting).
   */
  | {
      type: 'message';
      from: Participant;
      content: MessageContent;
      payload?: Buffer;
      /** The id the message has in both parties' archives (core/archive.ts), when archived. */
      archiveId?: string;
    };

/** How a conversation reaches a participant's connection. */
export type ConversationListener = (event: ConversationEvent) => void;

interface Member {
  participant: Participant;
  listener: ConversationListener;
}

export interface Conversation {
  readonly id: string;
  lastActivity: number;
  members: Map<string, Member>;
  /** Account ids invited and not yet joined. */
  invited: Set<string>;
}

export type InviteResult = 'ringing' | 'already-there';

/**
 * Conversations (MSNP switchboards; XMPP chats bridge into them): participants and
 * the events between them. A conversation lives on the node that created it (MSN
 * clients connect to that node's switchboard); members on other nodes reach it through
 * the bus (core/remote-conversations.ts), and `enter` joins one wherever it lives.
 */
export class Conversations {
  private readonly conversations = new Map<string, Conversation>();
  private readonly remote: RemoteConversations | undefined;
  private switchboard: SwitchboardAccess | undefined;

  constructor(
    private readonly store: Store,
    private readonly events: DomainEvents,
    private readonly presence: Presence,
    private readonly visibility: Visibility,
    private readonly clock: () => number = Date.now,
    private readonly archive?: MessageArchive,
    private readonly metrics: CoreMetrics = NO_METRICS,
    private readonly bus?: Bus,
    remoteOptions: RemoteConversationOptions = {},
  ) {
    if (bus) this.remote = new RemoteConversations(bus, this, { clock, ...remoteOptions });
  }

  /** The node hosting this node's conversations (`local` without a bus). */
  get nodeId(): string {
    return this.bus?.nodeId ?? 'local';
  }

  /** Conversations (switchboards) open on this node. */
  get openCount(): number {
    return this.conversations.size;
  }

  create(): Conversation {
    // Numeric ids: MSN clients show the switchboard session id as a number (RNG, CAL
    // RINGING). Random, so nodes need not agree on ranges; an id that another node also
    // uses is harmless, as every node names a remote conversation with its host's id.
    let id: string;
    do id = String(randomInt(100_000_000, 1_000_000_000));
    while (this.conversations.has(id));
    // Members on other nodes reach it through the bus: listen for them from now on.
    void this.remote?.ready();
    const now = this.clock();
    const conversation: Conversation = {
      id,
      lastActivity: now,
      members: new Map(),
      invited: new Set(),
    };
    this.conversations.set(id, conversation);
    return conversation;
  }

  get(id: string): Conversation | undefined {
    return this.conversations.get(id);
  }

  /**
   * Rings `inviteeHandle` on behalf of `inviter`. Refused with `no-such-account` for an
   * unknown handle and `not-authorized` when the invitee is offline, invisible, or
   * blocks the inviter (MSN gives one answer, 217, for all three so a block is not revealed).
   */
  async invite(conversationId: string, inviter: Participant, inviteeHandle: string): Promise<InviteResult> {
    const conversation = this.require(conversationId);
    const invitee: AccountRow | undefined = await this.store.getAccountByHandle(
      normalizeHandle(inviteeHandle),
    );
    if (!invitee) throw new PapillonError('no-such-account', `no account named ${inviteeHandle}`);
    if ([...conversation.members.values()].some((m) => m.participant.accountId === invitee.id))
      return 'already-there';
    if (conversation.invited.has(invitee.id)) return 'already-there';
    const [status, allowed] = await Promise.all([
      this.presence.current(invitee.id),
      this.visibility.canSee(inviter.accountId, invitee.id),
    ]);
    if (status.status === 'offline' || status.status === 'invisible' || !allowed) {
      throw new PapillonError('not-authorized', `${invitee.handle} cannot be reached`);
    }
    conversation.invited.add(invitee.id);
    await this.ring(conversationId, inviter, invitee.id);
    return 'ringing';
  }

  /** Registers how MSN clients signed in on other nodes answer this node's invitations. */
  useSwitchboard(access: SwitchboardAccess): void {
    this.switchboard = access;
  }

  /**
   * Tells `inviteeId`'s endpoints (but `exceptEndpointId`) that `inviter` invites them into
   * this node's conversation: where it lives, and for MSN clients signed in on other
   * nodes the switchboard to answer at and the cookie this node issued each of them.
   */
  async ring(
    conversationId: string,
    inviter: Participant,
    inviteeId: string,
    exceptEndpointId?: string,
  ): Promise<void> {
    // Members on other nodes answer through the bus: this node listens before anyone is rung.
    await this.remote?.ready();
    const invitation = { conversationId, inviter, inviteeId, hostNodeId: this.nodeId, exceptEndpointId };
    const event = await inviteEvent(invitation, this.switchboard, (id) => this.presence.endpoints(id));
    await this.events.publish(inviteeId, event);
  }

  /**
   * Joins `participant` to a conversation wherever it lives (`hostNodeId` this node or
   * absent: here). Undefined when the conversation is gone, the endpoint is in it
   * already, or every member's endpoint id starts with `unlessOnly`.
   */
  async enter(
    conversationId: string,
    hostNodeId: string | undefined,
    participant: Participant,
    listener: MembershipListener,
    unlessOnly?: string,
  ): Promise<Membership | undefined> {
    if (hostNodeId !== undefined && hostNodeId !== this.nodeId) {
      return this.remote?.join(hostNodeId, conversationId, participant, listener, unlessOnly);
    }
    if (!this.admits(conversationId, participant.endpointId, unlessOnly)) return undefined;
    const membership = new LocalMembership(this, this.nodeId, conversationId, participant);
    this.join(conversationId, participant, (event) => listener(event, membership));
    return membership;
  }

  /** Whether `endpointId` may join (see `enter`): the conversation is here and the endpoint is not in it. */
  admits(conversationId: string, endpointId: string, unlessOnly?: string): boolean {
    const conversation = this.conversations.get(conversationId);
    if (!conversation || conversation.members.has(endpointId)) return false;
    if (unlessOnly === undefined) return true;
    return [...conversation.members.keys()].some((id) => !id.startsWith(unlessOnly));
  }

  /** Another node is gone: its conversations end for members here, its members leave ours. */
  nodeLost(nodeId: string): void {
    this.remote?.nodeLost(nodeId);
  }

  /** Stops listening for other nodes (server shutdown, before the bus closes). */
  async close(): Promise<void> {
    await this.remote?.close();
  }

  /** Adds an endpoint; returns the participants already there. The others are told. */
  join(conversationId: string, participant: Participant, listener: ConversationListener): Participant[] {
    const conversation = this.require(conversationId);
    const others = [...conversation.members.values()].map((m) => m.participant);
    conversation.invited.delete(participant.accountId);
    conversation.members.set(participant.endpointId, { participant, listener });
    conversation.lastActivity = this.clock();
    this.broadcast(conversation, participant.endpointId, { type: 'joined', participant });
    return others;
  }

  leave(conversationId: string, endpointId: string, reason: LeaveReason = 'left'): void {
    const conversation = this.conversations.get(conversationId);
    const member = conversation?.members.get(endpointId);
    if (!conversation || !member) return;
    conversation.members.delete(endpointId);
    this.broadcast(conversation, endpointId, { type: 'left', participant: member.participant, reason });
    if (conversation.members.size === 0) this.conversations.delete(conversationId);
  }

  /** Delivers a message to every other member; returns how many received it. */
  send(conversationId: string, fromEndpointId: string, content: MessageContent, payload?: Buffer): number {
    const conversation = this.conversations.get(conversationId);
    const from = conversation?.members.get(fromEndpointId);
    if (!conversation || !from) return 0;
    conversation.lastActivity = this.clock();
    const event: ConversationEvent = { type: 'message', from: from.participant, content };
    if (payload) event.payload = payload;
    if (content.kind === 'text' && !from.participant.archived) {
      const archiveId = this.archiveOneToOne(conversation, from.participant, content.text);
      if (archiveId !== undefined) event.archiveId = archiveId;
    }
    const delivered = this.broadcast(conversation, fromEndpointId, event);
    if (delivered > 0 && (content.kind === 'text' || content.kind === 'nudge'))
      this.count(conversation, from);
    return delivered;
  }

  /** Counts a message once per receiving endpoint, by sender and recipient protocol. */
  private count(conversation: Conversation, from: Member): void {
    const source = protocolOf(from.participant.endpointId);
    if (!source) return;
    for (const [endpointId] of conversation.members) {
      if (endpointId === from.participant.endpointId) continue;
      const target = protocolOf(endpointId);
      if (target) this.metrics.messageRouted(source, target);
    }
  }

  /** Archives text between exactly two accounts (one-to-one, however many endpoints each has there). */
  private archiveOneToOne(conversation: Conversation, from: Participant, text: string): string | undefined {
    if (!this.archive?.enabled) return undefined;
    let other: Participant | undefined;
    for (const { participant } of conversation.members.values()) {
      if (participant.accountId === from.accountId) continue;
      if (other && other.accountId !== participant.accountId) return undefined;
      other = participant;
    }
    if (!other) return undefined;
    return this.archive.record(
      { id: from.accountId, handle: from.handle },
      { id: other.accountId, handle: other.handle },
      text,
    );
  }

  /** The members of a conversation other than `endpointId`. */
  others(conversationId: string, endpointId: string): Participant[] {
    const conversation = this.conversations.get(conversationId);
    if (!conversation) return [];
    return [...conversation.members.values()]
      .filter((m) => m.participant.endpointId !== endpointId)
      .map((m) => m.participant);
  }

  /** Conversations with no message or join since `before` (for idle closing). */
  idleSince(before: number): Conversation[] {
    return [...this.conversations.values()].filter((c) => c.lastActivity < before);
  }

  private broadcast(conversation: Conversation, exceptEndpointId: string, event: ConversationEvent): number {
    let delivered = 0;
    for (const [endpointId, member] of conversation.members) {
      if (endpointId === exceptEndpointId) continue;
      member.listener(event);
      delivered++;
    }
    return delivered;
  }

  private require(id: string): Conversation {
    const conversation = this.conversations.get(id);
    if (!conversation) throw new PapillonError('conflict', 'no such conversation');
    return conversation;
  }
}
