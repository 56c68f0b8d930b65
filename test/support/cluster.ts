import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { LocalBus } from '../../src/bus/local.ts';
import type { Bus } from '../../src/bus/types.ts';
import { createCertificates } from '../../src/cli/certs.ts';
import type { Core } from '../../src/core/core.ts';
import { sync } from '../transcripts/msnp-session.ts';
import type { MsnpTestClient } from './msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from './msnp-login.ts';
import { startTestServer, type TestServer } from './papillon-server.ts';

export interface Cluster {
  nodes: TestServer[];
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Each node's bus; default: views of one LocalBus, one node id each. */
  busFor?: (nodeId: string) => Bus | Promise<Bus>;
  /** Configuration every node gets (PAPILLON_… variables). */
  env?: Record<string, string>;
}

/** One database for every node: a throwaway schema of PAPILLON_TEST_DATABASE_URL, else one SQLite file. */
export async function sharedDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.PAPILLON_TEST_DATABASE_URL;
  if (!base) {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-cluster-'));
    return {
      url: `sqlite:${path.join(dir, 'papillon.sqlite')}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = `papillon_cluster_${randomBytes(6).toString('hex')}`;
  const query = async (sql: string) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await query(`create schema "${schema}"`);
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { url: url.toString(), drop: () => query(`drop schema if exists "${schema}" cascade`) };
}

let certificates: Promise<string> | undefined;

/**
 * One `papillon certs` directory for every node of every cluster in this process: the
 * test clients trust one CA (support/xmpp-client.ts trusts one at a time), whichever node
 * they reach. Removed when the process exits.
 */
function sharedCertificates(): Promise<string> {
  certificates ??= (async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-cluster-certs-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await createCertificates({ dir, domain: 'localhost' });
    return dir;
  })();
  return certificates;
}

/**
 * `count` Papillon nodes in this process (ids `node-a`, `node-b`, …), each with its own
 * listeners on free ports and its own data directory, on one database and one bus, as
 * the nodes of a cluster behind one address. Started one after the other (the first
 * applies the migrations).
 */
export async function startCluster(count: number, options: ClusterOptions = {}): Promise<Cluster> {
  const database = await sharedDatabase();
  const certs = await sharedCertificates();
  const shared = new LocalBus('cluster');
  // Each node sees the one bus under its own id; closing a node's view leaves the others' open.
  const view = (nodeId: string) =>
    Object.create(shared, { nodeId: { value: nodeId }, close: { value: async () => {} } }) as Bus;
  const busFor = options.busFor ?? view;
  const nodes: TestServer[] = [];
  const stop = async () => {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await shared.close();
    await database.drop();
  };
  try {
    for (let i = 0; i < count; i++) {
      const nodeId = `node-${String.fromCharCode(97 + i)}`;
      const env = { PAPILLON_DATABASE_URL: database.url, PAPILLON_NODE_ID: nodeId, ...options.env };
      nodes.push(await startTestServer(env, { bus: await busFor(nodeId), certs }));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, stop };
}

/**
 * Accounts `<name>@localhost` (password `<name>-secret`, display name in capitals, privacy
 * allow-all) for each of `names`; with `everyoneAdds`, each has every other on its forward
 * list. Returns their ids by name.
 */
export async function createPeople(
  core: Core,
  names: readonly string[],
  everyoneAdds = true,
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const name of names) {
    const account = await core.accounts.create({
      privacy: 'allow-all',
      handle: `${name}@localhost`,
      password: `${name}-secret`,
      displayName: name.toUpperCase(),
    });
    ids.set(name, account.id);
  }
  if (!everyoneAdds) return ids;
  for (const name of names) {
    for (const other of names) {
      if (other !== name) await core.relationships.addForward(ids.get(name) ?? '', `${other}@localhost`);
    }
  }
  return ids;
}

/**
 * MSN Messenger 7.5 (MSNP12) signed in on `node`'s TCP port as `<name>@localhost` (the
 * password `createPeople` gives), contact list synced and online.
 */
export async function msnOnline(
  node: TestServer,
  name: string,
  password = `${name}-secret`,
): Promise<MsnpTestClient> {
  const client = await msnpSignIn(node, { version: 12, handle: `${name}@localhost`, password });
  await sync(12, client);
  await msnpSetStatus(client, 12, 'NLN', { first: true });
  return client;
}
