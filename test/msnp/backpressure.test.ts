import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from '../../src/http/app.ts';
import { GatewaySessions } from '../../src/msnp/gateway/gateway-sessions.ts';
import { msnpGatewayRoutes } from '../../src/msnp/gateway/routes.ts';
import { type MsnpListeners, startMsnpListeners } from '../../src/msnp/listener.ts';
import { MemoryBudget } from '../../src/util/memory-budget.ts';
import { capturingLogger } from '../support/capturing-logger.ts';
import { ANY_PORTS, runCli, startServe } from '../support/cli.ts';
import { budgetReturned } from '../support/memory-budget.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';

const KB = 1024;
const MB = 1024 * KB;

/**
 * Issue 13: `CVR` echoes the client's version three times, so 8 KB lines (the longest
 * accepted) make 24 KB replies: the cheapest way to make a server write a lot.
 */
function cvrFlood(handle: string, lines = 8): Buffer {
  const line = `CVR 9 0x0409 winnt 5.1 i386 MSNMSGR ${'9'.repeat(8000)} MSMSGS ${handle}\r\n`;
  return Buffer.from(line.repeat(lines));
}

/**
 * Floods `client` (which has stopped reading) until the server stops reading it
 * (`blocked`), it is closed, or `maxBytes` went out.
 */
async function flood(
  client: MsnpTestClient,
  data: Buffer,
  maxBytes: number,
  onBatch: () => void = () => {},
): Promise<{ sent: number; result: 'blocked' | 'closed' | 'all sent' }> {
  let sent = 0;
  while (sent < maxBytes) {
    const result = await client.writeWhenReady(data);
    onBatch();
    if (result !== 'sent') return { sent, result };
    sent += data.length;
  }
  return { sent, result: 'all sent' };
}

interface LogLine {
  level: number;
  msg: string;
  client?: string;
  handle?: string;
  reason?: string;
}

