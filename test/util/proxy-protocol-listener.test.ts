import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireProxyHeader } from '../../src/util/proxy-protocol-listener.ts';
import { proxyV1, proxyV2 } from '../support/proxy-relay.ts';

/**
 * `requireProxyHeader` on a plain TCP server whose connections answer with what they saw:
 * the remote address and port, then every byte they received, until the client ends.
 */
async function echoServer(from: string[], timeoutMs?: number) {
  const logged: string[] = [];
  const server = net.createServer((socket) => {
    const seen: Buffer[] = [];
    socket.on('data', (d: Buffer) => seen.push(d));
    socket.on('end', () => socket.end(`${socket.remoteAddress} ${socket.remotePort} ${Buffer.concat(seen)}`));
  });
  const log = {
    warn: (_: object, message: string) => logged.push(`warn ${message}`),
    debug: (_: object, message: string) => logged.push(`debug ${message}`),
  };
  requireProxyHeader(server, { from, log, ...(timeoutMs ? { timeoutMs } : {}) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, logged, server };
}

/** Connects, writes `pieces` one at a time (a pause between them), ends, and returns the answer. */
async function exchange(port: number, pieces: Buffer[], options: { end?: boolean } = {}): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let answer = '';
  socket.on('data', (d: Buffer) => {
    answer += d.toString('latin1');
  });
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.on('close', resolve));
  await new Promise((resolve) => socket.once('connect', resolve));
  for (const piece of pieces) {
    if (socket.destroyed) break;
    socket.write(piece);
    await sleep(2);
  }
  if (options.end !== false && !socket.destroyed) socket.end();
  await closed;
  return answer;
}

// Bounded: without the header handling, a refused connection would simply stay open.
describe('requireProxyHeader on a TCP server', { timeout: 10_000 }, () => {
  const servers: net.Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });
  const start = async (from: string[], timeoutMs?: number) => {
    const s = await echoServer(from, timeoutMs);
    servers.push(s.server);
    return s;
  };

  it('hands the connection on after the header, reporting its client, with the bytes that followed', async () => {
    const { port } = await start(['127.0.0.1']);
    const header = proxyV2({ address: '192.0.2.44', port: 4321 });
    const answer = await exchange(port, [Buffer.concat([header, Buffer.from('hello')])]);
    assert.equal(answer, '192.0.2.44 4321 hello');
  });

  it('reads a header that arrives byte by byte, and what follows in the same piece as its last byte', async () => {
    const { port } = await start(['127.0.0.1']);
    const header = proxyV1({ address: '198.51.100.8', port: 60000 });
    const pieces = [...header.subarray(0, -1)].map((b) => Buffer.from([b]));
    pieces.push(Buffer.concat([header.subarray(-1), Buffer.from('VER 1 MSNP8\r\n')]));
    assert.equal(await exchange(port, pieces), '198.51.100.8 60000 VER 1 MSNP8\r\n');
  });

  it('keeps the socket address for a LOCAL header', async () => {
    const { port } = await start(['127.0.0.1']);
    assert.match(await exchange(port, [proxyV2(undefined), Buffer.from('x')]), /^127\.0\.0\.1 \d+ x$/);
  });

  it('closes a connection that sends no header within the deadline, and says so', async () => {
    const { port, logged } = await start(['127.0.0.1'], 50);
    assert.equal(await exchange(port, [], { end: false }), '');
    assert.match(
      logged.at(-1) ?? '',
      /^warn PROXY protocol: closing the connection from 127\.0\.0\.1:\d+: no PROXY header within 50 ms$/,
    );
  });

  it('closes a connection whose first bytes are not a header', async () => {
    const { port, logged } = await start(['127.0.0.1']);
    assert.equal(await exchange(port, [Buffer.from('GET / HTTP/1.1\r\n')], { end: false }), '');
    assert.match(logged.at(-1) ?? '', /not a PROXY protocol header/);
  });

  it('lets a balancer leave without a word quietly (a health check)', async () => {
    const { port, logged } = await start(['127.0.0.1']);
    assert.equal(await exchange(port, []), '');
    assert.match(logged.at(-1) ?? '', /^debug .*closed before sending a header/);
  });

  it('closes quietly a connection whose peer reset it before it was accepted (no address to judge)', async () => {
    // What Node hands the server when the peer's RST beat the accept (a balancer's health
    // check): a socket with no remote address. Handed on, its PROXY header would be read
    // as MSNP or XMPP and logged as malformed input.
    const handedOn: net.Socket[] = [];
    const server = net.createServer((socket) => handedOn.push(socket));
    const logged: string[] = [];
    const log = {
      warn: (_: object, message: string) => logged.push(`warn ${message}`),
      debug: (_: object, message: string) => logged.push(`debug ${message}`),
    };
    requireProxyHeader(server, { from: ['127.0.0.1'], log });
    const orphan = new net.Socket();
    assert.equal(orphan.remoteAddress, undefined);
    server.emit('connection', orphan);
    assert.equal(handedOn.length, 0, 'the protocol never sees it');
    assert.equal(orphan.destroyed, true, 'it is closed');
    assert.deepEqual(
      logged.filter((l) => !l.startsWith('debug ')),
      [],
      'nothing above debug is logged',
    );
  });

  it('reads nothing from an address not listed: a header there is plain data', async () => {
    const { port } = await start(['192.0.2.1']);
    const header = proxyV1({ address: '203.0.113.1', port: 1 });
    assert.match(await exchange(port, [header]), new RegExp(`^127\\.0\\.0\\.1 \\d+ ${header.toString()}$`));
  });
});
