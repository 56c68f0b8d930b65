/**
 * The data directory: where it is, who may read it, and which server owns it.
 *
 * It holds the SQLite database, the private keys and the admin socket, so it is
 * created 0700 and the database file 0600. One server at a time: a second server on
 * the same directory would share the SQLite file and the admin socket, so
 * `papillon.pid` holds the running server's pid (a lock whose process has gone is
 * stale and taken over).
 */
import { existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PapillonError } from '../util/errors.ts';
import { type Config, databaseTarget, dataDirOrigin } from './config.ts';

export const LOCK_FILE = 'papillon.pid';

/** Creates the data directory (0700) and, for SQLite, an empty database file (0600) if missing. */
export function prepareDataDir(config: Config): void {
  makePrivateDir(config.dataDir, 'dataDir (PAPILLON_DATA_DIR)');
  const target = databaseTarget(config);
  if (target.kind !== 'sqlite' || target.path === ':memory:') return;
  makePrivateDir(path.dirname(target.path), 'databaseUrl (PAPILLON_DATABASE_URL)');
  try {
    // SQLite gives its -wal and -shm files the database file's mode, so they are 0600 too.
    writeFileSync(target.path, '', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannot('create', target.path, err);
  }
}

function makePrivateDir(dir: string, setting: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw cannot(`create the directory (${setting})`, dir, err);
  }
}

function cannot(what: string, file: string, err: unknown): PapillonError {
  return new PapillonError('bad-config', `cannot ${what} ${file}: ${(err as Error).message}`);
}

/**
 * For commands that only read or change existing data: the database must exist, so a
 * CLI pointed at the wrong directory says so instead of creating an empty database.
 */
export function requireExistingDatabase(config: Config): void {
  const target = databaseTarget(config);
  if (target.kind !== 'sqlite' || target.path === ':memory:') return;
  if (existsSync(target.path) && statSync(target.path).size > 0) return;
  const where = config.databaseUrl
    ? `${target.path} (databaseUrl)`
    : `${target.path} (data directory ${config.dataDir}, from ${dataDirOrigin(config)})`;
  throw new PapillonError(
    'bad-config',
    `no database at ${where}: start the server once (papillon serve) or run papillon migrate, ` +
      'or point PAPILLON_DATA_DIR or --config at the server’s data directory',
  );
}

/** Data directories this process holds, so a second server in one process is refused too. */
const held = new Set<string>();

/** The pid in the lock file of `dataDir` if that process still runs, else undefined. */
export function lockHolder(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(path.join(dataDir, LOCK_FILE), 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return held.has(path.resolve(dataDir)) ? pid : undefined;
  return isRunning(pid) ? pid : undefined;
}

function isRunning(pid: number): boolean {
  // Our parent (npm, an init in a container) is never the server holding the lock.
  if (pid === process.ppid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A recycled pid (a container restarted, a reboot) is some other program: Linux says which.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('papillon');
  } catch {
    return true;
  }
}

/** Takes the data directory for this server; returns the release. Refuses when another server holds it. */
export function lockDataDir(dataDir: string): () => void {
  const dir = path.resolve(dataDir);
  const file = path.join(dir, LOCK_FILE);
  // The first start on a new machine: the directory is made here (0700), before the store.
  makePrivateDir(dir, 'dataDir (PAPILLON_DATA_DIR)');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannot('write the lock file', file, err);
      const holder = lockHolder(dir);
      if (holder !== undefined || attempt > 0) {
        throw new PapillonError(
          'conflict',
          `another Papillon server (pid ${holder ?? 'unknown'}) is using the data directory ${dir}; ` +
            `stop it first, or give this one its own PAPILLON_DATA_DIR (if no server runs, remove ${file})`,
        );
      }
      // Stale: its process is gone.
      unlinkSync(file);
    }
  }
  held.add(dir);
  return () => {
    held.delete(dir);
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
    } catch {
      // Already gone.
    }
  };
}
