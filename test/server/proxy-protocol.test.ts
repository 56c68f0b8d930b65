/**
 * Behind a TCP load balancer that speaks the PROXY protocol (config `proxyProtocol`,
 * HAProxy's `send-proxy-v2`): every listener takes the client's address from the header,
 * so sessions, sign-in logs and throttles name the client and not the balancer.
 * The balancer is a relay in this process (support/proxy-relay.ts) and, where installed,
 * a real HAProxy.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import type { MsnpCommand } from '../../src/msnp/codec/command.ts';
import { capturingLogger } from '../support/capturing-logger.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { proxyV1, proxyV2, type Relay, startRelay } from '../support/proxy-relay.ts';
import { csrfOf, WebClient } from '../support/web-client.ts';
import { RawXmppClient, SaslFailure } from '../support/xmpp-raw.ts';

const HAPROXY = '/usr/sbin/haproxy';

/** MSNP2–7 sign-in (MD5, docs/msnp-reference.md §5.1), reconnecting through `connect` after the dispatch referral. */
async function msnpMd5(
  connect: () => Promise<MsnpTestClient>,
  handle: string,
  password: string,
): Promise<{ client: MsnpTestClient; reply: MsnpCommand }> {
  for (let hop = 0; hop < 2; hop++) {
    const client = await connect();
    client.send(`VER ${client.trid()} MSNP7 CVR0`);
    await client.expect('VER');
    client.send(`INF ${client.trid()}`);
    await client.expect('INF');
    client.send(`USR ${client.trid()} MD5 I ${handle}`);
    const challenge = await client.next();
    if (challenge.name === 'XFR') {
      // The balancer's address is where a client reconnects (publicHost in a cluster).
      await client.close();
      continue;
    }
    const proof = createHash('md5')
      .update((challenge.args[3] ?? '') + password)
      .digest('hex');
    client.send(`USR ${client.trid()} MD5 S ${proof}`);
    return { client, reply: await client.next() };
  }
  throw new Error('referred twice');
}

/** Resolves once the server has closed `socket`, with everything it sent before. */
function closedWith(socket: net.Socket): Promise<string> {
  let received = '';
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
  });
  socket.on('error', () => {});
  return new Promise((resolve) => socket.on('close', () => resolve(received)));
}

