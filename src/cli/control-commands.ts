/**
 * Commands that act on the running server through its admin channel (a Unix socket in
 * the data directory: src/server/admin/). Each says so when no server runs there.
 */
import type { Command } from 'commander';
import { adminRequest } from '../server/admin/admin-client.ts';
import type { SessionRow, StatusResult } from '../server/admin/protocol.ts';
import { PapillonError } from '../util/errors.ts';
import { configOf } from './context.ts';

function ask(command: Command, name: string, args: Record<string, unknown> = {}): Promise<unknown> {
  return adminRequest(configOf(command).dataDir, name, args);
}

/** `5m`, `90s`, `1h`, or a bare number of minutes. */
export function parseDelay(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?$/i.exec(text.trim());
  if (!match) throw new PapillonError('bad-config', `--in ${text}: give a delay such as 5m, 90s or 1h`);
  const n = Number(match[1]);
  const unit = (match[2] ?? 'm').toLowerCase()[0];
  return unit === 's' ? n : unit === 'h' ? n * 3600 : n * 60;
}

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [d && `${d}d`, h && `${h}h`, m && `${m}m`, `${s}s`].filter(Boolean).join(' ');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function registerControlCommands(program: Command): void {
  program
    .command('status')
    .description('the running server: version, uptime, sessions per protocol, store and bus')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const status = (await ask(command, 'status')) as StatusResult;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      const versions = Object.entries(status.sessions.msnpVersions)
        .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
        .map(([v, n]) => `${v}: ${n}`)
        .join(', ');
      process.stdout.write(
        [
          `Papillon ${status.version}, up ${duration(status.uptimeSeconds)}`,
          `store:    ${status.store}`,
          `bus:      ${status.bus}`,
          `sessions: ${status.sessions.total} (MSNP ${status.sessions.msnp}${versions ? ` — ${versions}` : ''}; XMPP ${status.sessions.xmpp})`,
          '',
        ].join('\n'),
      );
    });

  program
    .command('sessions')
    .description('who is signed in: handle, protocol, MSNP version or XMPP resource, address, since')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const rows = (await ask(command, 'sessions')) as SessionRow[];
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no one is signed in\n');
        return;
      }
      const width = (f: (r: SessionRow) => string, title: string) =>
        Math.max(title.length, ...rows.map((r) => f(r).length));
      const wh = width((r) => r.handle, 'HANDLE');
      const wd = width((r) => r.detail, 'VERSION/RESOURCE');
      const wa = width((r) => r.address, 'ADDRESS');
      process.stdout.write(
        `${'HANDLE'.padEnd(wh)}  PROTOCOL  ${'VERSION/RESOURCE'.padEnd(wd)}  ${'ADDRESS'.padEnd(wa)}  SINCE\n`,
      );
      for (const r of rows) {
        const since = r.since.slice(0, 19).replace('T', ' ');
        process.stdout.write(
          `${r.handle.padEnd(wh)}  ${r.protocol.toUpperCase().padEnd(8)}  ${r.detail.padEnd(wd)}  ${r.address.padEnd(wa)}  ${since}\n`,
        );
      }
    });

  program
    .command('kick <handle>')
    .description('end every session of an account, on every protocol (it may sign in again)')
    .action(async (handle: string, _opts: unknown, command: Command) => {
      const result = (await ask(command, 'kick', { handle })) as { handle: string; sessions: number };
      process.stdout.write(`signed ${result.handle} out of ${plural(result.sessions, 'session')}\n`);
    });

  program
    .command('broadcast <text>')
    .description(
      'a notice to everyone signed in: an XMPP headline; an MSN Alerts toast for MSN Messenger 5+ and WLM (Pidgin and msn-pecan ignore it; MSNP2-4 have none)',
    )
    .action(async (text: string, _opts: unknown, command: Command) => {
      const result = (await ask(command, 'broadcast', { text })) as { accounts: number; sessions: number };
      process.stdout.write(
        `sent to ${plural(result.accounts, 'account')} (${plural(result.sessions, 'session')})\n`,
      );
    });

  program
    .command('shutdown [text]')
    .description(
      "stop the running server, after MSN's maintenance countdown and an XMPP headline when --in is given",
    )
    .option('--in <delay>', 'warn everyone now and stop after this delay: 5m, 90s, 1h (default: now)')
    .action(async (text: string | undefined, opts: { in?: string }, command: Command) => {
      const inSeconds = opts.in === undefined ? 0 : parseDelay(opts.in);
      const result = (await ask(command, 'shutdown', { inSeconds, text: text ?? '' })) as {
        accounts: number;
        sessions: number;
      };
      process.stdout.write(
        inSeconds === 0
          ? 'the server is stopping\n'
          : `the server stops in ${duration(Math.round(inSeconds))}; warned ${plural(result.sessions, 'session')}\n`,
      );
    });

  program
    .command('reload')
    .description('what SIGHUP does: reload certificates, log level, sign-up mode and password minimum')
    .action(async (_opts: unknown, command: Command) => {
      const { changes } = (await ask(command, 'reload')) as { changes: string[] };
      process.stdout.write(changes.length > 0 ? `${changes.join('\n')}\n` : 'reloaded; nothing changed\n');
    });
}
