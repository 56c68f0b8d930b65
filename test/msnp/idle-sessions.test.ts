import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type MsnpListeners, startMsnpListeners } from '../../src/msnp/listener.ts';
import { capturingLogger } from '../support/capturing-logger.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';

/**
 * Issue 14 (memory per idle session): a notification-server session no longer holds a
 * socket timeout of its own, nor its place among the connections not signed in once it
 * has signed in. What a user notices must not change: a client that goes silent is
 * still dropped (and its contacts see it leave), one that pings is kept, and signing in
 * still frees the place for another connection from the same address.
 */
describe('MSNP notification sessions: the idle sweep and the places before sign-in', () => {
  let server: TestServer;
  /** A second MSNP front on the same core with a short idle time (2 s: sweeps every 400 ms). */
  let idleFront: MsnpListeners;
  /** One more, allowing 2 connections not signed in per address. */
  let slotsFront: MsnpListeners;
  const clients: MsnpTestClient[] = [];
  const via = (front: MsnpListeners): TestServer => ({
    ...server,
    port: (name: string) => (name === 'msnp' ? front.nsPort : server.port(name)),
  });
  const signIn = async (front: MsnpListeners, name: string) => {
    const client = await msnpSignIn(via(front), {
      version: 8,
      handle: `${name}@localhost`,
      password: `${name}-secret`,
    });
    clients.push(client);
    return client;
  };

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const { logger } = capturingLogger('warn', 'json');
    const ids = new Map<string, string>();
    for (const name of ['amy', 'bob', 'cat']) {
      const account = await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-secret`,
      });
      ids.set(name, account.id);
    }
    await core.relationships.addForward(ids.get('amy') ?? '', 'bob@localhost');
    await core.relationships.addForward(ids.get('bob') ?? '', 'amy@localhost');
    const common = { bind: '127.0.0.1', nsPort: 0, sbPort: 0, domain: 'localhost' };
    idleFront = await startMsnpListeners(core, logger, { ...common, nsIdleMs: 2000 });
    slotsFront = await startMsnpListeners(core, logger, { ...common, maxUnauthenticatedPerAddress: 2 });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await idleFront.stop();
    await slotsFront.stop();
    await server.stop();
  });

  it('a silent signed-in client is dropped and its contact sees it go offline; a pinging one stays', async () => {
    const amy = await signIn(idleFront, 'amy');
    await msnpSetStatus(amy, 8, 'NLN', { first: true });
    const bob = await signIn(idleFront, 'bob');
    await msnpSetStatus(bob, 8, 'NLN', { first: true });
    // Bob pings as clients do (QNG), only more often than the idle time; Amy sends nothing.
    let pinging = true;
    const pings = (async () => {
      while (pinging && bob.isOpen) {
        bob.send('PNG');
        await bob.expect('QNG');
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await amy.closed(15_000);
      const fln = await bob.expect('FLN', 5000);
      assert.equal(fln.args[0], 'amy@localhost', 'bob sees amy go offline');
    } finally {
      pinging = false;
      await pings;
    }
    assert.ok(bob.isOpen, 'the client that pinged is still connected');
    bob.send('PNG');
    await bob.expect('QNG');
  });

  it('a connection that signs in gives its place back to others from the same address', async () => {
    const waiting = async () => {
      const c = await MsnpTestClient.connect(slotsFront.nsPort);
      clients.push(c);
      c.send(`VER ${c.trid()} MSNP8 CVR0`);
      await c.expect('VER');
      return c;
    };
    await waiting();
    // Takes the second place while it signs in, and frees it once signed in.
    const cat = await signIn(slotsFront, 'cat');
    await waiting();
    const refused = await MsnpTestClient.connect(slotsFront.nsPort);
    clients.push(refused);
    refused.send(`VER ${refused.trid()} MSNP8 CVR0`);
    await refused.closed();
    assert.equal(refused.drain().length, 0, 'the third connection not signed in is closed unanswered');
    cat.send('PNG');
    await cat.expect('QNG');
  });
});
