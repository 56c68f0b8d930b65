import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { LocalBus } from '../../src/bus/local.ts';
import { createCertificates } from '../../src/cli/certs.ts';
import { createCore } from '../../src/core/core.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/types.ts';
import { NS } from '../../src/xmpp/namespaces.ts';
import { ANY_PORTS, startServe } from '../support/cli.ts';
import { RawXmppClient, type XmlElement } from '../support/xmpp-raw.ts';

// Issue 13: kill -9 while the server delivers a few thousand offline messages loses none
// of them: after a restart on the same database every one is delivered (some twice).
// Each message is 4 KB, so the backlog (12 MB) is far more than the kernel buffers
// between the two ends: a server that took them from the store before writing them lost
// whatever was still in its own memory when it died.

const COUNT = 3000;
const FILLER = 'x'.repeat(4000);
const PG_URL = process.env.PAPILLON_TEST_DATABASE_URL;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const offlineMessage = (el: XmlElement) =>
  el.name === 'message' && el.getChild('delay', NS.delay) !== undefined;

interface Node {
  child: ChildProcess;
  exited: Promise<number | null>;
  target: { port: number; ca: Buffer };
}

/** `papillon serve` as a child process on `dataDir` (and `env`'s database), every listener on a free port. */
async function serve(dataDir: string, env: Record<string, string>): Promise<Node> {
  const { child, lines, exited } = await startServe(
    { PAPILLON_DATA_DIR: dataDir, ...ANY_PORTS, PAPILLON_LOG_LEVEL: 'info', ...env },
    (line) => line.msg === 'ready',
  );
  const port = lines.find((l) => l.listener === 'xmpp' && typeof l.port === 'number')?.port as number;
  assert.ok(port, 'the XMPP listener is up');
  return { child, exited, target: { port, ca: readFileSync(path.join(dataDir, 'certs', 'ca.crt')) } };
}

async function kill(node: Node): Promise<void> {
  node.child.kill('SIGKILL');
  await node.exited;
}

/** The account and its backlog, written before the server starts. */
async function seed(store: Store): Promise<void> {
  await store.migrate();
  const bus = new LocalBus();
  const core = createCore(store, bus);
  const kim = await core.accounts.create({
    privacy: 'allow-all',
    handle: 'kim@localhost',
    password: 'kim-secret',
  });
  for (let i = 0; i < COUNT; i++) {
    await core.offline.save(kim.id, 'lee@localhost', { kind: 'chat', text: `m${i} ${FILLER}` });
  }
  await bus.close();
  await store.close();
}

/** Signs in and collects offline messages (by their text's number) until `stop` says so or the connection ends. */
async function collect(
  node: Node,
  seen: Set<string>,
  stop: (received: number) => boolean,
  quietMs = 3000,
): Promise<{ client: RawXmppClient; received: number }> {
  const client = await RawXmppClient.login(node.target, { username: 'kim', password: 'kim-secret' });
  await client.presence();
  let received = 0;
  let quiet = 0;
  while (!client.isClosed && !stop(received) && quiet < quietMs) {
    const batch = client.drain(offlineMessage);
    for (const el of batch) seen.add(/^m(\d+) /.exec(el.getChildText('body') ?? '')?.[1] ?? '?');
    received += batch.length;
    quiet = batch.length > 0 ? 0 : quiet + 20;
    await sleep(20);
  }
  return { client, received };
}

async function killMidDelivery(dataDir: string, env: Record<string, string>): Promise<void> {
  const seen = new Set<string>();
  const first = await serve(dataDir, env);
  // kill -9 as soon as the first messages arrive: mid-delivery.
  const during = await collect(first, seen, (received) => received > 0);
  await kill(first);
  // What the kernel still held reaches the client; the rest died with the process.
  await during.client.whenClosed;
  for (const el of during.client.drain(offlineMessage))
    seen.add(/^m(\d+) /.exec(el.getChildText('body') ?? '')?.[1] ?? '?');
  assert.ok(seen.size < COUNT, `killed mid-delivery (${seen.size} of ${COUNT} arrived first)`);

  const second = await serve(dataDir, env);
  try {
    const after = await collect(second, seen, () => seen.size === COUNT, 5000);
    assert.equal(seen.size, COUNT, `every message arrives in the end (${after.received} after the restart)`);
    assert.ok(!seen.has('?'));
    after.client.destroy();
  } finally {
    await kill(second);
  }
}

describe('kill -9 during offline delivery', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  async function dataDir(): Promise<string> {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-offline-kill-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    await createCertificates({ dir: path.join(dir, 'certs'), domain: 'localhost' });
    return dir;
  }

  it('SQLite: nothing lost after the restart on the same file', async () => {
    const dir = await dataDir();
    await seed(await openSqliteStore(path.join(dir, 'papillon.sqlite')));
    await killMidDelivery(dir, {});
  });

  it('PostgreSQL: nothing lost after the restart', {
    skip: PG_URL ? false : 'PAPILLON_TEST_DATABASE_URL not set',
  }, async () => {
    const url = PG_URL as string;
    const schema = `papillon_kill_${randomBytes(6).toString('hex')}`;
    cleanups.push(async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`).finally(() => client.end());
    });
    await seed(await openPostgresStore(url, { schema }));
    const withSchema = new URL(url);
    withSchema.searchParams.set('options', `-c search_path=${schema}`);
    await killMidDelivery(await dataDir(), { PAPILLON_DATABASE_URL: withSchema.toString() });
  });
});
