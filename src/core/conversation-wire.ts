import type { JsonValue } from '../bus/types.ts';
import type { ConversationEvent, LeaveReason, MessageContent, Participant } from './conversations.ts';

/**
 * What nodes say to each other about a conversation that lives on one of them
 * (ARCHITECTURE "Storage and scale": a switchboard lives on one node; participants on
 * other nodes reach it through the bus). Each node listens on one channel,
 * `conversations:<nodeId>`, for both roles: requests from members on other nodes to the
 * conversations it hosts, and the hosts' replies and events for its own members. The
 * bus keeps publish order per channel, so a member hears the host's answer to its join
 * before any event of the conversation.
 */
export function conversationChannel(nodeId: string): string {
  return `conversations:${nodeId}`;
}

/**
 * Every node taking part in conversations across nodes listens here for nodes found
 * dead: the bus tells only the node that noticed (Bus.onEndpointsLost), and that node
 * passes it on.
 */
export const NODES_LOST_CHANNEL = 'conversations:nodes-lost';

/** A conversation event as JSON: a message's bytes travel as base64. */
export type WireEvent =
  | { type: 'joined'; participant: Participant }
  | { type: 'left'; participant: Participant; reason: LeaveReason }
  | { type: 'message'; from: Participant; content: MessageContent; payload?: string; archiveId?: string };

export type ConversationWire =
  /** Member → host: join `conversationId`; refused when `unlessOnly` prefixes every member's endpoint id. */
  | {
      op: 'join';
      node: string;
      request: number;
      conversationId: string;
      participant: Participant;
      unlessOnly?: string;
    }
  /** Member → host: a message from the member's endpoint; answered with `sent`. */
  | {
      op: 'send';
      node: string;
      request: number;
      conversationId: string;
      endpointId: string;
      content: MessageContent;
    }
  /** Member → host: the member's endpoint leaves. */
  | { op: 'leave'; node: string; conversationId: string; endpointId: string; reason: LeaveReason }
  /** Host → member's node: joined, with the members already there. */
  | { op: 'joined'; node: string; request: number; others: Participant[] }
  /** Host → member's node: not joined (no such conversation, already there, or `unlessOnly`). */
  | { op: 'refused'; node: string; request: number }
  /** Host → member's node: how many received a `send`; `gone`: the member is not in the conversation. */
  | { op: 'sent'; node: string; request: number; delivered: number; gone: boolean }
  /** Host → member's node: an event of the conversation for one of that node's members. */
  | { op: 'event'; node: string; conversationId: string; endpointId: string; event: WireEvent }
  /** Any node → all (NODES_LOST_CHANNEL): node `lost` is gone. */
  | { op: 'lost'; node: string; lost: string };

export function toWire(event: ConversationEvent): WireEvent {
  if (event.type !== 'message') return event;
  const { payload, ...rest } = event;
  return payload ? { ...rest, payload: payload.toString('base64') } : rest;
}

export function fromWire(event: WireEvent): ConversationEvent {
  if (event.type !== 'message') return event;
  const { payload, ...rest } = event;
  return payload === undefined ? rest : { ...rest, payload: Buffer.from(payload, 'base64') };
}

const OPS = new Set(['join', 'send', 'leave', 'joined', 'refused', 'sent', 'event', 'lost']);

/** A bus message that has the shape of a `ConversationWire` (it came from another node: checked, not trusted). */
export function asWire(message: JsonValue): ConversationWire | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const { op, node } = message;
  if (typeof op !== 'string' || !OPS.has(op) || typeof node !== 'string') return undefined;
  return message as unknown as ConversationWire;
}
