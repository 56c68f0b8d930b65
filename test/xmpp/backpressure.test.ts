import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from '../../src/http/app.ts';
import { MemoryBudget } from '../../src/util/memory-budget.ts';
import { startXmppListeners, type XmppListeners } from '../../src/xmpp/listener.ts';
import { XMPP_WEBSOCKET_PATH, xmppWebSocketRoutes } from '../../src/xmpp/websocket/routes.ts';
import { capturingLogger } from '../support/capturing-logger.ts';
import { budgetReturned } from '../support/memory-budget.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { type RawTarget, RawXmppClient, xml } from '../support/xmpp-raw.ts';
import { RawWsClient } from '../support/xmpp-websocket.ts';

const KB = 1024;
const MB = 1024 * KB;

interface LogLine {
  level: number;
  msg: string;
  client?: string;
  jid?: string;
  reason?: string;
}

/** Issue 13: a vCard request for a contact whose vCard is ~240 KB (its PHOTO): 90 bytes in, 240 KB out. */
const VCARD_GET = "<iq type='get' to='big@localhost' id='v'><vCard xmlns='vcard-temp'/></iq>";

/**
 * Writes `data` until the peer stops taking it (`blocked`: not drained within `ms`), the
 * connection closes, or `maxBytes` went out.
 */
async function flood(
  socket: net.Socket,
  data: Buffer,
  maxBytes: number,
  onBatch: () => void = () => {},
  ms = 1000,
): Promise<{ sent: number; result: 'blocked' | 'closed' | 'all sent' }> {
  let sent = 0;
  while (sent < maxBytes) {
    if (socket.destroyed || !socket.writable) return { sent, result: 'closed' };
    const ready = socket.write(data);
    onBatch();
    sent += data.length;
    if (!ready) {
      const drained = await new Promise<'drain' | 'timeout' | 'closed'>((resolve) => {
        const done = (how: 'drain' | 'timeout' | 'closed') => {
          clearTimeout(timer);
          socket.off('drain', onDrain);
          socket.off('close', onClose);
          resolve(how);
        };
        const onDrain = () => done('drain');
        const onClose = () => done('closed');
        const timer = setTimeout(() => done('timeout'), ms);
        socket.on('drain', onDrain);
        socket.on('close', onClose);
      });
      onBatch();
      if (drained === 'timeout') return { sent, result: 'blocked' };
      if (drained === 'closed') return { sent, result: 'closed' };
    }
  }
  return { sent, result: 'all sent' };
}

/** The test server's certificate, for a second XMPP front. */
function tlsFiles(server: TestServer): { cert: Buffer; key: Buffer } {
  const certs = path.join(server.dataDir, 'certs');
  return {
    cert: readFileSync(path.join(certs, 'server-chain.crt')),
    key: readFileSync(path.join(certs, 'server.key')),
  };
}

