/**
 * What the nodes of the cluster benchmark share: one database (a throwaway schema of a
 * PostgreSQL database, else one SQLite file) seeded with the bench accounts, and one
 * Redis, whose keys under the run's prefix are deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { openPostgresStore } from '../src/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { seedAccounts } from './msnp-server.ts';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface SharedDatabase {
  /** The nodes' PAPILLON_DATABASE_URL. */
  url: string;
  /** For the report: which engine, and why SQLite when PostgreSQL was wanted. */
  describe: string;
  drop(): Promise<void>;
}

async function query(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A fresh schema of the PostgreSQL database at `base` (the nodes reach it through the
 * URL's `options=-c search_path=…`), or, with `base` 'sqlite' or PostgreSQL unreachable,
 * a SQLite file in `dir`.
 */
export async function sharedDatabase(base: string, dir: string): Promise<SharedDatabase> {
  const sqlite = (why: string): SharedDatabase => ({
    url: `sqlite:${path.join(dir, 'shared.sqlite')}`,
    describe: `one SQLite file (${why})`,
    drop: async () => {}, // inside the run's data directory, removed with it
  });
  if (base === 'sqlite') return sqlite('PAPILLON_BENCH_DATABASE_URL=sqlite');
  const schema = `papillon_bench_${randomBytes(6).toString('hex')}`;
  try {
    await query(base, `create schema "${schema}"`);
  } catch (err) {
    return sqlite(`PostgreSQL at ${new URL(base).host} unreachable: ${(err as Error).message}`);
  }
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    describe: `PostgreSQL ${url.host}${url.pathname}, throwaway schema ${schema}`,
    drop: () => query(base, `drop schema if exists "${schema}" cascade`),
  };
}

/** Applies the migrations to the shared database and creates `count` bench accounts in it. */
export async function seedSharedDatabase(url: string, count: number): Promise<void> {
  const store = url.startsWith('sqlite:')
    ? await openSqliteStore(url.slice('sqlite:'.length))
    : await openPostgresStore(url);
  try {
    await store.migrate();
    await seedAccounts(store, count);
  } finally {
    await store.close();
  }
}

/** Throws a clear error when Redis at `url` does not answer PING. */
export async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 5000 });
  redis.on('error', () => {}); // the failed connect below reports it
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`cannot reach Redis at ${url} (PAPILLON_BENCH_REDIS_URL): ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
}

/** A key prefix no other run (or deployment) on the same Redis uses. */
export function uniqueKeyPrefix(): string {
  return `papillon-bench-${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under `prefix` (the nodes' registries, throttles, heartbeats). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** CPU time (user + system, ms) process `pid` has used; NaN once it is gone. */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

function commandOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * A running total of the CPU used by the processes named `name` (PostgreSQL runs one per
 * connection): each reading adds what every such process used since the last one, so
 * processes that come and go do not make the total jump back.
 */
function processGroupCpu(name: string): () => number {
  const last = new Map<number, number>();
  let total = 0;
  return () => {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || commandOf(entry) !== name) continue;
      const pid = Number(entry);
      const now = processCpuMs(pid);
      if (Number.isNaN(now)) continue;
      total += now - (last.get(pid) ?? 0);
      last.set(pid, now);
    }
    return total;
  };
}

/**
 * CPU meters of the local Redis server and of PostgreSQL (all its processes, other
 * users' included), for the services this machine runs; none for one elsewhere.
 */
export async function serviceCpuMeters(
  redisUrl: string,
  postgres: boolean,
): Promise<{ name: string; cpuMs: () => number }[]> {
  const meters: { name: string; cpuMs: () => number }[] = [];
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
    if (Number.isInteger(pid) && commandOf(String(pid)).startsWith('redis')) {
      meters.push({ name: 'Redis', cpuMs: () => processCpuMs(pid) });
    }
  } finally {
    redis.disconnect();
  }
  if (postgres && readdirSync('/proc').some((p) => commandOf(p) === 'postgres')) {
    const cpuMs = processGroupCpu('postgres');
    cpuMs(); // the first reading is the baseline
    meters.push({ name: 'PostgreSQL (all its processes)', cpuMs });
  }
  return meters;
}
