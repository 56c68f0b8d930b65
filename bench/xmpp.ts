/**
 * `npm run bench -- xmpp [options]`: XMPP logins per second (STARTTLS, SASL
 * SCRAM-SHA-256, bind, roster, presence), server memory per idle TLS session, and chat
 * message routing throughput and latency (over TCP, or with `--transport websocket` over
 * XMPP-over-WebSocket, RFC 7395, on the HTTPS port), against the real server
 * (`node bin/papillon.js serve`) in a child process. It prints figures and targets;
 * it asserts nothing.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { cpuShare, mb, ms, out } from './common.ts';
import {
  BASE_DEFAULTS,
  type BaseOptions,
  type Harness,
  latencyFigures,
  parseOptions as parseWith,
  printFastPhase,
  runBench,
  signInMany,
  USAGE_RATE,
  USAGE_TAIL,
} from './harness.ts';
import { BENCH_PASSWORD, benchHandle, contactsPerAccount } from './msnp-server.ts';
import type { BenchTransport, XmppConn } from './xmpp-conn.ts';
import { type BenchMechanism, loginSteps, signInXmpp, type XmppTarget } from './xmpp-login.ts';
import { ChatTraffic, chatMessage, type Peer } from './xmpp-traffic.ts';

/** Targets from the project's performance goals (Prosody needs about 50 KB per idle session). */
const TARGET_IDLE_BYTES = 25 * 1024;
const TARGET_MSGS_PER_SECOND = 10_000;
const TARGET_P99_MS = 5;

const DOMAIN = 'localhost';
const RESOURCE = 'desktop';

/** `archiveDays`: the server's PAPILLON_ARCHIVE_DAYS (XEP-0313 archive; 0 turns it off, to compare). */
/** `sm`: every session enables XEP-0198 (resumable) and XEP-0280, as mobile clients do. */
/** `transport`: how the clients connect (`--transport tcp|websocket`). */
/** `contacts`: mutual contacts in every roster (bench/msnp-server.ts `mutualContacts`). */
type Options = BaseOptions & {
  archiveDays: number;
  sm: boolean;
  transport: BenchTransport;
  contacts: number;
};

const TRANSPORTS: Record<BenchTransport, { name: string; session: string; security: string }> = {
  tcp: { name: 'TCP', session: 'TLS session', security: 'STARTTLS' },
  websocket: { name: 'WebSocket', session: 'WebSocket session (wss)', security: 'wss' },
};

const USAGE = `usage: npm run bench -- xmpp [options]
  --sessions N      XMPP sessions to sign in (default 2000)
  --transport T     tcp (the c2s port, STARTTLS) or websocket (wss://…/xmpp-websocket
                    on the HTTPS port, RFC 7395) (default tcp)
${USAGE_RATE}  --concurrency C   logins in flight (default 64)
  --window W        outstanding messages per sender in the first phase (default 4)
  --archive-days D  the server's message archive (XEP-0313): 0 turns it off (default 30, on)
  --contacts N      mutual contacts in every roster, neighbours on a ring of the accounts
                    (default 0): each login's roster and presence burst grow with it
  --sm              every session enables stream management (XEP-0198, resumable) and
                    message carbons (XEP-0280): the server keeps what it sent until
                    acknowledged and asks for acknowledgements
${USAGE_TAIL}`;

function parseOptions(args: string[]): Options | undefined {
  // `--transport` takes a word, which the shared parser does not: it is taken out first.
  let transport: BenchTransport = 'tcp';
  const rest = [...args];
  const at = rest.indexOf('--transport');
  if (at !== -1) {
    const value = rest[at + 1];
    if (value !== 'tcp' && value !== 'websocket') throw new Error('--transport needs tcp or websocket');
    transport = value;
    rest.splice(at, 2);
  }
  return parseWith<Options>(
    rest,
    { ...BASE_DEFAULTS, window: 4, archiveDays: 30, sm: false, transport, contacts: 0 },
    { '--archive-days': ['archiveDays', 0, true], '--contacts': ['contacts', 0, true] },
    { '--sm': 'sm' },
  );
}

export interface Session {
  index: number;
  bare: string;
  conn: XmppConn;
}

