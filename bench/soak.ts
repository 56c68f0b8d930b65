/**
 * `npm run bench -- soak [options]` (issue 13): N sessions, half XMPP (STARTTLS + SCRAM),
 * half MSNP12, held with light traffic for M minutes while hostile clients run the whole
 * time (bench/soak-attacks.ts: XMPP, MSNP and HTTP slowloris, and non-reading XMPP and
 * MSNP flooders). Every 10 s it prints the server's RSS, the sessions still alive, the
 * messages, the delivery latency of the window and what the attacks saw; at the end the
 * errors, the lost messages, whether RSS stayed flat after the warm-up, and p99.
 * It prints figures and targets; it asserts nothing.
 */
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Failures, mb, ms, out, Samples, sleep } from './common.ts';
import {
  BASE_DEFAULTS,
  type BaseOptions,
  type Harness,
  parseOptions as parseWith,
  runBench,
  signInMany,
} from './harness.ts';
import { MsnpConn } from './msnp-conn.ts';
import { passportAgent, signIn } from './msnp-login.ts';
import { BENCH_PASSWORD, benchHandle, openFileLimits } from './msnp-server.ts';
import { type NsSession, openSwitchboard } from './msnp-switchboard.ts';
import { type Pair, Traffic } from './msnp-traffic.ts';
import { type Attack, attackAddress, Flooder, openSocket, Slowloris } from './soak-attacks.ts';
import { type Session, signInSessions } from './xmpp.ts';
import type { XmppConn } from './xmpp-conn.ts';
import { signInXmpp, type XmppTarget } from './xmpp-login.ts';
import { ChatTraffic, type Peer } from './xmpp-traffic.ts';

type Options = BaseOptions & { minutes: number; pairs: number; slowloris: number };
type Conn = XmppConn | MsnpConn;

const REPORT_MS = 10_000;
/** Accounts beyond the sessions, signed in one after another by the XMPP flooder. */
const SPARE_ACCOUNTS = 200;
/** RSS at the end within this much of RSS at the end of the warm-up counts as flat. */
const FLAT = 0.1;

const USAGE = `usage: npm run bench -- soak [options]
  --sessions N      sessions in all, half XMPP and half MSNP12 (default 5000; lowered,
                    with a warning, when the open-file limit is too low)
  --minutes M       how long the sessions are held (default 10)
  --rate R          messages per second on each protocol (default 50)
  --pairs P         MSNP switchboard pairs carrying the MSNP messages (default 250)
  --slowloris S     slowloris connections kept open per attack (default 50)
  --concurrency C   logins in flight (default 64)
  --timeout MS      limit for every single wait, and the drain at the end (default 15000)
`;

/** Sockets this process holds (the server holds as many). */
function socketsFor(o: Options): number {
  return o.sessions + 2 * o.pairs + 3 * o.slowloris + 2 * o.concurrency + 64;
}

function parseOptions(args: string[]): Options | undefined {
  const o = parseWith<Options>(
    args,
    { ...BASE_DEFAULTS, sessions: 5000, rate: 50, window: 1, minutes: 10, pairs: 250, slowloris: 50 },
    {
      '--minutes': ['minutes', 0.1, false],
      '--pairs': ['pairs', 1, true],
      '--slowloris': ['slowloris', 0, true],
    },
  );
  if (!o) return o;
  o.pairs = Math.min(o.pairs, Math.floor(o.sessions / 4));
  // Node raises its soft limit to the hard one, and the server inherits it.
  const limits = openFileLimits();
  const spare = socketsFor(o) - o.sessions;
  if (limits && limits.soft < socketsFor(o)) {
    const fit = Math.max(4, limits.soft - spare - 64);
    out(
      `warning: the open-file limit is ${limits.soft}; --sessions ${o.sessions} needs ~${socketsFor(o)}: ` +
        `running ${fit} sessions (raise it with ulimit -Hn as root)`,
    );
    o.sessions = fit;
    o.pairs = Math.min(o.pairs, Math.floor(o.sessions / 4));
  }
  return o;
}

export function run(args: string[]): Promise<void> {
  return runBench<Options, Conn>({
    args,
    usage: USAGE,
    parse: parseOptions,
    name: 'soak',
    sockets: socketsFor,
    heading: (o) => [
      `soak: ${o.sessions} sessions (${Math.ceil(o.sessions / 2)} XMPP over TLS, ${Math.floor(o.sessions / 2)} MSNP12, ` +
        `${o.pairs} switchboard pairs) for ${o.minutes} min, ${o.rate} msgs/s on each protocol; ` +
        `attacks: ${o.slowloris} slowloris each on XMPP, MSNP and HTTPS, one non-reading XMPP and MSNP flooder`,
    ],
    closeConn: (c) => (c instanceof MsnpConn ? c.close(3000, true) : c.close(3000)),
    body: soak,
  });
}

