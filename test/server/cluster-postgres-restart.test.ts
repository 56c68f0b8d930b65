import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { msnpSignIn, rstTicket } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { PrivatePostgres } from '../support/private-servers.ts';
import { waitFor } from '../support/redis.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { RawXmppClient, targetOf } from '../support/xmpp-raw.ts';

type Element = TestXmppClient['stanzas'][number];
const chat = (to: string, body: string) => xml('message', { type: 'chat', to }, xml('body', {}, body));
const bodyIs = (text: string) => (el: Element) => el.is('message') && el.getChildText('body') === text;
/** The policy `USR TWN S` gives MSNP8–14 clients for their Passport request (src/msnp/ns/login.ts). */
const TWN_POLICY =
  'lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1,kpp=1,kv=5,ver=2.1.0173.1,tpf=0';

/**
 * Issue 11, "a PostgreSQL restart fails requests cleanly and the nodes recover": a node
 * on a PostgreSQL of this test's own (initdb + pg_ctl on a free port: the machine's
 * shared server serves other tests at the same time, so it is never restarted). While
 * it is stopped, what needs the store fails with the protocol's error and the process
 * stays up; once it is back, the same node signs people in and carries their
 * messages, without a restart.
 */
describe('a PostgreSQL restart under a node', () => {
  let postgres: PrivatePostgres;
  let node: TestServer;
  const open: Array<{ stop(): Promise<void> } | RawXmppClient> = [];

  before(async () => {
    postgres = await PrivatePostgres.start();
    node = await startTestServer({ PAPILLON_DATABASE_URL: postgres.url });
    const core = node.server.core;
    for (const name of ['alice', 'bob', 'mia']) {
      await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-pw`,
      });
    }
  });
  after(async () => {
    for (const c of open) {
      if (c instanceof RawXmppClient) c.destroy();
      else await c.stop().catch(() => {});
    }
    await node?.stop();
    await postgres?.destroy();
  });

  const xmppSignIn = (name: string) =>
    RawXmppClient.login(targetOf(node), { username: name, password: `${name}-pw`, mechanism: 'PLAIN' });
  /** The stream error a sign-in ends with, or `signed in`. */
  const signInOutcome = (name: string) =>
    xmppSignIn(name).then(
      (client) => {
        client.destroy();
        return 'signed in';
      },
      (err: unknown) => /stream error: ([\w-]+)/.exec(String(err))?.[1] ?? String(err),
    );

  it('stopped: requests fail with the protocol’s error, even those in flight; started: the node serves again', async () => {
    const alice = await connectXmpp(node, { username: 'alice', password: 'alice-pw', resource: 'desk' });
    open.push(alice);
    await alice.xmpp.send(xml('presence'));
    // Answered once the presence before it was handled: nothing of alice's is in flight.
    await alice.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));

    // A sign-in whose query is running when its server process dies without a word (a
    // crash; the postmaster then restarts every backend): an exclusive lock held
    // elsewhere keeps the account lookup waiting, with its pooled connection in use.
    const locker = new pg.Client({ connectionString: postgres.url });
    locker.on('error', () => {}); // the crash ends this connection too
    await locker.connect();
    await locker.query('begin');
    await locker.query('lock table account in access exclusive mode');
    const inFlight = signInOutcome('bob');
    let backend: number | undefined;
    await waitFor('the sign-in to wait for the lock', async () => {
      const { rows } = await locker.query<{ pid: number }>(
        "select pid from pg_stat_activity where wait_event_type = 'Lock' and pid <> pg_backend_pid()",
      );
      backend = rows[0]?.pid;
      return backend !== undefined;
    });
    // The connection ends with no error message first: pg fails the query and emits
    // 'error' on its client, which nobody heard while the pool had lent it out: an
    // uncaughtException, which ends a server process (here the runner fails this file).
    process.kill(backend ?? 0, 'SIGKILL');
    assert.equal(await inFlight, 'internal-server-error');
    await locker.end().catch(() => {});
    await postgres.waitReady();
    await postgres.stop();

    // While it is down: a new sign-in is refused by a stream error (RFC 6120 §4.9.3.8),
    // MSN's Passport answers with an HTTP error, and the server goes on answering.
    assert.equal(await signInOutcome('bob'), 'internal-server-error');
    const passport = await rstTicket(node, 'mia@localhost', 'mia-pw', TWN_POLICY);
    assert.equal(passport.status, 500);
    assert.equal(passport.ticket, undefined);
    const page = await fetch(`http://127.0.0.1:${node.port('http')}/`);
    assert.equal(page.status, 200);

    await postgres.startAgain();

    // The same node, not restarted: its pool opens new connections.
    const bob = await connectXmpp(node, { username: 'bob', password: 'bob-pw', resource: 'desk' });
    open.push(bob);
    await bob.xmpp.send(xml('presence'));
    // alice's session lived through it, and reaches bob.
    await alice.xmpp.send(chat('bob@localhost', 'after the restart'));
    await bob.waitFor(bodyIs('after the restart'), 10_000);
    await bob.xmpp.send(chat('alice@localhost', 'welcome back'));
    await alice.waitFor(bodyIs('welcome back'), 10_000);
    const mia = await msnpSignIn(node, { version: 12, handle: 'mia@localhost', password: 'mia-pw' });
    await mia.close();
    // Kept offline (a store write) and delivered: the store takes writes again.
    await alice.xmpp.send(chat('mia@localhost', 'for later'));
    await alice.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    const later = await connectXmpp(node, { username: 'mia', password: 'mia-pw', resource: 'desk' });
    open.push(later);
    await later.xmpp.send(xml('presence'));
    await later.waitFor(bodyIs('for later'), 10_000);
  });
});
