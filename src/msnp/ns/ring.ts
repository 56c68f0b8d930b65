import { encodeParam } from '../codec/index.ts';
import { hostFor } from './context.ts';
import type { NsSession } from './session.ts';

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
): void {
  const account = s.account;
  const dialect = s.dialect;
  if (!account || !dialect) return;
  const cookie = s.ctx.sbCookies.issue({
    kind: 'answer',
    accountId: account.id,
    conversationId,
    dialectVersion: dialect.version,
    clientId: s.clientId,
  });
  const address = `${hostFor(s.ctx, s.transport.localAddress)}:${s.ctx.sbPort}`;
  s.send('RNG', conversationId, address, 'CKI', cookie, callerHandle, encodeParam(callerName));
}
