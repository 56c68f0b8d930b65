/**
 * `papillon export [FILE]`, `papillon import FILE` (XEP-0227, to and from another
 * Papillon, Prosody or ejabberd) and `papillon import escargot <database>`. The
 * formats live in src/portable/; this file only opens the store and reports.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { applyAccounts, type ImportReport } from '../portable/apply.ts';
import { collectAccounts } from '../portable/collect.ts';
import { readEscargot } from '../portable/escargot.ts';
import type { PortableAccount } from '../portable/model.ts';
import { readXep0227, writeXep0227 } from '../portable/xep0227.ts';
import { requireExistingDatabase } from '../server/data-dir.ts';
import { openStore } from '../server/open-store.ts';
import { PapillonError } from '../util/errors.ts';
import { configOf } from './context.ts';

export function registerPortableCommands(program: Command): void {
  program
    .command('export [file]')
    .description(
      'write every account, contact list, vCard and offline message as XEP-0227 XML to FILE (default: standard output)',
    )
    .action(async (file: string | undefined, _opts: unknown, command: Command) => {
      const config = configOf(command);
      requireExistingDatabase(config);
      const { store } = await openStore(config);
      let accounts: PortableAccount[];
      try {
        accounts = await collectAccounts(store);
      } finally {
        await store.close();
      }
      const text = writeXep0227(accounts, config.domain);
      if (file === undefined || file === '-') {
        process.stdout.write(text);
      } else {
        // Password hashes: readable by the operator only.
        writeFileSync(path.resolve(file), text, { mode: 0o600 });
      }
      const offline = accounts.reduce((n, a) => n + a.offline.length, 0);
      const contacts = accounts.reduce((n, a) => n + a.contacts.length, 0);
      process.stderr.write(
        `exported ${accounts.length} accounts, ${contacts} contacts, ${offline} offline messages` +
          (file && file !== '-' ? ` to ${path.resolve(file)}\n` : '\n'),
      );
    });

  program
    .command('import <file> [database]')
    .description(
      'import accounts from an XEP-0227 file (Papillon, Prosody, ejabberd), or with "import escargot <database ' +
        'URL or SQLite file>" from an Escargot server; existing accounts are left as they are',
    )
    .action(async (file: string, database: string | undefined, _opts: unknown, command: Command) => {
      let accounts: PortableAccount[];
      let from: string;
      if (file === 'escargot' && database !== undefined) {
        accounts = await readEscargot(database);
        from = 'the Escargot database';
      } else {
        if (database !== undefined) {
          throw new PapillonError(
            'bad-config',
            `unexpected argument "${database}" (import escargot <database>?)`,
          );
        }
        from = path.resolve(file);
        let text: string;
        try {
          text = readFileSync(from, 'utf8');
        } catch (err) {
          throw new PapillonError('bad-config', `cannot read ${from}: ${(err as Error).message}`);
        }
        accounts = readXep0227(text, from);
      }
      const { store } = await openStore(configOf(command));
      let report: ImportReport;
      try {
        report = await applyAccounts(store, accounts);
      } finally {
        await store.close();
      }
      process.stdout.write(describeReport(report, from));
    });
}

function describeReport(report: ImportReport, from: string): string {
  const lines = [
    `imported ${report.created.length} accounts, ${report.contacts} contacts, ${report.offline} offline messages from ${from}`,
  ];
  if (report.existing.length > 0) {
    lines.push(`left ${report.existing.length} existing accounts as they are: ${report.existing.join(', ')}`);
  }
  for (const r of report.rejected) lines.push(`skipped ${r.handle}: ${r.reason}`);
  if (report.skippedContacts > 0) {
    lines.push(`skipped ${report.skippedContacts} contacts that are no account on this server`);
  }
  return `${lines.join('\n')}\n`;
}
