import type {
  ConversationEvent,
  Conversations,
  LeaveReason,
  MessageContent,
  Participant,
} from './conversations.ts';

/**
 * One endpoint's place in a conversation, wherever the conversation lives: on this
 * node, or on another one reached through the bus (core/remote-conversations.ts).
 * What a participant that is not a switchboard connection uses (the XMPP bridge).
 */
export interface Membership {
  readonly conversationId: string;
  /** The node that hosts the conversation. */
  readonly hostNodeId: string;
  readonly participant: Participant;
  /** False once the endpoint left, or the conversation ended, or its host was lost. */
  readonly active: boolean;
  /** The other members, as this node last heard. */
  others(): Participant[];
  /** Sends to every other member; resolves to how many received it (0 when no longer a member). */
  send(content: MessageContent): Promise<number>;
  leave(reason?: LeaveReason): void;
}

/** How a membership hears the conversation; it may hear before `enter` has returned it. */
export type MembershipListener = (event: ConversationEvent, membership: Membership) => void;

/** A membership of a conversation this node hosts: the calls go straight to `Conversations`. */
export class LocalMembership implements Membership {
  constructor(
    private readonly conversations: Conversations,
    readonly hostNodeId: string,
    readonly conversationId: string,
    readonly participant: Participant,
  ) {}

  get active(): boolean {
    return this.conversations.get(this.conversationId)?.members.has(this.participant.endpointId) ?? false;
  }

  others(): Participant[] {
    return this.conversations.others(this.conversationId, this.participant.endpointId);
  }

  async send(content: MessageContent): Promise<number> {
    return this.conversations.send(this.conversationId, this.participant.endpointId, content);
  }

  leave(reason: LeaveReason = 'left'): void {
    this.conversations.leave(this.conversationId, this.participant.endpointId, reason);
  }
}
