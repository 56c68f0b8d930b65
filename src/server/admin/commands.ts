/**
 * What the admin channel can ask of the running server. Commands that act on sessions
 * are domain events (`sign-out`, `server-notice`) published on the bus, so they reach an
 * account's endpoints on every node; counts of sessions come from the bus's endpoint
 * registry for the same reason. Listing sessions shows this node's own.
 */
import type { Core } from '../../core/core.ts';
import { kickAccount } from '../../core/operator-actions.ts';
import { PapillonError } from '../../util/errors.ts';
import type { SessionRow, StatusResult } from './protocol.ts';

export interface AdminContext {
  core: Core;
  version: string;
  startedAt: number;
  /** `sqlite` or `postgres`, and where. */
  store: string;
  /** `local` (one node) or `redis`. */
  bus: string;
  /** Stops the server and ends the process (what SIGTERM does). */
  requestStop(reason: string): void;
  /** What SIGHUP does; returns what changed, for the operator. */
  reload(): Promise<string[]>;
  /** A pending `shutdown --in`, so a second one replaces it. */
  countdown?: { cancel(): void; at: number } | undefined;
}

export type AdminCommand = (ctx: AdminContext, args: Record<string, unknown>) => Promise<unknown>;

function stringArg(args: Record<string, unknown>, name: string): string {
  const value = args[name];
  if (typeof value !== 'string' || value === '') throw new PapillonError('conflict', `missing ${name}`);
  return value;
}

/** Endpoints of an account on every node (the bus registry). */
async function endpointCount(core: Core, accountId: string): Promise<number> {
  return (await core.bus.listEndpoints(accountId)).length;
}

/** Publishes `server-notice` to every account signed in anywhere; returns accounts and sessions reached. */
async function noticeEveryone(
  core: Core,
  text: string,
  shutdownInMinutes?: number,
): Promise<{ accounts: number; sessions: number }> {
  let accounts = 0;
  let sessions = 0;
  for (const account of await core.accounts.list()) {
    const n = await endpointCount(core, account.id);
    if (n === 0) continue;
    accounts++;
    sessions += n;
    await core.events.publish(account.id, {
      type: 'server-notice',
      text,
      ...(shutdownInMinutes === undefined ? {} : { shutdownInMinutes }),
    });
  }
  return { accounts, sessions };
}

export const ADMIN_COMMANDS: Record<string, AdminCommand> = {
  async status(ctx): Promise<StatusResult> {
    const sessions = ctx.core.liveSessions.list();
    const msnpVersions: Record<string, number> = {};
    for (const s of sessions) {
      if (s.protocol === 'msnp') msnpVersions[s.detail] = (msnpVersions[s.detail] ?? 0) + 1;
    }
    return {
      version: ctx.version,
      uptimeSeconds: Math.floor((Date.now() - ctx.startedAt) / 1000),
      store: ctx.store,
      bus: ctx.bus,
      sessions: {
        total: sessions.length,
        msnp: sessions.filter((s) => s.protocol === 'msnp').length,
        xmpp: sessions.filter((s) => s.protocol === 'xmpp').length,
        msnpVersions,
      },
    };
  },

  async sessions(ctx): Promise<SessionRow[]> {
    return ctx.core.liveSessions
      .list()
      .sort((a, b) => a.handle.localeCompare(b.handle) || a.since - b.since)
      .map((s) => ({
        handle: s.handle,
        protocol: s.protocol,
        detail: s.detail,
        address: s.address,
        since: new Date(s.since).toISOString(),
      }));
  },

  async kick(ctx, args) {
    const account = await ctx.core.accounts.get(stringArg(args, 'handle'));
    return { handle: account.handle, sessions: await kickAccount(ctx.core, account.id) };
  },

  async broadcast(ctx, args) {
    return noticeEveryone(ctx.core, stringArg(args, 'text'));
  },

  async shutdown(ctx, args) {
    const seconds = args.inSeconds;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      throw new PapillonError('conflict', 'inSeconds must be a number of seconds');
    }
    const text = typeof args.text === 'string' ? args.text : '';
    ctx.countdown?.cancel();
    if (seconds === 0) {
      // Now: the listeners' stop says goodbye (OUT SSD, system-shutdown). A moment first,
      // so this answer reaches the CLI.
      setTimeout(() => ctx.requestStop('shutdown requested through the admin channel'), 100);
      return { inSeconds: 0, accounts: 0, sessions: ctx.core.liveSessions.list().length };
    }
    const at = Date.now() + seconds * 1000;
    const reached = await countdown(ctx, at, text);
    return { inSeconds: seconds, ...reached };
  },

  async 'account-delete'(ctx, args) {
    const account = await ctx.core.accounts.get(stringArg(args, 'handle'));
    const sessions = await endpointCount(ctx.core, account.id);
    // Publishes `sign-out` (account-deleted) before the rows go.
    await ctx.core.accounts.delete(account.handle);
    return { handle: account.handle, sessions };
  },

  async 'account-passwd'(ctx, args) {
    const account = await ctx.core.accounts.get(stringArg(args, 'handle'));
    await ctx.core.accounts.changePassword(account.handle, stringArg(args, 'password'));
    const webSessions = await ctx.core.webSessions.endOthers(account.id);
    const sessions = await endpointCount(ctx.core, account.id);
    await ctx.core.events.publish(account.id, {
      type: 'sign-out',
      endpointId: null,
      reason: 'password-changed',
    });
    return { handle: account.handle, sessions, webSessions };
  },

  async reload(ctx) {
    return { changes: await ctx.reload() };
  },
};

/**
 * MSN's maintenance countdown: the system message now and at each whole minute left,
 * then the stop (MSNP sessions get `OUT SSD`, XMPP streams `system-shutdown`).
 */
async function countdown(
  ctx: AdminContext,
  at: number,
  text: string,
): Promise<{ accounts: number; sessions: number }> {
  const minutesLeft = () => Math.max(1, Math.ceil((at - Date.now()) / 60_000));
  const reached = await noticeEveryone(ctx.core, text, minutesLeft());
  const timers: NodeJS.Timeout[] = [];
  for (let m = minutesLeft() - 1; m >= 1; m--) {
    timers.push(
      setTimeout(() => void noticeEveryone(ctx.core, text, m).catch(() => {}), at - m * 60_000 - Date.now()),
    );
  }
  timers.push(
    setTimeout(() => ctx.requestStop('shutdown requested through the admin channel'), at - Date.now()),
  );
  // The listeners keep the process alive; a server stopped otherwise leaves nothing behind.
  for (const t of timers) t.unref();
  ctx.countdown = {
    at,
    cancel: () => {
      for (const t of timers) clearTimeout(t);
    },
  };
  return reached;
}
