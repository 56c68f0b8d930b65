/**
 * Issue 13 item 5: one address cannot fill the HTTP gateway's session table with
 * sessions that never sign in. Real sockets from two loopback addresses (127.0.0.1 and
 * 127.0.0.2), a real NS session behind each gateway session.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from '../../src/http/app.ts';
import { GatewaySessions } from '../../src/msnp/gateway/gateway-sessions.ts';
import { msnpGatewayRoutes } from '../../src/msnp/gateway/routes.ts';
import { type MsnpListeners, startMsnpListeners } from '../../src/msnp/listener.ts';
import { capturingLogger } from '../support/capturing-logger.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';

interface Reply {
  status: number;
  messenger: string;
  retryAfter: string | undefined;
  body: string;
}

/** One POST to the gateway from `from` (a local address the kernel can send from). */
function post(port: number, query: string, body: string, from = '127.0.0.1'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress: from,
        method: 'POST',
        path: `/gateway/gateway.dll?${query}`,
        headers: { 'content-type': 'application/x-msn-messenger', connection: 'close' },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            messenger: String(res.headers['x-msn-messenger'] ?? ''),
            retryAfter: res.headers['retry-after'] as string | undefined,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const open = (port: number, from?: string) =>
  post(port, 'Action=open&Server=NS&IP=messenger.hotmail.com', 'VER 1 MSNP8 CVR0\r\n', from);

describe('MSNP HTTP gateway: sessions not signed in, per address', () => {
  const LIMIT = 3;
  const log = capturingLogger('info', 'json');
  let server: TestServer;
  let listeners: MsnpListeners;
  let sessions: GatewaySessions;
  let app: FastifyInstance;
  let port: number;
  /** The SessionIDs 127.0.0.1 was given. */
  const opened: string[] = [];

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    listeners = await startMsnpListeners(core, log.logger, {
      bind: '127.0.0.1',
      nsPort: 0,
      sbPort: 0,
      domain: 'localhost',
    });
    sessions = new GatewaySessions(listeners.context, { maxUnauthenticatedPerAddress: LIMIT });
    app = buildHttpApp({
      core,
      logger: log.logger,
      version: 'test',
      startedAt: Date.now(),
      plugins: [msnpGatewayRoutes(listeners.context, { sessions })],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    port = address.port;
    await core.accounts.create({ handle: 'hana@localhost', password: 'hana-secret-pw' });
  });
  after(async () => {
    sessions.closeAll();
    await listeners.stop();
    await app.close();
    await server.stop();
  });

  it('refuses a flood of opens from one address with 429, logs it once, and lets another address in', async () => {
    // The issue's probe, scaled down: many opens at once from one address.
    const flood = await Promise.all(Array.from({ length: 60 }, () => open(port)));
    const accepted = flood.filter((r) => r.status === 200);
    const refused = flood.filter((r) => r.status === 429);
    assert.equal(accepted.length, LIMIT);
    assert.equal(refused.length, 60 - LIMIT);
    for (const r of refused) {
      assert.match(r.messenger, /^Session=close/);
      assert.equal(r.retryAfter, '60');
    }
    for (const r of accepted) {
      assert.match(r.body, /^VER 1 MSNP8/);
      opened.push(/SessionID=([^;]+)/.exec(r.messenger)?.[1] ?? '');
    }
    assert.equal(sessions.size, LIMIT);

    // Another address is not affected.
    const other = await open(port, '127.0.0.2');
    assert.equal(other.status, 200);
    assert.match(other.messenger, /^SessionID=/);

    const lines = log.lines().filter((l) => /not signed in \(the limit\)/.test(l));
    assert.equal(lines.length, 1, 'one line for the whole flood');
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(line.client, '127.0.0.1');
    assert.equal(line.limit, LIMIT);
  });

  it('a session that signs in frees its place', async () => {
    const core = server.server.core;
    const session = opened[0];
    assert.ok(session && sessions.get(session));
    const ticket = await core.tickets.issue((await core.accounts.get('hana@localhost')).id);
    const signIn = await post(
      port,
      `SessionID=${session}`,
      'CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 5.0.0537 MSMSGS hana@localhost\r\n' +
        'USR 3 TWN I hana@localhost\r\n' +
        `USR 4 TWN S t=${ticket.t}&p=\r\n`,
    );
    assert.equal(signIn.status, 200);
    assert.match(signIn.body, /^USR 4 OK hana@localhost/m);
    // One place again for 127.0.0.1, and only one.
    assert.equal((await open(port)).status, 200);
    assert.equal((await open(port)).status, 429);
  });
});