describe('XMPP backpressure (test-sized bounds)', () => {
  let server: TestServer;
  let front: XmppListeners;
  let target: RawTarget;
  let budget: MemoryBudget;
  let capture: ReturnType<typeof capturingLogger>;
  let app: FastifyInstance;
  let wsUrl: string;

  const warnings = () =>
    capture
      .lines()
      .map((l) => JSON.parse(l) as LogLine)
      .filter((l) => l.level === 40 && l.msg.startsWith('XMPP client'));
  const warned = async (match: (l: LogLine) => boolean) => {
    for (let i = 0; i < 150 && !warnings().some(match); i++) await new Promise((r) => setTimeout(r, 20));
    return warnings().find(match);
  };
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    capture = capturingLogger('info', 'json');
    budget = new MemoryBudget(64 * MB);
    // A second XMPP front on the same core, with small bounds and a short stall.
    front = await startXmppListeners(core, capture.logger, {
      bind: '127.0.0.1',
      port: 0,
      tlsPort: 0,
      domain: 'localhost',
      version: 'test',
      tls: tlsFiles(server),
      requireTls: true,
      maxStanzaBytes: 256 * KB,
      flow: {
        budget,
        output: { soft: 64 * KB, hard: 1 * MB, stallMs: 300 },
        input: { softTasks: 50, softBytes: 64 * KB, hardBytes: 256 * KB },
      },
    });
    target = { port: front.port, ...(front.tlsPort ? { tlsPort: front.tlsPort } : {}), ca: server.ca };
    for (const name of ['flood', 'calm', 'big', 'burst', 'web']) {
      await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-secret`,
      });
    }
    // The largest vCard there is: its PHOTO is the account's picture (at most 256 KiB, core/pictures.ts).
    const big = await core.accounts.find('big@localhost');
    assert.ok(big);
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(180 * KB)]);
    await core.pictures.set(big.id, png);
    app = buildHttpApp({
      core,
      logger: capture.logger,
      version: 'test',
      startedAt: Date.now(),
      trustProxy: ['127.0.0.1'],
      plugins: [xmppWebSocketRoutes(front, { origins: [] })],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    wsUrl = `ws://127.0.0.1:${address.port}${XMPP_WEBSOCKET_PATH}`;
  });
  after(async () => {
    await app?.close();
    await front?.stop();
    await server?.stop();
  });

  it('a signed-in client that floods vCard requests and never reads is stopped, then closed with a warning; others are served', async () => {
    const calm = await RawXmppClient.login(target, {
      username: 'calm',
      password: 'calm-secret',
      transport: 'direct',
    });
    const flooder = await RawXmppClient.login(target, { username: 'flood', password: 'flood-secret' });
    // One reply to check the vCard is as large as intended.
    const reply = await flooder.iq(
      xml('iq', { type: 'get', to: 'big@localhost' }, xml('vCard', { xmlns: 'vcard-temp' })),
    );
    assert.ok(reply.toString().length > 240 * KB, `the vCard has ${reply.toString().length} bytes`);
    flooder.socket.pause();
    let peak = 0;
    const { sent, result } = await flood(flooder.socket, Buffer.from(VCARD_GET.repeat(300)), 8 * MB, () => {
      peak = Math.max(peak, budget.used);
    });
    // 8 MB of requests would make 20 GB of replies: the server stopped reading long before.
    assert.notEqual(result, 'all sent', `the server read all ${sent} bytes without stopping`);
    // Meanwhile another client is served.
    await calm.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    await flooder.closed(10_000);
    assert.ok(peak <= 2 * MB, `the server held ${peak} bytes for it`);
    const line = await warned((l) => l.jid?.startsWith('flood@localhost/') === true);
    assert.ok(line, 'a warning names the client');
    assert.equal(line.client, '127.0.0.1');
    assert.ok(line.reason === 'stalled' || line.reason === 'output', `reason ${line.reason}`);
    assert.match(line.msg, /127\.0\.0\.1 \(flood@localhost\//);
    await calm.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    calm.destroy();
    await budgetReturned(budget);
  });

  it('stanzas sent faster than they are handled: past the input bound the stream ends with <policy-violation/>', async () => {
    // Bounds a single TLS record (16 KB of small stanzas, parsed in one go before any is
    // handled) goes past; reading pauses at the soft one before the next record.
    const tight = await startXmppListeners(server.server.core, capture.logger, {
      bind: '127.0.0.1',
      port: 0,
      tlsPort: 0,
      domain: 'localhost',
      version: 'test',
      tls: tlsFiles(server),
      requireTls: true,
      maxStanzaBytes: 256 * KB,
      flow: { budget, input: { softTasks: 10, softBytes: 4 * KB, hardBytes: 16 * KB } },
    });
    try {
      const client = await RawXmppClient.login(
        { port: tight.port, ...(tight.tlsPort ? { tlsPort: tight.tlsPort } : {}), ca: server.ca },
        { username: 'burst', password: 'burst-secret', transport: 'direct' },
      );
      const ping = "<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>";
      await client.write(ping.repeat(Math.ceil((512 * KB) / ping.length)));
      const error = await client.expectStreamError(10_000);
      assert.equal(error.condition, 'policy-violation');
      await client.closed(10_000);
      const line = await warned(
        (l) => l.reason === 'input' && l.jid?.startsWith('burst@localhost/') === true,
      );
      assert.ok(line, 'a warning names the client');
      await budgetReturned(budget);
    } finally {
      await tight.stop();
    }
  });

  it('a WebSocket client that floods and never reads is bounded and closed too', async () => {
    // This test's HTTP app is plain: it stands behind a trusted proxy that ended TLS.
    const ws = await RawWsClient.connect(server, { url: wsUrl, headers: { 'X-Forwarded-Proto': 'https' } });
    await ws.login('web@localhost', 'web-secret', 'flood');
    const raw = (ws.ws as unknown as { _socket: net.Socket })._socket;
    raw.pause();
    let peak = 0;
    let result: 'blocked' | 'closed' | 'all sent' = 'all sent';
    const request = VCARD_GET.replace('<iq ', "<iq xmlns='jabber:client' ");
    for (let sent = 0; sent < 40 * MB && result === 'all sent'; ) {
      if (ws.closeCode !== undefined || raw.destroyed) result = 'closed';
      else if (raw.writableLength > 1 * MB) {
        // The server stopped reading: what we sent stays with us.
        await new Promise((r) => setTimeout(r, 1000));
        if (raw.writableLength > 1 * MB) result = 'blocked';
      } else {
        for (let i = 0; i < 100; i++) ws.send(request);
        sent += 100 * request.length;
        await new Promise((r) => setImmediate(r));
      }
      peak = Math.max(peak, budget.used);
    }
    assert.notEqual(result, 'all sent', 'the server read everything without stopping');
    await Promise.race([
      ws.whenClosed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('not closed')), 10_000)),
    ]);
    assert.ok(peak <= 2 * MB, `the server held ${peak} bytes for it`);
    const line = await warned((l) => l.jid === 'web@localhost/flood');
    assert.ok(line, 'a warning names the client');
    assert.ok(line.reason === 'stalled' || line.reason === 'output', `reason ${line.reason}`);
    await budgetReturned(budget);
  });
});