/**
 * Signs in sessions `first`…`first+count-1` (session `i` to `target`, or to `target(i)`
 * for the nodes of a cluster) with `mechanism`, adding up the time of each login step.
 */
export async function signInSessions(
  target: XmppTarget | ((index: number) => XmppTarget),
  first: number,
  count: number,
  concurrency: number,
  useAliases: boolean,
  extensions: boolean,
  mechanism: BenchMechanism = 'SCRAM-SHA-256',
) {
  const stepTotals = loginSteps('tcp').map(() => 0); // the longer list of the two
  const logins = await signInMany<Session>(
    first,
    count,
    concurrency,
    useAliases,
    async (index, handle, local) => {
      const to = typeof target === 'function' ? target(index) : target;
      const { conn, steps } = await signInXmpp(
        to,
        handle,
        BENCH_PASSWORD,
        local,
        RESOURCE,
        extensions,
        mechanism,
      );
      steps.forEach((ms, n) => {
        stepTotals[n] = (stepTotals[n] ?? 0) + ms;
      });
      return { index, bare: handle, conn };
    },
  );
  const stepMeans = stepTotals.map((total) => total / Math.max(logins.sessions.length, 1));
  return { ...logins, stepMeans };
}

export function run(args: string[]): Promise<void> {
  return runBench<Options, XmppConn>({
    args,
    usage: USAGE,
    parse: parseOptions,
    name: 'xmpp',
    // Every session holds a socket in this process and one in the server.
    sockets: (o) => o.sessions + 2 * o.concurrency + 64,
    heading: (o) => [
      `XMPP benchmark over ${TRANSPORTS[o.transport].name}: ${o.sessions} c2s sessions ` +
        `(${TRANSPORTS[o.transport].security} + SCRAM-SHA-256), concurrency ${o.concurrency}, ` +
        `message archive ${o.archiveDays > 0 ? `on (${o.archiveDays} days)` : 'off'}, ` +
        `stream management + carbons ${o.sm ? 'on' : 'off'}` +
        (o.contacts > 0
          ? `, ${contactsPerAccount(o.sessions + Math.min(o.concurrency, o.sessions), o.contacts)} mutual contacts each`
          : ''),
      `${availableParallelism()} CPUs, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (other work on the machine skews every figure)`,
    ],
    closeConn: (c) => c.close(3000),
    body: bench,
  });
}

