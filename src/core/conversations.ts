import type { AccountRow, Store } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';
import { normalizeHandle } from '../util/handle.ts';
import type { MessageArchive } from './archive.ts';
import type { DomainEvents } from './events.ts';
import { type CoreMetrics, NO_METRICS, protocolOf } from './metrics.ts';
import type { Presence } from './presence.ts';
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

export type ConversationEvent =
  | { type: 'joined'; participant: Participant }
  | { type: 'left'; participant: Participant; reason: 'left' | 'idle' | 'closed' }
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
 * the events between them. Membership lives in this process for now; when the Redis
 * bus lands, members on other nodes are reached through it.
 */
export class Conversations {
  private readonly conversations = new Map<string, Conversation>();
  // Numeric ids: MSN clients show the switchboard session id as a number (RNG, CAL RINGING).
  private nextId = 10_000_000 + Math.floor(Math.random() * 80_000_000);

  constructor(
    private readonly store: Store,
    private readonly events: DomainEvents,
    private readonly presence: Presence,
    private readonly visibility: Visibility,
    private readonly clock: () => number = Date.now,
    private readonly archive?: MessageArchive,
    private readonly metrics: CoreMetrics = NO_METRICS,
  ) {}

  /** Conversations (switchboards) open on this node. */
  get openCount(): number {
    return this.conversations.size;
  }

  create(): Conversation {
    const id = String(this.nextId++);
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
    await this.events.publish(invitee.id, {
      type: 'conversation-invite',
      conversationId,
      inviterHandle: inviter.handle,
      inviterName: inviter.displayName,
    });
    return 'ringing';
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

  leave(conversationId: string, endpointId: string, reason: 'left' | 'idle' | 'closed' = 'left'): void {
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
