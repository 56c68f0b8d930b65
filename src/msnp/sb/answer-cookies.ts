import type { SwitchboardAccess } from '../../core/conversation-invite.ts';
import type { ConnectedEndpoint } from '../../core/presence.ts';
import type { MsnpContext } from '../ns/context.ts';
import type { SbTicket } from './cookies.ts';

/** Notification-session endpoints (ns/session.ts); switchboard and server endpoints are never rung. */
const NS_ENDPOINT = 'msnp:';

/**
 * The answer ticket for an MSN endpoint signed in on another node, from what its session
 * put in the endpoint registry (ns/session.ts `endpointCapabilities`, ns/presence.ts CHG):
 * the same fields ns/ring.ts `sbTicketOf` takes from a session on this node.
 */
export function remoteAnswerTicket(
  conversationId: string,
  accountId: string,
  endpoint: ConnectedEndpoint,
): SbTicket | undefined {
  const caps = endpoint.presence.capabilities;
  const version = Number(caps.msnpVersion);
  if (!endpoint.endpointId.startsWith(NS_ENDPOINT) || !Number.isInteger(version)) return undefined;
  const ticket: SbTicket = {
    kind: 'answer',
    conversationId,
    accountId,
    dialectVersion: version,
    clientId: caps.msnpClientId ?? '0',
    extCaps: caps.msnpExtCaps ?? '0',
    nsEndpointId: endpoint.endpointId,
  };
  if (caps.msnpMachineGuid) ticket.machineGuid = caps.msnpMachineGuid;
  return ticket;
}

/**
 * How MSN clients signed in on other nodes answer this node's switchboards (ARCHITECTURE
 * "Storage and scale": `RNG` sends each client to the node hosting the conversation).
 * The cookies are this node's, valid only at its switchboard; the invitation carries
 * them to the client's own node, which writes the `RNG`.
 */
export function switchboardAccess(ctx: MsnpContext): SwitchboardAccess {
  return {
    get host() {
      return ctx.publicHost;
    },
    get port() {
      return ctx.sbPort;
    },
    cookiesFor(conversationId, accountId, endpoints) {
      const cookies: Record<string, string> = {};
      for (const endpoint of endpoints) {
        const ticket = remoteAnswerTicket(conversationId, accountId, endpoint);
        if (ticket) cookies[endpoint.endpointId] = ctx.sbCookies.issue(ticket);
      }
      return cookies;
    },
  };
}
