import type { MsnpCommand } from '../codec/index.ts';
import type { Dialect } from '../dialects/dialect.ts';
import type { NsSession } from './session.ts';

/** One notification-server command: when it is allowed, and what it does. */
export interface NsHandler {
  /** `negotiated`: after VER; `online`: after login; `any`: always. */
  state: 'any' | 'negotiated' | 'online';
  /** The dialects that have the command (absent: all). */
  when?: (dialect: Dialect) => boolean;
  run(session: NsSession, command: MsnpCommand): Promise<void> | void;
}

/** The signed-in account's list version now (MSNP2–9 replies and notices carry it). */
export async function listVersion(session: NsSession): Promise<number> {
  const id = session.account?.id;
  return id === undefined ? 0 : ((await session.ctx.core.accounts.findById(id))?.listVersion ?? 0);
}

/** The TrID of a client command (args[0]). */
export function tridOf(command: MsnpCommand): string {
  return command.args[0] ?? '0';
}
