import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { RawWsClient } from '../support/xmpp-websocket.ts';

/** Waits for the socket to close; resolves with what the server wrote and how long it took. */
function closedWithin(socket: net.Socket, limitMs: number): Promise<{ data: string; ms: number }> {
  const started = Date.now();
  let data = '';
  socket.on('data', (chunk: Buffer) => {
    data += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${limitMs} ms`)), limitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data, ms: Date.now() - started });
    });
  });
}

/** Issue 13 item 2: a slow client cannot hold HTTP connections for minutes. */
describe('HTTP request and handshake deadlines', () => {
  let server: TestServer;
  const sockets: net.Socket[] = [];
  const connect = async (port: number) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    await new Promise((resolve) => socket.once('connect', resolve));
    return socket;
  };

  before(async () => {
    server = await startTestServer({
      PAPILLON_HTTP_REQUEST_TIMEOUT_SECONDS: '1',
      PAPILLON_TLS_HANDSHAKE_TIMEOUT_SECONDS: '1',
    });
    await server.server.core.accounts.create({
      privacy: 'allow-all',
      handle: 'alice@localhost',
      password: 'alice-secret',
    });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await server.stop();
  });

  it('cuts off a request body trickled one byte at a time', async () => {
    const socket = await connect(server.port('http'));
    socket.write(
      'POST /oauth20_token.srf HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n',
    );
    const trickle = setInterval(() => socket.writable && socket.write('a'), 100);
    try {
      const { data, ms } = await closedWithin(socket, 4_000);
      assert.match(data, /^HTTP\/1\.1 408/);
      assert.ok(ms >= 900 && ms < 2_500, `closed after ${ms} ms`);
    } finally {
      clearInterval(trickle);
    }
  });

  it('cuts off headers trickled one byte at a time', async () => {
    const socket = await connect(server.port('http'));
    const header = 'GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ';
    socket.write(header);
    const trickle = setInterval(() => socket.writable && socket.write('b'), 100);
    try {
      const { ms } = await closedWithin(socket, 4_000);
      assert.ok(ms >= 900 && ms < 2_500, `closed after ${ms} ms`);
    } finally {
      clearInterval(trickle);
    }
  });

  it('drops an HTTPS connection that never sends its ClientHello', async () => {
    const socket = await connect(server.port('https'));
    const { ms } = await closedWithin(socket, 4_000);
    assert.ok(ms >= 900 && ms < 2_500, `closed after ${ms} ms`);
  });

  it('still serves normal requests, and leaves WebSocket connections open past the deadline', async () => {
    const health = await fetch(`http://127.0.0.1:${server.port('http')}/health`);
    assert.equal(health.status, 200);
    const ws = await RawWsClient.connect(server);
    try {
      await ws.login('alice@localhost', 'alice-secret', 'web');
      await new Promise((r) => setTimeout(r, 2_500));
      assert.equal(ws.closeCode, undefined);
      ws.send(
        `<iq xmlns='jabber:client' type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
      );
      const pong = await ws.waitFor((m) => m.includes("id='p1'") || m.includes('id="p1"'));
      assert.match(pong, /type=['"]result['"]/);
    } finally {
      ws.close();
    }
  });
});
