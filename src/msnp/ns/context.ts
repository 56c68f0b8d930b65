import type { Core } from '../../core/core.ts';
import type { Logger } from '../../server/logger.ts';
import { unmappedAddress } from '../../util/address.ts';
import type { FlowLimits } from '../../util/flow-limits.ts';
import type { DispatchReferrals } from '../dispatch.ts';
import type { SbCookies } from '../sb/cookies.ts';
import type { SbSession } from '../sb/session.ts';

/** What every MSNP session of this node shares. */
export interface MsnpContext {
  core: Core;
  logger: Logger;
  domain: string;
  /** Host name or address to give clients in XFR/RNG; unset: the address the client reached us at. */
  publicHost: string | undefined;
  nsPort: number;
  sbPort: number;
  sbCookies: SbCookies;
  dispatch: DispatchReferrals;
  /** Seconds a client has to answer a CHL (§7.1: about 50 s on the real service). */
  challengeTimeoutMs: number;
  /** A connection (TCP or HTTP gateway) that has not signed in by then is closed. */
  loginTimeoutMs: number;
  /** Every open notification-server session, for shutdown. */
  sessions: Set<{ shutdown(): void; readonly cleanedUp: Promise<void> }>;
  /** Every open switchboard session (TCP or HTTP gateway), for the idle sweep and shutdown. */
  sbSessions: Set<SbSession>;
  /** Bounds on each connection's queued output and input, and the process memory budget (issue 13). */
  flow: FlowLimits;
}

export function hostFor(ctx: MsnpContext, localAddress: string): string {
  return ctx.publicHost ?? unmappedAddress(localAddress);
}