describe('XMPP backpressure: the process memory budget', () => {
  let server: TestServer;
  let front: XmppListeners;
  let budget: MemoryBudget;
  let capture: ReturnType<typeof capturingLogger>;

  before(async () => {
    server = await startTestServer();
    capture = capturingLogger('info', 'json');
    // Unfinished stanzas of 100 KB from eight clients hold more than this.
    budget = new MemoryBudget(400 * KB);
    front = await startXmppListeners(server.server.core, capture.logger, {
      bind: '127.0.0.1',
      port: 0,
      tlsPort: 0,
      domain: 'localhost',
      version: 'test',
      tls: tlsFiles(server),
      requireTls: true,
      maxStanzaBytes: 256 * KB,
      flow: { budget },
    });
  });
  after(async () => {
    await front?.stop();
    await server?.stop();
  });

  it('unfinished stanzas count: the largest holders are closed with <resource-constraint/> once the budget is spent', async () => {
    const target = { port: front.port, ...(front.tlsPort ? { tlsPort: front.tlsPort } : {}), ca: server.ca };
    const clients: RawXmppClient[] = [];
    for (let i = 0; i < 8; i++) {
      const client = await RawXmppClient.connect(target, { transport: 'direct' });
      clients.push(client);
      await client.open();
      // A stanza that never ends (under the 256 KB stanza limit).
      await client.write(`<message><body>${'x'.repeat(100 * KB)}`);
    }
    for (let i = 0; i < 100 && budget.shedCount === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(budget.shedCount >= 1, 'some were shed');
    assert.ok(budget.used <= budget.limit, `${budget.used} bytes held, over the budget`);
    const shed = clients.filter((c) => c.streamError?.condition === 'resource-constraint' || c.isClosed);
    assert.ok(shed.length >= 1);
    const lines = capture.lines().filter((l) => (JSON.parse(l) as LogLine).reason === 'budget');
    assert.equal(lines.length, budget.shedCount);
    for (const c of clients) c.destroy();
    for (let i = 0; i < 100 && budget.used !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(budget.used, 0);
  });
});
