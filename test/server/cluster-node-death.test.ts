import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCertificates } from '../../src/cli/certs.ts';
import { sharedDatabase } from '../support/cluster.ts';
import { type ProcessNode, startProcessNode } from '../support/cluster-process.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { testPrefix, testRedisUrl } from '../support/redis.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';

/**
 * Issue 11: a node killed (-9) mid-conversation. Its users go offline for everyone else
 * within the node timeout, nothing sent to them meanwhile is lost, and they get it when
 * they sign in again on another node.
 */
describe('a cluster node killed mid-conversation', () => {
  let database: Awaited<ReturnType<typeof sharedDatabase>>;
  let certs: string;
  let survivor: TestServer;
  let victim: ProcessNode;
  const clients: TestXmppClient[] = [];

  before(async () => {
    database = await sharedDatabase();
    certs = mkdtempSync(path.join(tmpdir(), 'papillon-cluster-certs-'));
    await createCertificates({ dir: certs, domain: 'localhost' });
    const env = {
      PAPILLON_DATABASE_URL: database.url,
      PAPILLON_REDIS_URL: testRedisUrl(),
      PAPILLON_REDIS_KEY_PREFIX: testPrefix(),
      PAPILLON_NODE_TIMEOUT_SECONDS: '2',
    };
    survivor = await startTestServer({ ...env, PAPILLON_NODE_ID: 'survivor' }, { certs });
    victim = await startProcessNode({ ...env, PAPILLON_NODE_ID: 'victim' }, certs);
    const core = survivor.server.core;
    const alice = await core.accounts.create({
      handle: 'alice@localhost',
      password: 'alice-pw',
      displayName: 'Alice',
    });
    const bob = await core.accounts.create({
      handle: 'bob@localhost',
      password: 'bob-pw',
      displayName: 'Bob',
    });
    // Mutual subscriptions, as after both approved (RFC 6121 §3.1).
    await core.relationships.addForward(alice.id, bob.handle);
    await core.relationships.addForward(bob.id, alice.handle);
    await core.relationships.allow(alice.id, bob.handle);
    await core.relationships.allow(bob.id, alice.handle);
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.stop()));
    await victim?.kill().catch(() => {});
    await survivor?.stop();
    await database?.drop();
    rmSync(certs, { recursive: true, force: true });
  });

  const connect = async (server: TestServer, username: string, password: string) => {
    const client = await connectXmpp(server, { username, password, resource: 'desk' });
    clients.push(client);
    await client.xmpp.send(xml('presence'));
    return client;
  };
  const chat = (to: string, body: string) => xml('message', { type: 'chat', to }, xml('body', {}, body));
  const bodyIs = (text: string) => (el: { is(n: string): boolean; getChildText(n: string): string | null }) =>
    el.is('message') && el.getChildText('body') === text;

  it('shows its users offline, stores what is sent to them, and delivers it on another node', async () => {
    const alice = await connect(survivor, 'alice', 'alice-pw');
    const bob = await connect(victim.server, 'bob', 'bob-pw');
    // Each sees the other online, across nodes.
    await alice.waitFor(
      (el) => el.is('presence') && el.attrs.from === 'bob@localhost/desk' && !el.attrs.type,
      10_000,
    );
    await bob.waitFor(
      (el) => el.is('presence') && el.attrs.from === 'alice@localhost/desk' && !el.attrs.type,
      10_000,
    );
    await alice.xmpp.send(chat('bob@localhost', 'before'));
    await bob.waitFor(bodyIs('before'), 10_000);

    await victim.kill();
    // Sent while the cluster still believes bob's node is up: nobody confirms it, so it is kept.
    await alice.xmpp.send(chat('bob@localhost', 'while dying'));
    const gone = await alice.waitFor(
      (el) => el.is('presence') && el.attrs.from === 'bob@localhost/desk' && el.attrs.type === 'unavailable',
      20_000,
    );
    assert.ok(gone, 'bob is shown offline once his node is declared dead');
    // Sent after: bob has no session anywhere, so it is kept offline at once.
    await alice.xmpp.send(chat('bob@localhost', 'after'));

    const again = await connect(survivor, 'bob', 'bob-pw');
    const first = await again.waitFor(bodyIs('while dying'), 10_000);
    const second = await again.waitFor(bodyIs('after'), 10_000);
    // XEP-0203: offline messages say when they were sent.
    assert.ok(first.getChild('delay', 'urn:xmpp:delay'));
    assert.ok(second.getChild('delay', 'urn:xmpp:delay'));
    assert.equal(
      again.stanzas.filter((el) => el.is('message') && el.getChildText('body') === 'before').length,
      0,
      'what bob got before his node died is not delivered twice',
    );
  });
});
