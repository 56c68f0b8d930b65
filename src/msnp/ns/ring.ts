import type { DomainEvent } from '../../core/events.ts';
import { encodeParam } from '../codec/index.ts';
import type { SbTicket } from '../sb/cookies.ts';
import { hostFor } from './context.ts';
import type { NsSession } from './session.ts';

/** What a switchboard cookie carries about the notification session that asked for it. */
export function sbTicketOf(s: NsSession): Omit<SbTicket, 'kind' | 'conversationId'> {
  const ticket: Omit<SbTicket, 'kind' | 'conversationId'> = {
    accountId: s.account?.id ?? '',
    dialectVersion: s.dialect?.version ?? 8,
    clientId: s.clientId,
    extCaps: s.extCaps,
    nsEndpointId: s.endpointId,
  };
  if (s.machineGuid && s.dialect?.mpop) ticket.machineGuid = s.machineGuid;
  return ticket;
}

/**
 * The arguments MSNP13+ add after `CKI cookie` in `XFR … SB` and after the caller in
 * `RNG` (NINA wiki Commands/XFR, Commands/RNG): `U <host>` (13), then `1` (14+).
 */
export function sbReferralTail(s: NsSession, host: string): (string | number)[] {
  const shape = s.dialect?.sbReferral ?? 'plain';
  if (shape === 'plain') return [];
  return shape === 'u' ? ['U', host] : ['U', host, 1];
}

/**
 * docs/msnp-reference.md §12.2 `RNG sessid host:port CKI cookie caller callername`:
 * rings this session's user into conversation `conversationId` on behalf of `caller`,
 * with a single-use `answer` cookie for that conversation. Used when a contact CALs
 * this account and when the server itself opens a switchboard (offline messages).
 */
export function sendRing(
  s: NsSession,
  conversationId: string,
  callerHandle: string,
  callerName: string,
  elsewhere?: { address: string; cookie: string },
): void {
  const account = s.account;
  const dialect = s.dialect;
  if (!account || !dialect) return;
  const cookie =
    elsewhere?.cookie ?? s.ctx.sbCookies.issue({ kind: 'answer', conversationId, ...sbTicketOf(s) });
  const address = elsewhere?.address ?? `${hostFor(s.ctx, s.transport.localAddress)}:${s.ctx.sbPort}`;
  s.send(
    'RNG',
    conversationId,
    address,
    'CKI',
    cookie,
    callerHandle,
    encodeParam(callerName),
    ...sbReferralTail(s, 'messenger.hotmail.com'),
  );
}

/**
 * An invitation (`conversation-invite`) as this session's `RNG`. A conversation another
 * node hosts is answered at that node's switchboard, with the cookie it issued for this
 * endpoint (core `Conversations.ring`); with none, this endpoint is not rung from there.
 */
export function ringInvite(s: NsSession, event: Extract<DomainEvent, { type: 'conversation-invite' }>): void {
  // An endpoint calling the account's other endpoints (MSNP16+) is not rung itself.
  if (event.exceptEndpointId === s.endpointId) return;
  const { conversationId, inviterHandle, inviterName, hostNodeId } = event;
  if (hostNodeId === undefined || hostNodeId === s.ctx.core.conversations.nodeId) {
    sendRing(s, conversationId, inviterHandle, inviterName);
    return;
  }
  const cookie = event.cookies?.[s.endpointId];
  const port = event.switchboard?.port;
  if (cookie === undefined || port === undefined) {
    s.log.warn(
      { conversationId, hostNodeId },
      'an invitation from another node without a cookie for this endpoint',
    );
    return;
  }
  // The host's public name; without one (nodes on one address, told apart by port), the
  // address this client reached this node at.
  const host = event.switchboard?.host ?? hostFor(s.ctx, s.transport.localAddress);
  // A client on the HTTP gateway answers through this node, which must know where to.
  if (s.transport.viaGateway) s.ctx.sbCookies.referred(cookie, `${host}:${port}`);
  sendRing(s, conversationId, inviterHandle, inviterName, { address: `${host}:${port}`, cookie });
}
