import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PapillonError } from '../../util/errors.ts';
import { KyselyStore } from '../kysely/kysely-store.ts';
import type { Database } from '../schema.ts';
import type { Store } from '../types.ts';

export interface PostgresStoreOptions {
  /**
   * Keep Papillon's tables in this schema (created if missing) instead of the
   * connection's default; tests use a throwaway schema each.
   */
  schema?: string;
}

const INT8_OID = 20;
/** A plain identifier: safe in a `-c search_path=` startup option and in SQL. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Connects to PostgreSQL at `url` (a libpq URL). Call `migrate()` before use. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new PapillonError('bad-config', `invalid PostgreSQL schema name "${schema}"`);
  }
  if (schema !== undefined) await createSchema(url, schema);

  const pool = new pg.Pool({
    connectionString: url,
    // Every pooled connection starts with the schema first on its search path.
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    // Times and list versions are int8 (bigint), which pg returns as strings by
    // default; they are well inside Number's exact range.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection dropped by the server emits 'error' on the pool, which would
  // crash the process if unhandled; the pool discards the client and the next query
  // opens a new one.
  pool.on('error', () => {});
  // A connection lent out (a query or a transaction running) that ends without a word
  // from the server (its backend crashed, the network dropped) fails its query, and pg
  // emits 'error' on the client as well, where the pool listens only while the client
  // is idle: unheard, that 'error' would crash the process (issue 11: a PostgreSQL
  // restart fails requests cleanly). The query's own rejection is what callers see.
  pool.on('connect', (client) => client.on('error', () => {}));

  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    // Tell the migrator where its bookkeeping tables live (see KyselyStoreOptions).
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    const migrationSchema = rows[0]?.schema;
    if (migrationSchema == null) {
      throw new PapillonError('bad-config', 'PostgreSQL has no current schema; check the search_path');
    }
    return new KyselyStore(db, 'postgres', { migrationSchema });
  } catch (err) {
    await db.destroy();
    throw err;
  }
}

async function createSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`create schema if not exists "${schema}"`);
  } catch (err) {
    // Two openers racing on `if not exists` can still collide; the schema exists either way.
    if ((err as { code?: unknown }).code !== '23505') throw err;
  } finally {
    await client.end();
  }
}
