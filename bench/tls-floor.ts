/**
 * `npm run bench -- tls-floor [--connections 2000]`: what Node itself needs per idle
 * connection, apart from anything Papillon keeps: a bare server in a child process (no
 * XMPP, no MSNP) holds N connections that did nothing after their TLS handshake, and the
 * growth of its RSS and live JS heap (after a full GC) is divided by N. Plain TCP, TLS 1.3,
 * TLS 1.2 and STARTTLS (a TLS socket wrapping an accepted TCP socket, as the XMPP client
 * port does) are measured in turn, with the bench certificate. It prints figures and
 * asserts nothing (issue 14: the floor under memory per idle XMPP TLS session).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createCertificates } from '../src/cli/certs.ts';
import { numberOption, out, sleep } from './common.ts';

type Mode = 'tcp' | 'tls1.3' | 'tls1.2' | 'starttls';
const MODES: Mode[] = ['tcp', 'tls1.3', 'tls1.2', 'starttls'];
/** What a STARTTLS client sends before its handshake (the server then wraps the socket). */
const GO = 'starttls\n';

interface Mark {
  rss: number;
  heap: number;
  held: number;
}

/**
 * The child, as plain JavaScript run by `node -e` (not through tsx, whose loader would
 * leave freed memory behind that the connections then reuse): serves its mode and
 * answers each message with its RSS, live heap after a full GC and connections held.
 */
const SERVER = `
const [mode, certDir] = process.argv.slice(1);
const { readFileSync } = await import('node:fs');
const net = await import('node:net');
const tls = await import('node:tls');
const v8 = await import('node:v8');
const key = readFileSync(certDir + '/server.key');
const cert = readFileSync(certDir + '/server-chain.crt');
const held = [];
const keep = (socket) => { socket.on('error', () => {}); held.push(socket); };
let server;
if (mode === 'tcp') server = net.createServer(keep);
else if (mode === 'starttls') {
  const secureContext = tls.createSecureContext({ key, cert, minVersion: 'TLSv1.2' });
  server = net.createServer((plain) => {
    plain.on('error', () => {});
    plain.once('data', () => {
      // As <proceed/>: the client starts its handshake only once it read this.
      plain.write(${JSON.stringify(GO)});
      keep(new tls.TLSSocket(plain, { isServer: true, secureContext }));
    });
  });
} else {
  const maxVersion = mode === 'tls1.2' ? 'TLSv1.2' : 'TLSv1.3';
  server = tls.createServer({ key, cert, minVersion: 'TLSv1.2', maxVersion }, keep);
}
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', () => {
  globalThis.gc();
  const rss = Number(/^VmRSS:\\s+(\\d+)\\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
  process.send({ rss, heap: v8.getHeapStatistics().used_heap_size, held: held.length });
});
`;

function next<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve) => child.once('message', (m) => resolve(m as T)));
}

function connect(mode: Mode, port: number, ca: Buffer): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (mode === 'tcp') {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
      socket.on('error', reject);
      return;
    }
    const options = { ca, servername: 'localhost' };
    if (mode !== 'starttls') {
      const socket = tls.connect({ ...options, port, host: '127.0.0.1' }, () => resolve(socket));
      socket.on('error', reject);
      return;
    }
    const plain = net.connect(port, '127.0.0.1', () => plain.write(GO));
    plain.on('error', reject);
    // The server's answer says it wrapped its socket: the ClientHello may follow.
    plain.once('data', () => {
      const socket = tls.connect({ ...options, socket: plain }, () => resolve(socket));
      socket.on('error', reject);
    });
  });
}

async function measure(mode: Mode, count: number, certDir: string): Promise<void> {
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', SERVER, mode, certDir], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { port } = await next<{ port: number }>(child);
    const ca = readFileSync(path.join(certDir, 'ca.crt'));
    // Warm-up: the first connections load code and allocate what is allocated once.
    for (const socket of await Promise.all(Array.from({ length: 32 }, () => connect(mode, port, ca))))
      socket.destroy();
    await sleep(1000);
    child.send('mark');
    const before = await next<Mark>(child);
    const sockets: net.Socket[] = [];
    for (let i = 0; i < count; i += 50) {
      const batch = Math.min(50, count - i);
      sockets.push(...(await Promise.all(Array.from({ length: batch }, () => connect(mode, port, ca)))));
    }
    await sleep(3000);
    child.send('mark');
    const after = await next<Mark>(child);
    const n = after.held - before.held;
    const kb = (bytes: number) => `${(bytes / n / 1024).toFixed(1)} KB`;
    out(
      `  ${mode.padEnd(9)} ${n} idle connections: RSS ${kb(after.rss - before.rss)} per connection, ` +
        `live JS heap ${kb(after.heap - before.heap)}`,
    );
    for (const socket of sockets) socket.destroy();
  } finally {
    child.kill();
  }
}

export async function run(args: string[]): Promise<void> {
  let count = 2000;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--connections') count = Math.floor(numberOption('--connections', args[++i], 1));
    else {
      out('usage: npm run bench -- tls-floor [--connections N]   (default 2000)');
      process.exitCode = args[i] === '--help' || args[i] === '-h' ? 0 : 1;
      return;
    }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'papillon-tls-floor-'));
  try {
    await createCertificates({ dir, domain: 'localhost' });
    out(
      `Node ${process.version}, OpenSSL ${process.versions.openssl}: memory per idle connection of a bare server`,
    );
    for (const mode of MODES) await measure(mode, count, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