/** Counts every accepted latency also into `all`, and refuses to write to a closed connection. */
class SoakChat extends ChatTraffic {
  readonly all = new Samples();
  failedSends = 0;
  constructor(
    peers: Peer[],
    private readonly windowSamples: Samples,
  ) {
    super(peers);
  }
  protected override send(sender: number): void {
    if (!(this.peers[sender] as Peer).conn.isOpen) this.failedSends++;
    else super.send(sender);
  }
  protected override arrived(index: number, latency: number | undefined): void {
    super.arrived(index, latency);
    if (latency === undefined) return;
    this.all.push(latency);
    this.windowSamples.push(latency);
  }
}

class SoakSb extends Traffic {
  readonly all = new Samples();
  failedSends = 0;
  constructor(
    pairs: Pair[],
    private readonly windowSamples: Samples,
  ) {
    super(pairs);
  }
  protected override send(index: number): void {
    const pair = this.pairs[index] as Pair;
    if (!pair.a.isOpen || !pair.b.isOpen) this.failedSends++;
    else super.send(index);
  }
  protected override arrived(index: number, latency: number | undefined): void {
    super.arrived(index, latency);
    if (latency === undefined) return;
    this.all.push(latency);
    this.windowSamples.push(latency);
  }
}

/** The socket under a bench connection: the flooder stops reading it (ConnBase keeps it protected). */
const socketOf = (conn: Conn) => (conn as unknown as { socket: net.Socket }).socket;

