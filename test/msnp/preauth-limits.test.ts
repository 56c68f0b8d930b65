import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { capturingLogger } from '../support/capturing-logger.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';

/**
 * Issue 13 item 2: one address may hold only so many MSNP connections that have not
 * signed in (990 idle ones took every descriptor); signed-in ones do not count.
 */
describe('MSNP connections per address before sign-in', () => {
  let server: TestServer;
  const log = capturingLogger('warn', 'json');
  const clients: MsnpTestClient[] = [];

  /** A connection the server answers: VER agreed, nothing more (not signed in). */
  const waiting = async (localAddress?: string) => {
    const c = await MsnpTestClient.connect(server.port('msnp'), '127.0.0.1', localAddress);
    clients.push(c);
    c.send(`VER ${c.trid()} MSNP7 CVR0`);
    await c.expect('VER');
    return c;
  };

  before(async () => {
    server = await startTestServer({ PAPILLON_UNAUTHENTICATED_PER_ADDRESS: '32' }, { logger: log.logger });
    for (const name of ['alice', 'bob']) {
      await server.server.core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-secret`,
      });
    }
  });
  after(async () => {
    for (const c of clients) await c.close();
    await server.stop();
  });

  it('drops the 33rd, logs it, and still serves another address and signed-in users', async () => {
    const alice = await msnpSignIn(server, {
      version: 7,
      handle: 'alice@localhost',
      password: 'alice-secret',
    });
    clients.push(alice);
    const held: MsnpTestClient[] = [];
    for (let i = 0; i < 32; i++) held.push(await waiting());

    const refused = await MsnpTestClient.connect(server.port('msnp'));
    clients.push(refused);
    refused.send(`VER ${refused.trid()} MSNP7 CVR0`);
    await refused.closed();
    assert.equal(refused.drain().length, 0, 'closed without an answer');
    assert.ok(
      log.messages().some((m) => /^MSNP: 127\.0\.0\.1 holds 32 connections not signed in/.test(m)),
      log.text(),
    );

    // Another address is served; the signed-in user is still there.
    await waiting('127.0.0.2');
    alice.send(`PNG`);
    await alice.expect('QNG');

    // A place freed by closing is taken again, and only that one.
    await (held[0] as MsnpTestClient).close();
    await new Promise((r) => setTimeout(r, 100));
    await waiting();
    const over = await MsnpTestClient.connect(server.port('msnp'));
    clients.push(over);
    await over.closed();
  });
});