describe('PROXY protocol from a listed load balancer (proxyProtocol 127.0.0.1)', { timeout: 60_000 }, () => {
  let server: TestServer;
  const log = capturingLogger('debug', 'json');
  const relays: Relay[] = [];
  const open: Array<{ destroy(): void }> = [];

  /** A balancer in front of `listener` that says every connection comes from `client`. */
  const balancer = async (listener: string, header: Buffer): Promise<number> => {
    const relay = await startRelay(server.port(listener), () => header);
    relays.push(relay);
    return relay.port;
  };
  const sessionsOf = (handle: string) =>
    server.server.core.liveSessions.list().filter((s) => s.handle === handle);
  const xmppVia = (port: number, tlsPort?: number) => ({ port, tlsPort, ca: server.ca });

  before(async () => {
    server = await startTestServer(
      { PAPILLON_PROXY_PROTOCOL: '127.0.0.1', PAPILLON_SIGNUPS_PER_HOUR: '1' },
      { logger: log.logger },
    );
    for (const name of ['ann', 'ben', 'cal', 'dot', 'eli']) {
      await server.server.core.accounts.create({
        handle: `${name}@localhost`,
        password: `${name}-secret-pw`,
        displayName: name,
      });
    }
  });
  after(async () => {
    for (const c of open) c.destroy();
    for (const r of relays) await r.close();
    await server.stop();
  });

  it('XMPP with STARTTLS (v1 header): the session is the client’s address', async () => {
    const port = await balancer('xmpp', proxyV1({ address: '203.0.113.7', port: 40001 }));
    const xmpp = await RawXmppClient.login(xmppVia(port), { username: 'ann', password: 'ann-secret-pw' });
    open.push(xmpp);
    assert.deepEqual(
      sessionsOf('ann@localhost').map((s) => s.address),
      ['203.0.113.7'],
    );
  });

  it('XMPP with direct TLS (v2 header, IPv6): the header precedes the TLS handshake', async () => {
    const tlsPort = await balancer('xmpps', proxyV2({ address: '2001:db8::7', port: 40002 }));
    const xmpp = await RawXmppClient.login(xmppVia(0, tlsPort), {
      username: 'ben',
      password: 'ben-secret-pw',
      transport: 'direct',
    });
    open.push(xmpp);
    assert.deepEqual(
      sessionsOf('ben@localhost').map((s) => s.address),
      ['2001:db8::7'],
    );
  });

  it('MSNP (v2 header): the session is the client’s address; a LOCAL header keeps the balancer’s', async () => {
    const port = await balancer('msnp', proxyV2({ address: '198.51.100.4', port: 40003 }));
    const signedIn = await msnpMd5(() => MsnpTestClient.connect(port), 'cal@localhost', 'cal-secret-pw');
    open.push({ destroy: () => void signedIn.client.close() });
    assert.equal(signedIn.reply.args[1], 'OK', signedIn.client.lines.join('\n'));
    assert.deepEqual(
      sessionsOf('cal@localhost').map((s) => s.address),
      ['198.51.100.4'],
    );

    // LOCAL: the balancer speaking for itself (its health checks).
    const local = await balancer('msnp', proxyV2(undefined));
    const own = await msnpMd5(() => MsnpTestClient.connect(local), 'dot@localhost', 'dot-secret-pw');
    open.push({ destroy: () => void own.client.close() });
    assert.equal(own.reply.args[1], 'OK');
    assert.deepEqual(
      sessionsOf('dot@localhost').map((s) => s.address),
      ['127.0.0.1'],
    );
  });

  it('locks the forwarded address after 5 wrong passwords, not the balancer’s other clients', async () => {
    // XMPP: 5 wrong passwords from one client…
    const guesser = await balancer('xmpp', proxyV1({ address: '203.0.113.66', port: 50000 }));
    const neighbour = await balancer('xmpp', proxyV1({ address: '203.0.113.67', port: 50001 }));
    const login = (port: number, password: string) =>
      RawXmppClient.login(xmppVia(port), { username: 'eli', password });
    for (let n = 0; n < 5; n++) {
      await assert.rejects(login(guesser, `wrong ${n}`), SaslFailure);
    }
    // …and the right one is refused there, while another client of the same balancer gets in.
    await assert.rejects(login(guesser, 'eli-secret-pw'), SaslFailure);
    const xmpp = await login(neighbour, 'eli-secret-pw');
    open.push(xmpp);

    // MSNP likewise: USR … 911 from the locked client, OK from its neighbour.
    const msnpGuesser = await balancer('msnp', proxyV1({ address: '203.0.113.68', port: 50002 }));
    const msnpNeighbour = await balancer('msnp', proxyV1({ address: '203.0.113.69', port: 50003 }));
    for (let n = 0; n < 5; n++) {
      const attempt = await msnpMd5(() => MsnpTestClient.connect(msnpGuesser), 'dot@localhost', `no ${n}`);
      assert.equal(attempt.reply.name, '911');
    }
    const refused = await msnpMd5(
      () => MsnpTestClient.connect(msnpGuesser),
      'dot@localhost',
      'dot-secret-pw',
    );
    assert.equal(refused.reply.name, '911');
    const admitted = await msnpMd5(
      () => MsnpTestClient.connect(msnpNeighbour),
      'dot@localhost',
      'dot-secret-pw',
    );
    open.push({ destroy: () => void admitted.client.close() });
    assert.equal(admitted.reply.args[1], 'OK');

    // The sign-in lines fail2ban reads name the client, never the balancer.
    const lines = log.messages().filter((m) => m.startsWith('sign-in '));
    assert.ok(
      lines.some((l) => /^sign-in failed from 203\.0\.113\.66 \(xmpp-/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => l.startsWith('sign-in throttled from 203.0.113.68 (msnp-md5)')),
      lines.join('\n'),
    );
    assert.ok(!lines.some((l) => /^sign-in (failed|throttled) from 127\.0\.0\.1/.test(l)), lines.join('\n'));
  });

  it('HTTP and HTTPS: the sign-up limit counts each forwarded client', async () => {
    const signUp = async (base: string, name: string) => {
      const browser = new WebClient(base, server.ca);
      const form = await browser.get('/signup');
      const password = 'correct horse battery';
      const res = await browser.post('/signup', {
        csrf: csrfOf(form.body),
        name,
        password,
        confirm: password,
      });
      return res.status;
    };
    const http = async (address: string) =>
      `http://127.0.0.1:${await balancer('http', proxyV1({ address, port: 1234 }))}`;
    const https = async (address: string) =>
      `https://127.0.0.1:${await balancer('https', proxyV2({ address, port: 1234 }))}`;

    assert.equal(await signUp(await http('192.0.2.1'), 'fay'), 303);
    assert.equal(await signUp(await http('192.0.2.2'), 'gus'), 303, 'another client of the balancer');
    assert.equal(await signUp(await http('192.0.2.1'), 'hal'), 429, 'the first client again');

    assert.equal(await signUp(await https('192.0.2.3'), 'ivy'), 303);
    assert.equal(await signUp(await https('192.0.2.4'), 'jon'), 303);
    assert.equal(await signUp(await https('192.0.2.3'), 'kay'), 429);
  });

  it('closes a connection from the balancer that does not start with a header, on every port', async () => {
    const before = log.messages().filter((m) => m.startsWith('PROXY protocol: closing')).length;
    const msnp = net.connect(server.port('msnp'), '127.0.0.1');
    msnp.write('VER 1 MSNP8 CVR0\r\n');
    assert.equal(await closedWith(msnp), '', 'no VER answer');

    const xmpp = net.connect(server.port('xmpp'), '127.0.0.1');
    xmpp.write("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' ");
    assert.equal(await closedWith(xmpp), '', 'no stream header');

    const direct = tls.connect({
      port: server.port('xmpps'),
      host: '127.0.0.1',
      ca: server.ca,
      servername: 'localhost',
    });
    assert.equal(await closedWith(direct), '', 'no TLS session');

    const http = net.connect(server.port('http'), '127.0.0.1');
    http.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.equal(await closedWith(http), '', 'no HTTP answer');

    // A header cut short: the connection ends inside it.
    const cut = net.connect(server.port('msnp'), '127.0.0.1');
    cut.end('PROXY TCP4 192.0.2.1');
    await closedWith(cut);

    const closing = log.messages().filter((m) => m.startsWith('PROXY protocol: closing'));
    assert.equal(closing.length - before, 5, closing.join('\n'));
    assert.match(closing.at(-1) ?? '', /from 127\.0\.0\.1:\d+: the connection ended inside the PROXY header/);
  });

  it('reads no header from an address not listed: there it is just bad protocol bytes', async () => {
    // 127.0.0.2 is another loopback address: a client that is not the balancer.
    const socket = net.connect({ port: server.port('http'), host: '127.0.0.1', localAddress: '127.0.0.2' });
    socket.write(
      Buffer.concat([
        proxyV1({ address: '192.0.2.99', port: 1 }),
        Buffer.from('GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
      ]),
    );
    const answer = await closedWith(socket);
    assert.match(answer, /^HTTP\/1\.1 400 /);

    // MSNP from there with no header at all signs in as itself.
    const plain = await msnpMd5(
      () => MsnpTestClient.connect(server.port('msnp'), '127.0.0.1', '127.0.0.2'),
      'ann@localhost',
      'ann-secret-pw',
    );
    open.push({ destroy: () => void plain.client.close() });
    assert.equal(plain.reply.args[1], 'OK');
    assert.ok(sessionsOf('ann@localhost').some((s) => s.address === '127.0.0.2'));
  });
});

/** A free TCP port on 127.0.0.1 (HAProxy needs a number before it starts). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Resolves once something accepts connections on 127.0.0.1:`port`. */
async function acceptingOn(port: number, haproxy: ChildProcess): Promise<void> {
  for (;;) {
    if (haproxy.exitCode !== null) throw new Error(`haproxy exited with ${haproxy.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('behind a real HAProxy with send-proxy-v2', {
  skip: !existsSync(HAPROXY) && `${HAPROXY} not installed`,
}, () => {
  let server: TestServer;
  let haproxy: ChildProcess;
  let dir: string;
  const ports: Record<string, number> = {};

  before(async () => {
    server = await startTestServer({ PAPILLON_PROXY_PROTOCOL: '127.0.0.1' });
    await server.server.core.accounts.create({ handle: 'max@localhost', password: 'max-secret-pw' });
    dir = mkdtempSync(path.join(tmpdir(), 'papillon-haproxy-'));
    const sections: string[] = [];
    for (const name of ['msnp', 'xmpps']) {
      ports[name] = await freePort();
      sections.push(
        `frontend ${name}`,
        `  bind 127.0.0.1:${ports[name]}`,
        `  default_backend ${name}`,
        `backend ${name}`,
        `  server papillon 127.0.0.1:${server.port(name)} send-proxy-v2`,
      );
    }
    const config = [
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 60s',
      '  timeout server 60s',
      ...sections,
      '',
    ].join('\n');
    writeFileSync(path.join(dir, 'haproxy.cfg'), config);
    haproxy = spawn(HAPROXY, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    for (const port of Object.values(ports)) await acceptingOn(port, haproxy);
  });
  after(async () => {
    if (haproxy && haproxy.exitCode === null) {
      const exited = new Promise((resolve) => haproxy.once('exit', resolve));
      haproxy.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    await server?.stop();
  });

  it('MSNP and XMPP direct TLS through HAProxy show the client’s own address', async () => {
    // The client is 127.0.0.2; HAProxy, the listed balancer, connects from 127.0.0.1.
    const msnp = await msnpMd5(
      () => MsnpTestClient.connect(ports.msnp ?? 0, '127.0.0.1', '127.0.0.2'),
      'max@localhost',
      'max-secret-pw',
    );
    assert.equal(msnp.reply.args[1], 'OK');
    const tcp = net.connect({ port: ports.xmpps ?? 0, host: '127.0.0.1', localAddress: '127.0.0.2' });
    const direct = tls.connect({ socket: tcp, ca: server.ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      direct.once('secureConnect', resolve);
      direct.once('error', reject);
    });
    direct.write(
      "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
    );
    const header = await new Promise<string>((resolve) =>
      direct.once('data', (d: Buffer) => resolve(d.toString())),
    );
    assert.match(header, /<stream:stream /, 'the TLS handshake and stream went through');
    const addresses = server.server.core.liveSessions.list().map((s) => s.address);
    assert.deepEqual(addresses, ['127.0.0.2']);
    direct.destroy();
    await msnp.client.close();
  });
});
