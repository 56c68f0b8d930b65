import type { Command } from 'commander';
import { isShorterThanPolicy } from '../core/password-policy.ts';
import { adminRequestIfRunning } from '../server/admin/admin-client.ts';
import { configOf, withCore } from './context.ts';
import { promptPassword, readPasswordFromStdin } from './read-password.ts';

async function readPassword(fromStdin: boolean | undefined): Promise<string> {
  return fromStdin ? readPasswordFromStdin() : promptPassword(true);
}

function warnIfShort(password: string, minLength: number): void {
  if (isShorterThanPolicy(password, minLength)) {
    process.stderr.write(
      `papillon: warning: the password is shorter than ${minLength} characters (passwordMinLength); ` +
        'users could not choose it themselves\n',
    );
  }
}

export function registerAccountCommands(program: Command): void {
  const account = program.command('account').description('manage accounts');

  account
    .command('add <handle>')
    .description('create an account (handle: name@domain, the MSN sign-in name and the XMPP address)')
    .option('-n, --name <display name>', 'display name (default: the handle)')
    .option('--password-stdin', 'read the password from standard input instead of asking')
    .option('--admin', 'give the account the admin role (the web admin area at /admin)')
    .action(
      async (
        handle: string,
        opts: { name?: string; passwordStdin?: boolean; admin?: boolean },
        command: Command,
      ) => {
        const password = await readPassword(opts.passwordStdin);
        await withCore(
          command,
          async (core, config) => {
            const created = await core.accounts.create({ handle, password, displayName: opts.name });
            if (opts.admin) await core.roles.setAdmin(created.handle, true);
            warnIfShort(password, config.passwordMinLength);
            process.stdout.write(`created ${created.handle}${opts.admin ? ' (admin)' : ''}\n`);
          },
          { create: true },
        );
      },
    );

  account
    .command('passwd <handle>')
    .description("set an account's password")
    .option('--password-stdin', 'read the password from standard input instead of asking')
    .action(async (handle: string, opts: { passwordStdin?: boolean }, command: Command) => {
      // A running server changes it itself, and ends the account's sessions on every protocol.
      const config = configOf(command);
      const password = await readPassword(opts.passwordStdin);
      const live = await adminRequestIfRunning(config.dataDir, 'account-passwd', { handle, password });
      if (live) {
        const r = live.result as { handle: string; sessions: number; webSessions: number };
        warnIfShort(password, config.passwordMinLength);
        process.stdout.write(
          `password changed for ${r.handle}; signed out of ${r.sessions} session(s) and ${r.webSessions} web session(s)\n`,
        );
        return;
      }
      await withCore(command, async (core, config) => {
        const target = await core.accounts.get(handle);
        await core.accounts.changePassword(target.handle, password);
        warnIfShort(password, config.passwordMinLength);
        const ended = await core.webSessions.endOthers(target.id);
        process.stdout.write(
          `password changed for ${target.handle}${ended ? `; signed out of ${ended} web session(s)` : ''}\n`,
        );
      });
    });

  account
    .command('list')
    .description('list accounts')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      await withCore(command, async (core) => {
        const accounts = await core.accounts.list();
        if (opts.json) {
          const rows = accounts.map((a) => ({
            handle: a.handle,
            displayName: a.displayName,
            createdAt: new Date(a.createdAt).toISOString(),
          }));
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (accounts.length === 0) {
          process.stdout.write('no accounts\n');
          return;
        }
        const width = Math.max(6, ...accounts.map((a) => a.handle.length));
        process.stdout.write(`${'HANDLE'.padEnd(width)}  CREATED               DISPLAY NAME\n`);
        for (const a of accounts) {
          const created = new Date(a.createdAt).toISOString().slice(0, 19).replace('T', ' ');
          process.stdout.write(`${a.handle.padEnd(width)}  ${created}   ${a.displayName}\n`);
        }
      });
    });

  account
    .command('admin <handle>')
    .description('give an account the admin role (the web admin area at /admin), or take it away')
    .option('--revoke', 'take the admin role away')
    .action(async (handle: string, opts: { revoke?: boolean }, command: Command) => {
      await withCore(command, async (core) => {
        const target = await core.accounts.get(handle);
        await core.roles.setAdmin(target.handle, !opts.revoke);
        process.stdout.write(
          opts.revoke ? `${target.handle} is no longer an admin\n` : `${target.handle} is an admin\n`,
        );
      });
    });

  account
    .command('delete <handle>')
    .description('delete an account with its contacts, groups and offline messages')
    .action(async (handle: string, _opts: unknown, command: Command) => {
      // A running server deletes it itself, and ends its sessions on every protocol at once.
      const live = await adminRequestIfRunning(configOf(command).dataDir, 'account-delete', { handle });
      if (live) {
        const r = live.result as { handle: string; sessions: number };
        process.stdout.write(`deleted ${r.handle}; signed out of ${r.sessions} session(s)\n`);
        return;
      }
      await withCore(command, async (core) => {
        const deleted = await core.accounts.delete(handle);
        process.stdout.write(`deleted ${deleted.handle}\n`);
      });
    });
}