async function bench(h: Harness<Options, XmppConn>): Promise<void> {
  const o = h.o;
  const via = TRANSPORTS[o.transport];
  const warmups = Math.min(o.concurrency, o.sessions);

  // 1. Setup, 2. the server (it inherits this environment).
  process.env.PAPILLON_ARCHIVE_DAYS = String(o.archiveDays);
  const server = await h.startServer(o.sessions + warmups, o.contacts);
  const target: XmppTarget = {
    host: '127.0.0.1',
    // RFC 7395 over the HTTPS listener (its certificate is the bench CA's, as the c2s port's).
    port: server.port(o.transport === 'websocket' ? 'https' : 'xmpp'),
    transport: o.transport,
    domain: DOMAIN,
    ca: readFileSync(path.join(h.dataDir, 'certs', 'ca.crt')),
    timeoutMs: o.timeoutMs,
  };
  const where =
    o.transport === 'websocket' ? `https ${target.port} (/xmpp-websocket)` : `xmpp ${target.port}`;
  out(`server pid ${server.pid}: ${where}; RSS at ready ${mb(h.rssReady)}`);

  const { useAliases, concurrency } = await h.loginSource(target.port, '', false);

  // Warm-up: sign in and out once per slot, so TLS, the JIT and the store's caches
  // are warm before the memory baseline is read. 3. Logins.
  const { logins, usage: loginUsage } = await h.warmUpAndLogIn(
    server,
    warmups,
    (first, count) => signInSessions(target, first, count, concurrency, useAliases, o.sm),
    (s) => s.conn.close(o.timeoutMs),
    (s) => s.conn,
    o.transport === 'websocket'
      ? 'logins over WebSocket (wss upgrade, open, SASL SCRAM-SHA-256, open, bind, roster get, presence + ping)'
      : 'logins over TCP (stream, STARTTLS, stream, SASL SCRAM-SHA-256, stream, bind, roster get, presence + ping)',
  );
  out(`  login latency p50 ${ms(logins.p50)}, p99 ${ms(logins.p99)}; mean per step:`);
  const allSteps = loginSteps(o.transport);
  const steps = o.sm ? allSteps : allSteps.slice(0, -1);
  out(`    ${steps.map((name, n) => `${name} ${ms(logins.stepMeans[n] ?? Number.NaN)}`).join(', ')}`);
  out(
    `  server CPU ${cpuShare(loginUsage.serverCpuMs, logins.seconds * 1000)}; ` +
      `bench CPU ${cpuShare(loginUsage.benchCpuMs, logins.seconds * 1000)} ` +
      '(SCRAM SaltedPassword computed once and cached, as clients do)',
  );
  out(`  server ${loginUsage.sched}`);
  logins.failures.print();
  if (!server.running) throw new Error('the server exited during the logins');

  // 4. Idle memory.
  await h.idleMemory(
    server,
    logins.sessions.length,
    via.session,
    `${TARGET_IDLE_BYTES / 1024} KB (Prosody: about 50 KB)`,
  );

  // 5. Messages.
  const peers: Peer[] = [...logins.sessions]
    .sort((x, y) => x.index - y.index)
    .map((s) => ({ conn: s.conn, bare: s.bare, outstanding: 0 }));
  if (peers.length < 2) throw new Error('fewer than two sessions signed in');
  const traffic = new ChatTraffic(peers);
  const sample = Buffer.byteLength(chatMessage(benchHandle(o.sessions - 1), 1e9, o.sessions - 1, 1e6));

  // Phase 1: as fast as possible, `window` outstanding per sender.
  const fast = await h.fastPhase(server, traffic, 'messages as fast as possible');
  out();
  out(
    `messages over ${via.name}, as fast as possible: ${peers.length} senders, ${o.window} outstanding each, random recipients, ` +
      `${sample}-byte <message type='chat'/>, ${o.seconds} s (after 1 s warm-up)`,
  );
  printFastPhase(fast, 'routed', TARGET_MSGS_PER_SECOND);
  out(`  server ${fast.usage.sched}`);
  reportBounces(traffic);
  if (fast.lost > 0) out(`  ${fast.lost} messages never arrived`);

  // Phase 2: fixed offered rate.
  if (o.rateSeconds > 0) {
    const rateCap = 64;
    const fixed = await h.ratePhase(server, traffic, rateCap, {
      label: `messages at ${o.rate} msgs/s`,
      loopDelay: true,
      onReset: () => traffic.bounced.clear(),
    });
    const wall2 = fixed.usage.wallMs;
    const loopDelay = fixed.loopDelay;
    out();
    out(
      `messages over ${via.name} at a fixed offered rate: ${o.rate} msgs/s for ${o.rateSeconds} s, ` +
        `round-robin over ${peers.length} senders, random recipients`,
    );
    out(
      `  sent ${fixed.sent} (${((fixed.sent / wall2) * 1000).toFixed(0)}/s), routed ${traffic.received}; ` +
        `latency ${latencyFigures(fixed.latency)}; target p99 ≤ ${TARGET_P99_MS} ms`,
    );
    out(
      `  server CPU ${cpuShare(fixed.usage.serverCpuMs, wall2)}; ` +
        `bench CPU ${cpuShare(fixed.usage.benchCpuMs, wall2)}, ` +
        `bench event-loop delay p99 ${ms((loopDelay?.percentile(99) ?? Number.NaN) / 1e6)}, max ${ms((loopDelay?.max ?? Number.NaN) / 1e6)}`,
    );
    out(`  server ${fixed.usage.sched}`);
    if (traffic.skipped > 0)
      out(`  ${traffic.skipped} not sent: the sender already had ${rateCap} outstanding`);
    reportBounces(traffic);
    if (fixed.lost > 0) out(`  ${fixed.lost} messages never arrived`);
  }
}

/** The bounced messages (`type='error'`), by error condition. */
export function reportBounces(traffic: ChatTraffic): void {
  if (traffic.bouncedTotal === 0) return;
  out(`  ${traffic.bouncedTotal} messages bounced (type='error'):`);
  for (const [why, n] of [...traffic.bounced].sort((a, b) => b[1] - a[1]).slice(0, 5))
    out(`    ${n}× ${why}`);
}
