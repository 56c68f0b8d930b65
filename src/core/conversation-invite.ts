import type { Participant } from './conversations.ts';
import type { DomainEvent } from './events.ts';
import type { ConnectedEndpoint } from './presence.ts';

/**
 * How clients that answer an invitation with a connection of their own (MSN clients:
 * `RNG` → `ANS`, docs/msnp-reference.md §12.2) reach this node's conversations from a
 * session on another node. The MSNP listener registers it (msnp/sb/answer-cookies.ts).
 */
export interface SwitchboardAccess {
  /** Where those clients connect; undefined: the address they reached their own node at. */
  readonly host: string | undefined;
  readonly port: number;
  /** Single-use answer cookies this node admits, for those of `accountId`'s `endpoints` that take one, by endpoint id. */
  cookiesFor(
    conversationId: string,
    accountId: string,
    endpoints: readonly ConnectedEndpoint[],
  ): Record<string, string>;
}

export interface Invitation {
  conversationId: string;
  inviter: Participant;
  inviteeId: string;
  /** The node hosting the conversation: the one inviting. */
  hostNodeId: string;
  /** An endpoint of the invitee not to ring. */
  exceptEndpointId: string | undefined;
}

/**
 * The `conversation-invite` for the invitee's endpoints, wherever they are: the host
 * node, and for endpoints signed in on other nodes the host's switchboard and the
 * cookie it issued each of them (the node that renders the `RNG` has neither).
 */
export async function inviteEvent(
  invitation: Invitation,
  access: SwitchboardAccess | undefined,
  endpointsOf: (accountId: string) => Promise<ConnectedEndpoint[]>,
): Promise<Extract<DomainEvent, { type: 'conversation-invite' }>> {
  const { conversationId, inviter, inviteeId, hostNodeId, exceptEndpointId } = invitation;
  const event: Extract<DomainEvent, { type: 'conversation-invite' }> = {
    type: 'conversation-invite',
    conversationId,
    inviterHandle: inviter.handle,
    inviterName: inviter.displayName,
    hostNodeId,
  };
  if (exceptEndpointId !== undefined) event.exceptEndpointId = exceptEndpointId;
  if (!access) return event;
  event.switchboard =
    access.host === undefined ? { port: access.port } : { host: access.host, port: access.port };
  const elsewhere = (await endpointsOf(inviteeId)).filter(
    (e) => e.nodeId !== hostNodeId && e.endpointId !== exceptEndpointId,
  );
  if (elsewhere.length > 0) event.cookies = access.cookiesFor(conversationId, inviteeId, elsewhere);
  return event;
}
