import type { Command } from 'commander';
import { DEFAULT_INVITE_MS } from '../core/invites.ts';
import type { Config } from '../server/config.ts';
import { PapillonError } from '../util/errors.ts';
import { withCore } from './context.ts';

const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30m`, `12h`, `7d`, `2w` → milliseconds; a bad value names the option. */
export function parseExpiry(text: string): number {
  const match = /^(\d{1,4})\s*([mhdw])$/i.exec(text.trim());
  const unit = UNIT_MS[match?.[2]?.toLowerCase() ?? ''];
  if (!match || unit === undefined || Number(match[1]) === 0) {
    throw new PapillonError('bad-config', `--expires must look like 30m, 12h, 7d or 2w (got "${text}")`);
  }
  return Number(match[1]) * unit;
}

/** The base URL people open: `publicUrl` (an origin, no trailing slash), else the HTTPS port on the domain. */
function siteUrl(config: Config): string {
  if (config.publicUrl !== undefined) return config.publicUrl;
  const https = config.httpsPort === 443 ? '' : `:${config.httpsPort}`;
  return `https://${config.publicHost ?? config.domain}${https}`;
}

function when(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * `papillon invite`: one-time sign-up links for `signup: invite` (core/invites.ts).
 * The link is printed once; the store keeps only its hash.
 */
export function registerInviteCommands(program: Command): void {
  program
    .command('invite')
    .description('make a one-time sign-up link (for signup "invite"), or list or withdraw them')
    .option('--expires <duration>', 'how long the link works: 30m, 12h, 7d, 2w', '7d')
    .option('--list', 'list the links made, used and open')
    .option('--revoke <id>', 'withdraw an unused link by the id --list shows')
    .action(async (opts: { expires: string; list?: boolean; revoke?: string }, command: Command) => {
      const expiresInMs = opts.list || opts.revoke ? DEFAULT_INVITE_MS : parseExpiry(opts.expires);
      await withCore(
        command,
        async (core, config) => {
          if (opts.revoke !== undefined) {
            if (!(await core.invites.withdraw(opts.revoke))) {
              throw new PapillonError(
                'conflict',
                `no invitation ${opts.revoke} (see papillon invite --list)`,
              );
            }
            process.stdout.write(`invitation ${opts.revoke} withdrawn\n`);
            return;
          }
          if (opts.list) {
            const invites = await core.invites.list();
            if (invites.length === 0) {
              process.stdout.write('no invitations\n');
              return;
            }
            process.stdout.write('ID            CREATED           EXPIRES           USED BY\n');
            for (const i of invites) {
              const used = i.usedBy ?? (core.invites.isOpen(i) ? '(open)' : '(expired)');
              process.stdout.write(`${i.id}  ${when(i.createdAt)}  ${when(i.expiresAt)}  ${used}\n`);
            }
            return;
          }
          const { token, invite } = await core.invites.create({ expiresInMs });
          process.stdout.write(`${siteUrl(config)}/signup?invite=${token}\n`);
          process.stderr.write(
            `one account can be made with this link until ${when(invite.expiresAt)} UTC (id ${invite.id})` +
              (config.signup === 'invite'
                ? '\n'
                : `; sign-up is "${config.signup}" now: set signup to "invite" for links to be asked for\n`),
          );
        },
        { create: true },
      );
    });
}
