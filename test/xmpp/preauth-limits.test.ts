import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tlsFiles } from '../../src/server/config.ts';
import { createLogger } from '../../src/server/logger.ts';
import { startXmppListeners, type XmppListeners } from '../../src/xmpp/listener.ts';
import { NS } from '../../src/xmpp/namespaces.ts';
import { capturingLogger } from '../support/capturing-logger.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { type RawTarget, RawXmppClient, targetOf, xml } from '../support/xmpp-raw.ts';
import { RawWsClient } from '../support/xmpp-websocket.ts';

/**
 * Issue 13 item 2: before authentication an XMPP connection has a deadline that traffic
 * does not move, a TLS handshake has one too, and one address may hold only so many.
 */
describe('XMPP deadlines and caps before authentication', () => {
  let server: TestServer;
  let target: RawTarget;
  const log = capturingLogger('warn', 'json');
  const clients: Array<{ destroy(): void }> = [];
  const track = <T extends { destroy(): void }>(c: T) => {
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startTestServer({ PAPILLON_UNAUTHENTICATED_PER_ADDRESS: '32' }, { logger: log.logger });
    target = targetOf(server);
    for (const name of ['alice', 'bob']) {
      await server.server.core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-secret`,
      });
    }
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  describe('deadlines', () => {
    let listeners: XmppListeners;
    let short: RawTarget;
    before(async () => {
      // A second listener on the same core with short deadlines (and the idle timer long).
      const files = tlsFiles(server.server.config);
      assert.ok(files);
      listeners = await startXmppListeners(server.server.core, createLogger('silent'), {
        bind: '127.0.0.1',
        port: 0,
        tlsPort: 0,
        domain: 'localhost',
        version: 'test',
        tls: { cert: readFileSync(files.cert), key: readFileSync(files.key) },
        requireTls: true,
        maxStanzaBytes: 262144,
        idleTimeoutMs: 60_000,
        loginTimeoutMs: 1_500,
        tlsHandshakeTimeoutMs: 400,
      });
      short = { port: listeners.port, tlsPort: listeners.tlsPort, ca: server.ca };
    });
    after(() => listeners.stop());

    it('closes a stream that trickles bytes but never signs in with <connection-timeout/>', async () => {
      const c = track(await RawXmppClient.connect(short));
      await c.open();
      const started = Date.now();
      // Whitespace keeps an idle timer happy forever (RFC 6120 §4.6.1); the deadline stays.
      const trickle = setInterval(() => c.socket.writable && c.socket.write(' '), 250);
      try {
        const error = await c.expectStreamError(4_000);
        assert.equal(error.condition, 'connection-timeout');
      } finally {
        clearInterval(trickle);
      }
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 1_000 && elapsed < 3_000, `closed after ${elapsed} ms`);
    });

    it('leaves a session alone once it is bound (STARTTLS and direct TLS)', async () => {
      const viaStartTls = track(
        await RawXmppClient.login(short, { username: 'alice', password: 'alice-secret', resource: 'a' }),
      );
      const direct = track(
        await RawXmppClient.login(short, {
          username: 'bob',
          password: 'bob-secret',
          resource: 'b',
          transport: 'direct',
        }),
      );
      await new Promise((r) => setTimeout(r, 2_000));
      for (const c of [viaStartTls, direct]) {
        const pong = await c.iq(
          xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })),
        );
        assert.equal(pong.attrs.type, 'result');
        assert.equal(c.isClosed, false);
      }
    });

    it('drops a direct TLS connection that never sends its ClientHello', async () => {
      const socket = track(net.connect({ host: '127.0.0.1', port: listeners.tlsPort as number }));
      const started = Date.now();
      await new Promise((resolve, reject) => {
        socket.on('close', resolve);
        socket.on('error', () => {});
        setTimeout(() => reject(new Error('still connected')), 3_000).unref();
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 300 && elapsed < 1_400, `closed after ${elapsed} ms (login deadline: 1,500)`);
    });

    it('drops a STARTTLS connection whose handshake never starts after <proceed/>', async () => {
      const c = track(await RawXmppClient.connect(short));
      await c.open();
      const proceed = c.expect((el) => el.xmlns === NS.tls);
      await c.write(`<starttls xmlns='${NS.tls}'/>`);
      assert.equal((await proceed).name, 'proceed');
      const started = Date.now();
      await c.closed(3_000);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 300 && elapsed < 1_300, `closed after ${elapsed} ms (login deadline: 1,500)`);
    });
  });

  it('refuses the 33rd unauthenticated connection of an address, logs it, and serves the others', async () => {
    // Signed in: not counted.
    const signedIn = track(
      await RawXmppClient.login(target, { username: 'alice', password: 'alice-secret', resource: 'home' }),
    );
    const waiting: RawXmppClient[] = [];
    for (let i = 0; i < 32; i++) {
      const c = track(await RawXmppClient.connect(target));
      await c.open();
      waiting.push(c);
    }
    const refused = track(await RawXmppClient.connect(target));
    const error = await refused.expectStreamError();
    assert.equal(error.condition, 'policy-violation');
    assert.match(error.text ?? '', /not signed in/);
    assert.ok(
      log.messages().some((m) => /^XMPP: 127\.0\.0\.1 holds 32 connections not signed in/.test(m)),
      log.text(),
    );

    // WebSocket connections count with the others (they are the same XmppSession).
    const ws = await RawWsClient.connect(server, {
      url: `ws://127.0.0.1:${server.port('http')}/xmpp-websocket`,
    });
    try {
      const wsError = await ws.waitFor((m) => m.includes('stream:error') || m.includes('<error'));
      assert.match(wsError, /policy-violation/);
      assert.match(wsError, /not signed in/);
    } finally {
      ws.close();
    }

    // Another address signs in meanwhile.
    const elsewhere = track(
      await RawXmppClient.login(target, {
        username: 'bob',
        password: 'bob-secret',
        resource: 'other-host',
        localAddress: '127.0.0.2',
      }),
    );
    assert.equal(elsewhere.jid, 'bob@localhost/other-host');

    // A place freed (by signing in, or by closing) is taken again.
    const first = waiting[0] as RawXmppClient;
    await first.starttls();
    await first.authenticate('bob', 'bob-secret');
    const again = track(await RawXmppClient.connect(target));
    await again.open();
    const second = waiting[1] as RawXmppClient;
    second.destroy();
    await second.closed();
    await new Promise((r) => setTimeout(r, 100));
    const third = track(await RawXmppClient.connect(target));
    await third.open();
    const over = track(await RawXmppClient.connect(target));
    assert.equal((await over.expectStreamError()).condition, 'policy-violation');
    assert.equal(signedIn.isClosed, false);
  });
});
