/**
 * `papillon backup FILE` and `papillon restore FILE`: whole-database copies of the
 * embedded SQLite store. PostgreSQL has its own tools (pg_dump / pg_restore), which
 * operators already trust, so these commands point at them instead.
 */
import { chmodSync, copyFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Command } from 'commander';
import { type Config, databaseTarget } from '../server/config.ts';
import { LOCK_FILE, lockHolder, prepareDataDir, requireExistingDatabase } from '../server/data-dir.ts';
import { PapillonError } from '../util/errors.ts';
import { configOf } from './context.ts';

export function registerBackupCommands(program: Command): void {
  program
    .command('backup <file>')
    .description(
      'copy the SQLite database to FILE, consistently, while the server runs (PostgreSQL: use pg_dump)',
    )
    .option('--force', 'replace FILE if it exists')
    .action((file: string, opts: { force?: boolean }, command: Command) => {
      const config = configOf(command);
      const source = sqlitePath(config, 'backup', 'pg_dump --format=custom --file=papillon.dump <database>');
      requireExistingDatabase(config);
      const target = path.resolve(file);
      if (existsSync(target) && !opts.force) {
        throw new PapillonError('conflict', `${target} exists; choose another file or add --force`);
      }
      backupSqlite(source, target);
      process.stdout.write(`backed up ${source} to ${target} (${statSync(target).size} bytes)\n`);
    });

  program
    .command('restore <file>')
    .description(
      'replace the SQLite database with a backup; the server must be stopped (PostgreSQL: use pg_restore)',
    )
    .action((file: string, _opts: unknown, command: Command) => {
      const config = configOf(command);
      const target = sqlitePath(config, 'restore', 'pg_restore --clean --dbname=<database> papillon.dump');
      const holder = lockHolder(config.dataDir);
      if (holder !== undefined) {
        throw new PapillonError(
          'conflict',
          `a Papillon server (pid ${holder}) is running on ${path.resolve(config.dataDir)} ` +
            `(${LOCK_FILE}); stop it before restoring, then start it again`,
        );
      }
      const source = path.resolve(file);
      checkBackup(source);
      prepareDataDir(config);
      const kept = restoreSqlite(source, target);
      process.stdout.write(
        `restored ${target} from ${source}` +
          (kept ? `; the database it replaced is kept as ${kept}` : '') +
          '\nstart the server (it applies any newer migrations)\n',
      );
    });
}

function sqlitePath(config: Config, verb: string, pgCommand: string): string {
  const target = databaseTarget(config);
  if (target.kind === 'postgres') {
    throw new PapillonError(
      'bad-config',
      `papillon ${verb} is for the embedded SQLite database; this server uses PostgreSQL: ${pgCommand}`,
    );
  }
  if (target.path === ':memory:')
    throw new PapillonError('bad-config', 'the database is in memory (databaseUrl)');
  return target.path;
}

/**
 * `VACUUM INTO` on a second connection copies the database as one read transaction:
 * a consistent snapshot even while the server writes (WAL readers do not block it),
 * compacted, with no WAL of its own. It goes to a temporary name first, so FILE is
 * either the whole backup or untouched.
 */
export function backupSqlite(source: string, target: string): void {
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  const db = new BetterSqlite3(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare('VACUUM INTO ?').run(partial);
  } catch (err) {
    rmSync(partial, { force: true });
    throw new PapillonError('conflict', `cannot back up ${source} to ${target}: ${(err as Error).message}`);
  } finally {
    db.close();
  }
  // It holds password hashes: as private as the database.
  chmodSync(partial, 0o600);
  renameSync(partial, target);
}

/** A readable, intact SQLite file with Papillon's tables, or an error saying what it is not. */
function checkBackup(file: string): void {
  if (!existsSync(file)) throw new PapillonError('bad-config', `no backup file ${file}`);
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`integrity check: ${String(check)}`);
    const tables = db
      .prepare("select name from sqlite_master where type = 'table' and name in ('account', 'credential')")
      .all();
    if (tables.length !== 2) throw new Error('it has no Papillon tables (account, credential)');
  } catch (err) {
    throw new PapillonError('bad-config', `${file} is not a Papillon backup: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
}

/**
 * Puts the backup in place of the database (copied beside it, then renamed over it,
 * so a failure leaves the old one); the old database is kept beside it, and its WAL
 * files, which belong to the old database, are removed.
 */
function restoreSqlite(source: string, target: string): string | undefined {
  const incoming = `${target}.restoring`;
  copyFileSync(source, incoming);
  chmodSync(incoming, 0o600);
  let kept: string | undefined;
  if (existsSync(target) && statSync(target).size > 0) {
    kept = `${target}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    // Fold the old WAL into the file it keeps, so that copy is whole.
    const old = new BetterSqlite3(target, { fileMustExist: true });
    try {
      old.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      old.close();
    }
    renameSync(target, kept);
  }
  for (const suffix of ['-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
  renameSync(incoming, target);
  return kept;
}