describe('MSNP backpressure (test-sized bounds)', () => {
  let server: TestServer;
  let front: MsnpListeners;
  /** The test server, with its MSNP port replaced by this test's front. */
  let via: TestServer;
  let budget: MemoryBudget;
  let capture: ReturnType<typeof capturingLogger>;
  let app: FastifyInstance;
  let base: string;

  const warnings = () =>
    capture
      .lines()
      .map((l) => JSON.parse(l) as LogLine)
      .filter((l) => l.level === 40 && l.msg.startsWith('MSNP client'));
  const warned = async (match: (l: LogLine) => boolean) => {
    for (let i = 0; i < 100 && !warnings().some(match); i++) await new Promise((r) => setTimeout(r, 20));
    return warnings().find(match);
  };

  before(async () => {
    server = await startTestServer();
    capture = capturingLogger('info', 'json');
    budget = new MemoryBudget(64 * MB);
    // A second MSNP front on the same core, with small bounds and a short stall.
    front = await startMsnpListeners(server.server.core, capture.logger, {
      bind: '127.0.0.1',
      nsPort: 0,
      sbPort: 0,
      domain: 'localhost',
      flow: { budget, output: { soft: 64 * KB, hard: 1 * MB, stallMs: 300 } },
    });
    via = { ...server, port: (name: string) => (name === 'msnp' ? front.nsPort : server.port(name)) };
    for (const name of ['flood', 'calm']) {
      await server.server.core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-secret`,
      });
    }
    const sessions = new GatewaySessions(front.context, { maxBufferedBytes: 200 * KB });
    app = buildHttpApp({
      core: server.server.core,
      logger: capture.logger,
      version: 'test',
      startedAt: Date.now(),
      plugins: [msnpGatewayRoutes(front.context, { sessions })],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    await app.close();
    await front.stop();
    await server.stop();
  });

  it('a signed-in client that floods and never reads is stopped, then dropped with a warning; others are served', async () => {
    const flooder = await msnpSignIn(via, {
      version: 8,
      handle: 'flood@localhost',
      password: 'flood-secret',
    });
    const calm = await msnpSignIn(via, { version: 8, handle: 'calm@localhost', password: 'calm-secret' });
    flooder.stopReading();
    let peak = 0;
    const { sent, result } = await flood(flooder, cvrFlood('flood@localhost'), 64 * MB, () => {
      peak = Math.max(peak, budget.used);
    });
    assert.notEqual(result, 'all sent', `the server read all ${sent} bytes without stopping`);
    // Meanwhile another client is served.
    calm.send('PNG');
    await calm.expect('QNG');
    await flooder.closed(10_000);
    assert.ok(peak <= 2 * MB, `the server held ${peak} bytes for it`);
    const line = await warned((l) => l.handle === 'flood@localhost');
    assert.ok(line, 'a warning names the client');
    assert.equal(line.client, '127.0.0.1');
    assert.equal(line.reason, 'stalled');
    assert.match(line.msg, /127\.0\.0\.1 \(flood@localhost\)/);
    calm.send('PNG');
    await calm.expect('QNG');
    await calm.close();
    await budgetReturned(budget);
  });

  it('a CVR flood before signing in stays bounded and is closed', async () => {
    const client = await MsnpTestClient.connect(front.nsPort);
    client.send('VER 1 MSNP8 CVR0');
    await client.expect('VER');
    client.stopReading();
    let peak = 0;
    const { result } = await flood(client, cvrFlood('nobody@localhost'), 64 * MB, () => {
      peak = Math.max(peak, budget.used);
    });
    assert.notEqual(result, 'all sent');
    await client.closed(10_000);
    assert.ok(peak <= 2 * MB, `the server held ${peak} bytes for it`);
    assert.ok(await warned((l) => l.handle === undefined && l.reason === 'stalled'));
  });

  it('commands faster than they are handled: past the input bound the connection is closed', async () => {
    // 50,000 commands in one gateway request cannot be paused like a socket: the queue's hard bound closes it.
    const body = Buffer.from(`VER 1 MSNP8 CVR0\r\n${'PNG\r\n'.repeat(50_000)}`);
    const res = await fetch(`${base}/gateway/gateway.dll?Action=open&Server=NS&IP=127.0.0.1`, {
      method: 'POST',
      body,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('x-msn-messenger') ?? '', /Session=close/);
    assert.ok(await warned((l) => l.reason === 'input'));
  });

  it('the gateway keeps at most its bound of output for a client that does not poll', async () => {
    const open = await fetch(`${base}/gateway/gateway.dll?Action=open&Server=NS&IP=127.0.0.1`, {
      method: 'POST',
      body: `VER 1 MSNP8 CVR0\r\n${cvrFlood('nobody@localhost', 20).toString()}`,
    });
    const body = Buffer.from(await open.arrayBuffer());
    assert.match(open.headers.get('x-msn-messenger') ?? '', /Session=close/);
    assert.ok(body.length <= 200 * KB);
    assert.ok(await warned((l) => l.reason === 'output'));
    await budgetReturned(budget);
  });
});

describe('MSNP backpressure: the process memory budget', () => {
  let server: TestServer;
  let front: MsnpListeners;
  let budget: MemoryBudget;
  let capture: ReturnType<typeof capturingLogger>;

  before(async () => {
    server = await startTestServer();
    capture = capturingLogger('info', 'json');
    // Eight clients held at over 64 KB each hold more than this.
    budget = new MemoryBudget(400 * KB);
    front = await startMsnpListeners(server.server.core, capture.logger, {
      bind: '127.0.0.1',
      nsPort: 0,
      sbPort: 0,
      domain: 'localhost',
      flow: { budget, output: { soft: 64 * KB, hard: 4 * MB, stallMs: 60_000 } },
    });
  });
  after(async () => {
    await front.stop();
    await server.stop();
  });

  it('many clients each under their own bounds: the largest are closed once the budget is spent', async () => {
    const flooders: MsnpTestClient[] = [];
    for (let i = 0; i < 8; i++) {
      const client = await MsnpTestClient.connect(front.nsPort);
      flooders.push(client);
      client.send('VER 1 MSNP8 CVR0');
      await client.expect('VER');
      client.stopReading();
      const { result } = await flood(client, cvrFlood('nobody@localhost'), 64 * MB);
      assert.notEqual(result, 'all sent');
    }
    await new Promise((r) => setImmediate(r));
    assert.ok(budget.shedCount >= 1, 'some were shed');
    assert.ok(budget.used <= budget.limit, `${budget.used} bytes held, over the budget`);
    const shed = capture.lines().filter((l) => (JSON.parse(l) as LogLine).reason === 'budget');
    assert.equal(shed.length, budget.shedCount);
    // A client that reads is still served.
    const calm = await MsnpTestClient.connect(front.nsPort);
    calm.send('VER 1 MSNP8 CVR0');
    await calm.expect('VER');
    await calm.close();
    await Promise.all(flooders.map((c) => c.close()));
    await budgetReturned(budget);
  });
});

/** The resident set of process `pid`, in bytes (Linux). */
function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * KB;
}

describe('MSNP backpressure: the server process', () => {
  it('a signed-in client that floods and never reads leaves the server’s memory bounded (default bounds)', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-backpressure-'));
    const env: Record<string, string> = {
      PAPILLON_DATA_DIR: dataDir,
      ...ANY_PORTS,
      PAPILLON_LOG_LEVEL: 'warn',
    };
    const add = await runCli(['account', 'add', 'flood@localhost', '--password-stdin'], env, 'flood-pw');
    assert.equal(add.code, 0, add.stderr);
    const serve = await startServe({ ...env, PAPILLON_LOG_LEVEL: 'info' }, (l) => l.msg === 'ready');
    const pid = serve.child.pid ?? 0;
    try {
      const ports = new Map<string, number>();
      for (const l of serve.lines)
        if (typeof l.listener === 'string') ports.set(l.listener, l.port as number);
      const msnpPort = ports.get('msnp') ?? assert.fail('no MSNP listener');
      // MSNP5 (MD5): no HTTPS needed, so no certificates to make.
      const server = { port: () => msnpPort } as unknown as TestServer;
      const flooder = await msnpSignIn(server, {
        version: 5,
        handle: 'flood@localhost',
        password: 'flood-pw',
      });
      const start = rss(pid);
      let peak = start;
      flooder.stopReading();
      // Without bounds the server reads all of it and queues three times as much for the flooder.
      const { sent, result } = await flood(flooder, cvrFlood('flood@localhost'), 48 * MB, () => {
        peak = Math.max(peak, rss(pid));
      });
      // Meanwhile another client is served.
      const other = await MsnpTestClient.connect(msnpPort);
      other.send('VER 1 MSNP8 CVR0');
      await other.expect('VER');
      other.send('PNG');
      await other.expect('QNG');
      peak = Math.max(peak, rss(pid));
      assert.ok(
        peak - start < 64 * MB,
        `server RSS grew by ${((peak - start) / MB).toFixed(0)} MB (${(sent / MB).toFixed(0)} MB sent)`,
      );
      assert.equal(result, 'blocked', 'the server stopped reading the flooder');
      await other.close();
    } finally {
      serve.child.kill('SIGTERM');
      await serve.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
