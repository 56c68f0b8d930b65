import path from 'node:path';
import type { Command } from 'commander';
import { describeConfig } from '../server/config.ts';
import { openStore } from '../server/open-store.ts';
import { certificateInstructions, createCertificates } from './certs.ts';
import { configOf } from './context.ts';

export function registerAdminCommands(program: Command): void {
  program
    .command('config')
    .description('print the effective configuration (defaults < --config file < PAPILLON_* environment)')
    .action((_opts: unknown, command: Command) => {
      process.stdout.write(`${JSON.stringify(describeConfig(configOf(command)), null, 2)}\n`);
    });

  program
    .command('migrate')
    .description('bring the database schema up to date (the server also does this at start)')
    .action(async (_opts: unknown, command: Command) => {
      const { store, applied, where } = await openStore(configOf(command));
      await store.close();
      process.stdout.write(
        applied.length > 0 ? `applied ${applied.join(', ')} to ${where}\n` : `${where} is up to date\n`,
      );
    });

  program
    .command('certs')
    .description(
      'create a local certificate authority and a server certificate for the domain and the MSN host names',
    )
    .option('--dir <dir>', 'where to write them (default: <dataDir>/certs, where the server looks)')
    .option('--host <name...>', 'more host names or IP addresses to put in the certificate')
    .option(
      '--address <ip>',
      'the address clients reach the server at, for the hosts-file lines',
      '127.0.0.1',
    )
    .option('--days <n>', 'validity of the server certificate in days (at most 825)', (v) =>
      Number.parseInt(v, 10),
    )
    .option('--force', 'replace an existing server certificate (the CA is kept)')
    // COMPAT: Windows XP before SP3, where MSN Messenger 5–7.5 ran, cannot check SHA-256 signatures.
    .option('--legacy-sha1', 'sign with SHA-1 for Windows XP before SP3')
    .action(
      async (
        opts: {
          dir?: string;
          host?: string[];
          address: string;
          days?: number;
          force?: boolean;
          legacySha1?: boolean;
        },
        command: Command,
      ) => {
        const config = configOf(command);
        const files = await createCertificates({
          dir: path.resolve(opts.dir ?? path.join(config.dataDir, 'certs')),
          domain: config.domain,
          extraHosts: opts.host ?? [],
          ...(opts.days !== undefined ? { days: opts.days } : {}),
          force: opts.force ?? false,
          legacySha1: opts.legacySha1 ?? false,
        });
        process.stdout.write(
          `${certificateInstructions(files, { domain: config.domain, serverAddress: opts.address })}\n`,
        );
      },
    );
}