async function soak(h: Harness<Options, Conn>): Promise<void> {
  const o = h.o;
  const nXmpp = Math.ceil(o.sessions / 2);
  const nMsnp = o.sessions - nXmpp;
  const server = await h.startServer(o.sessions + SPARE_ACCOUNTS);
  const ca = readFileSync(path.join(h.dataDir, 'certs', 'ca.crt'));
  const xmpp: XmppTarget = {
    host: '127.0.0.1',
    port: server.port('xmpp'),
    transport: 'tcp',
    domain: 'localhost',
    ca,
    timeoutMs: o.timeoutMs,
  };
  const msnpPort = server.port('msnp');
  const httpsPort = server.port('https');
  const msnp = { host: '127.0.0.1', msnpPort, httpsPort, agent: passportAgent(ca), timeoutMs: o.timeoutMs };
  out(
    `server pid ${server.pid}: xmpp ${xmpp.port}, msnp ${msnpPort}, https ${httpsPort}; RSS ${mb(h.rssReady)}`,
  );
  const { useAliases, concurrency } = await h.loginSource(xmpp.port, '', false);

  // The sessions: XMPP 0…nXmpp-1, MSNP nXmpp…sessions-1.
  const t0 = performance.now();
  const xl = await signInSessions(xmpp, 0, nXmpp, concurrency, useAliases, false);
  const ml = await signInMany<NsSession>(
    nXmpp,
    nMsnp,
    concurrency,
    useAliases,
    async (index, handle, local) => ({
      index,
      handle,
      local,
      ns: await signIn(msnp, handle, BENCH_PASSWORD, local),
      sbHandle: handle,
    }),
  );
  for (const s of xl.sessions) h.conns.push(s.conn);
  for (const s of ml.sessions) h.conns.push(s.ns);
  out(
    `signed in ${xl.sessions.length}/${nXmpp} XMPP and ${ml.sessions.length}/${nMsnp} MSNP12 sessions ` +
      `in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  xl.failures.print();
  ml.failures.print();
  const xs: Session[] = [...xl.sessions].sort((a, b) => a.index - b.index);
  const ns: NsSession[] = [...ml.sessions].sort((a, b) => a.index - b.index);
  const pairs: Pair[] = [];
  const sbFailures = new Failures();
  for (let i = 0; i < Math.min(o.pairs, Math.floor(ns.length / 2)); i++) {
    try {
      const pair = await openSwitchboard(ns[2 * i] as NsSession, ns[2 * i + 1] as NsSession, o.timeoutMs);
      pairs.push(pair);
      h.conns.push(pair.a, pair.b);
    } catch (err) {
      sbFailures.add(err);
    }
  }
  out(`switchboards: ${pairs.length} pairs joined`);
  sbFailures.print();
  if (xs.length < 2 || pairs.length < 1) throw new Error('too few sessions to carry traffic');

  // The attacks, each from its own loopback addresses.
  const lifetimes = () => new Samples();
  const sock = (port: number, attack: number, secure: boolean) => (slot: number) =>
    openSocket(port, attackAddress(attack, slot, useAliases), secure, o.timeoutMs);
  const header =
    "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' " +
    "xmlns:stream='http://etherx.jabber.org/streams'>";
  let xmppFloodAccount = 0;
  const attacks: (Attack & { start(): void })[] = [
    new Slowloris(
      'XMPP slowloris (stream header, 1 byte/s)',
      lifetimes(),
      o.slowloris,
      sock(xmpp.port, 1, false),
      Buffer.from(header),
    ),
    new Slowloris(
      'MSNP slowloris (VER, 1 byte/s)',
      lifetimes(),
      o.slowloris,
      sock(msnpPort, 2, false),
      Buffer.from('VER 1 MSNP12 CVR0\r\n'),
    ),
    new Slowloris(
      'HTTPS slowloris (headers, 1 byte/s)',
      lifetimes(),
      o.slowloris,
      sock(httpsPort, 3, true),
      Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'),
    ),
    new Flooder(
      'XMPP non-reader (pings + vCard gets, signed in)',
      lifetimes(),
      async () => {
        const index = o.sessions + (xmppFloodAccount++ % SPARE_ACCOUNTS);
        const local = attackAddress(4, index, useAliases);
        const { conn } = await signInXmpp(xmpp, benchHandle(index), BENCH_PASSWORD, local, 'flood');
        return socketOf(conn);
      },
      (step) =>
        `<iq type='get' id='p${step}'><ping xmlns='urn:xmpp:ping'/></iq>`.repeat(50) +
        `<iq type='get' id='v${step}'><vCard xmlns='vcard-temp'/></iq>`.repeat(50),
    ),
    new Flooder(
      'MSNP non-reader (CVR flood before log-in)',
      lifetimes(),
      async (slot) => {
        const socket = await openSocket(msnpPort, attackAddress(5, slot, useAliases), false, o.timeoutMs);
        socket.write('VER 1 MSNP12 CVR0\r\n');
        return socket;
      },
      (step) =>
        `CVR ${(step % 4_000_000) + 2} 0x0409 winnt 5.1 i386 MSNMSGR 7.5.0324 MSMSGS ${'x'.repeat(200)}@localhost\r\n`.repeat(
          50,
        ),
    ),
  ];

  // Light traffic: `rate` per second on each protocol, random XMPP recipients, MSNP over the pairs.
  const windowSamples = new Samples();
  const chat = new SoakChat(
    xs.map((s) => ({ conn: s.conn, bare: s.bare, outstanding: 0 })),
    windowSamples,
  );
  const sb = new SoakSb(pairs, windowSamples);
  const rateCap = 1e9; // never skip: every offered message is sent or counted as failed
  for (const a of attacks) a.start();
  chat.recording = true;
  sb.recording = true;
  chat.startRate();
  sb.startRate();
  const ticker = setInterval(() => {
    chat.tick(o.rate, rateCap);
    sb.tick(o.rate, rateCap);
  }, 5);

  const runMs = o.minutes * 60_000;
  const warmupMs = Math.min(120_000, runMs / 5);
  let rssWarm = Number.NaN;
  const rssSeries: number[] = [];
  const started = performance.now();
  const alive = () => ({
    x: xs.filter((s) => s.conn.isOpen).length,
    m: ns.filter((s) => s.ns.isOpen).length,
    sb: pairs.filter((p) => p.a.isOpen && p.b.isOpen).length,
  });
  out();
  out(
    '   time    RSS   XMPP  MSNP  SBs      sent  received  in flight   p50 / p99 (window)   closed by the server: slowloris XMPP / MSNP / HTTPS, non-readers XMPP / MSNP',
  );
  let round = 0;
  // A remainder under 100 ms is not worth a line of its own.
  while (runMs - (performance.now() - started) > 100 && server.running) {
    await sleep(Math.min(REPORT_MS, runMs - (performance.now() - started)));
    round++;
    // Keep-alives as clients send them: a whitespace ping (RFC 6120 §4.6.1), MSNP `PNG` (docs/msnp-reference.md §10).
    for (let i = round % 6; i < xs.length; i += 6) xs[i]?.conn.write(' ');
    for (let i = round % 6; i < ns.length; i += 6) ns[i]?.ns.send('PNG');
    const elapsed = performance.now() - started;
    const rss = server.rss();
    rssSeries.push(rss);
    if (Number.isNaN(rssWarm) && elapsed >= warmupMs) rssWarm = rss;
    const w = windowSamples.summary();
    windowSamples.clear();
    chat.samples.clear();
    sb.samples.clear();
    const a = alive();
    const sent = sentOf(chat) + sentOf(sb);
    const received = chat.received + sb.received;
    out(
      `${(elapsed / 1000).toFixed(0).padStart(6)} s ${(rss / 2 ** 20).toFixed(0).padStart(5)} MB ${String(a.x).padStart(5)} ${String(a.m).padStart(5)} ` +
        `${String(a.sb).padStart(4)} ${String(sent).padStart(9)} ${String(received).padStart(9)} ${String(chat.outstanding + sb.outstanding).padStart(10)}   ` +
        `${(Number.isNaN(w.p50) ? 'n/a' : `${ms(w.p50)} / ${ms(w.p99)}`).padEnd(20)} ${attacks.map((t) => t.stats.closedByServer).join(' / ')}`,
    );
  }
  clearInterval(ticker);
  chat.stop();
  sb.stop();
  const [lostChat, lostSb] = await Promise.all([chat.drain(o.timeoutMs), sb.drain(o.timeoutMs)]);
  for (const a of attacks) a.stop();
  const rssEnd = server.rss();
  const a = alive();
  summary(o, {
    serverUp: server.running,
    lost: lostChat + lostSb,
    sent: sentOf(chat) + sentOf(sb),
    failedSends: chat.failedSends + sb.failedSends,
    bounced: chat.bouncedTotal,
    dropped: xs.length - a.x + (ns.length - a.m) + (pairs.length - a.sb),
    loginFailures: xl.failures.total + ml.failures.total + sbFailures.total,
    rssWarm: Number.isNaN(rssWarm) ? (rssSeries[0] ?? rssEnd) : rssWarm,
    rssEnd,
    p99: [chat.all.summary(), sb.all.summary()],
    attacks,
  });
}

function sentOf(t: SoakChat | SoakSb): number {
  return t.offered - t.skipped - t.failedSends;
}

interface Outcome {
  serverUp: boolean;
  lost: number;
  sent: number;
  failedSends: number;
  bounced: number;
  dropped: number;
  loginFailures: number;
  rssWarm: number;
  rssEnd: number;
  p99: { p50: number; p99: number; max: number }[];
  attacks: Attack[];
}

function summary(o: Options, r: Outcome): void {
  const errors = r.dropped + r.failedSends + r.bounced + r.loginFailures + (r.serverUp ? 0 : 1);
  const growth = (r.rssEnd - r.rssWarm) / r.rssWarm;
  const [x, m] = r.p99 as [Outcome['p99'][number], Outcome['p99'][number]];
  out();
  out(`summary after ${o.minutes} min (targets: 0 errors, 0 lost, RSS flat after warm-up)`);
  out(
    `  errors: ${errors} (${r.dropped} sessions or switchboards closed unexpectedly, ${r.failedSends} failed sends, ` +
      `${r.bounced} bounced, ${r.loginFailures} failed sign-ins${r.serverUp ? '' : ', THE SERVER EXITED'})`,
  );
  out(
    `  lost: ${r.lost} of ${r.sent} messages sent (still missing ${o.timeoutMs / 1000} s after the traffic stopped)`,
  );
  out(
    `  server RSS: ${mb(r.rssWarm)} at the end of the warm-up, ${mb(r.rssEnd)} at the end ` +
      `(${(growth * 100).toFixed(1)}%: ${Math.abs(growth) <= FLAT ? 'flat' : 'NOT flat'}, within ±${FLAT * 100}%)`,
  );
  out(`  delivery latency XMPP p50 ${ms(x.p50)}, p99 ${ms(x.p99)}, max ${ms(x.max)}`);
  out(`  delivery latency MSNP p50 ${ms(m.p50)}, p99 ${ms(m.p99)}, max ${ms(m.max)}`);
  out('  attacks (closed by the server / opened; time the server took to close them):');
  for (const a of r.attacks) {
    const l = a.stats.lifetimes.summary();
    out(
      `    ${a.stats.name}: ${a.stats.closedByServer} / ${a.stats.opened}` +
        (a.stats.failed > 0 ? `, ${a.stats.failed} connects failed` : '') +
        `; closed after p50 ${secs(l.p50)}, max ${secs(l.max)}; ${mb(a.stats.bytesSent)} written`,
    );
  }
}

const secs = (msValue: number) => (Number.isNaN(msValue) ? 'n/a' : `${(msValue / 1000).toFixed(1)} s`);
