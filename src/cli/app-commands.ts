import type { Command } from 'commander';
import type { Core } from '../core/core.ts';
import { type OAuthClient, OAuthError } from '../core/oauth-api.ts';
import { withCore } from './context.ts';

/** Commander's collector for a repeatable option. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** An OAuthError is the user's mistake: one line, exit 1. Anything else goes up. */
async function reportingOAuthErrors(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    process.stderr.write(`papillon: ${err.description}\n`);
    process.exitCode = 1;
  }
}

async function ownerName(core: Core, client: OAuthClient): Promise<string> {
  if (client.ownerId === null) return 'operator';
  return (await core.accounts.findById(client.ownerId))?.handle ?? client.ownerId;
}

/** `papillon app …`: OAuth 2.0 clients (apps that sign users in with Papillon). */
export function registerAppCommands(program: Command): void {
  const app = program.command('app').description('manage OAuth apps (clients that sign users in)');

  app
    .command('add')
    .description('register an app; prints its client_id and, unless --public, its client_secret (shown once)')
    .requiredOption('-n, --name <name>', 'the name users see when they are asked for consent')
    .requiredOption(
      '-r, --redirect-uri <uri>',
      'where users are sent back: https, http on localhost, or an app scheme like com.example.app:/cb (repeatable)',
      collect,
    )
    .option('--public', 'a public client (desktop, mobile, browser): no secret, PKCE required')
    .action(async (opts: { name: string; redirectUri: string[]; public?: boolean }, command: Command) => {
      await withCore(
        command,
        (core) =>
          reportingOAuthErrors(async () => {
            const { client, secret } = await core.oauth.registerClient({
              name: opts.name,
              redirectUris: opts.redirectUri,
              confidential: !opts.public,
              ownerId: null,
            });
            process.stdout.write(`client_id: ${client.id}\n`);
            if (secret !== undefined) {
              process.stdout.write(`client_secret: ${secret}\n`);
              process.stderr.write('papillon: the client secret is shown only this once; keep it safe\n');
            }
          }),
        { create: true },
      );
    });

  app
    .command('list')
    .description('list apps: client id, type, name, owner and redirect URIs')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      await withCore(command, async (core) => {
        const clients = await core.oauth.listClients();
        const rows = [];
        for (const c of clients) rows.push({ ...c, owner: await ownerName(core, c) });
        if (opts.json) {
          const out = rows.map((r) => ({
            clientId: r.id,
            name: r.name,
            type: r.confidential ? 'confidential' : 'public',
            redirectUris: r.redirectUris,
            owner: r.owner,
            createdAt: new Date(r.createdAt).toISOString(),
          }));
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) {
          process.stdout.write('no apps\n');
          return;
        }
        for (const r of rows) {
          const type = r.confidential ? 'confidential' : 'public';
          process.stdout.write(`${r.id}  ${type.padEnd(12)}  ${r.name}  (owner: ${r.owner})\n`);
          for (const uri of r.redirectUris) process.stdout.write(`    ${uri}\n`);
        }
      });
    });

  app
    .command('delete <client_id>')
    .description('delete an app; every token it holds stops working')
    .action(async (clientId: string, _opts: unknown, command: Command) => {
      await withCore(command, async (core) => {
        const client = await core.oauth.getClient(clientId);
        if (client === undefined || !(await core.oauth.deleteClient(clientId))) {
          process.stderr.write(`papillon: no app with client_id ${clientId}\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(`deleted ${client.name} (${client.id})\n`);
      });
    });
}
