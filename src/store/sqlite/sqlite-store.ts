import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyStore } from '../kysely/kysely-store.ts';
import type { Database } from '../schema.ts';
import type { Store } from '../types.ts';

/**
 * Opens (creating if needed) the SQLite database at `path`, or an in-memory one for
 * ':memory:'. Call `migrate()` before use. Kysely runs the queries of one store on
 * its single connection one at a time, so transactions never interleave in-process.
 */
export async function openSqliteStore(path: string): Promise<Store> {
  const inMemory = path === ':memory:';
  if (!inMemory) await mkdir(dirname(path), { recursive: true });
  const database = new BetterSqlite3(path);
  try {
    // WAL: readers do not block the writer, and a commit is one append (with
    // synchronous=NORMAL durable across process crashes, not power loss).
    if (!inMemory) database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    // Off by default in SQLite; the schema's cascades depend on it.
    database.pragma('foreign_keys = ON');
    // Wait for another process's write lock (the CLI beside a running server) instead of failing.
    database.pragma('busy_timeout = 5000');
  } catch (err) {
    database.close();
    throw err;
  }
  // Closing the Kysely instance closes the database, which checkpoints the WAL.
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  return new KyselyStore(db, 'sqlite');
}

/**
 * Kysely prepares every query it runs; preparing is a good part of a simple query's
 * cost in better-sqlite3. The queries are a fixed set (the SQL text is the same,
 * only parameters change), so prepared statements are kept and reused. Kysely runs
 * one query at a time on this connection, so a statement is never used twice at once.
 */
function withStatementCache(database: BetterSqlite3.Database) {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (!statement) {
        statement = database.prepare(sql);
        // A bound on memory should unexpected dynamic SQL show up.
        if (cache.size >= 1000) cache.clear();
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}
