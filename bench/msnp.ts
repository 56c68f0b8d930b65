/**
 * `npm run bench -- msnp [options]`: MSNP12 logins per second, server memory per idle
 * notification-server session, and switchboard message relay throughput and latency,
 * against the real server (`node bin/papillon.js serve`) in a child process.
 * It prints figures and targets; it asserts nothing.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuShare, Failures, mb, ms, out, pool } from './common.ts';
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
import { MsnpConn } from './msnp-conn.ts';
import { type LoginTarget, passportAgent, signIn } from './msnp-login.ts';
import { BENCH_PASSWORD } from './msnp-server.ts';
import { type Pair, Traffic, textPayload } from './msnp-traffic.ts';

/** Targets from the project's performance goals. */
const TARGET_IDLE_BYTES = 10 * 1024;
const TARGET_MSGS_PER_SECOND = 20_000;

interface Options extends BaseOptions {
  pairs: number | undefined;
}

const USAGE = `usage: npm run bench -- msnp [options]
  --sessions N      MSNP12 sessions to sign in (default 2000)
  --pairs P         switchboard pairs for the message phases (default sessions/2)
${USAGE_RATE}  --concurrency C   logins / switchboard set-ups in flight (default 64)
  --window W        outstanding messages per pair in the first phase (default 8)
${USAGE_TAIL}`;

function parseOptions(args: string[]): Options | undefined {
  return parseWith<Options>(
    args,
    { ...BASE_DEFAULTS, pairs: undefined, window: 8 },
    { '--pairs': ['pairs', 1, true] },
  );
}

interface Session {
  index: number;
  handle: string;
  local: string | undefined;
  ns: MsnpConn;
}

/** §12.1/§12.2: `a` opens a switchboard and CALs `b`, who answers the RNG; resolves once `a` saw JOI. */
async function openSwitchboard(a: Session, b: Session, timeoutMs: number): Promise<Pair> {
  a.ns.send('XFR', a.ns.trid(), 'SB');
  const xfr = await a.ns.expect('XFR', timeoutMs);
  const [host, port] = (xfr.args[2] ?? '').split(':');
  const cookie = xfr.args[4];
  if (!host || !port || !cookie) throw new Error(`bad XFR SB: ${xfr.args.join(' ')}`);
  const sbA = await MsnpConn.connect(Number(port), host, a.local, timeoutMs);
  let sbB: MsnpConn | undefined;
  try {
    sbA.send('USR', sbA.trid(), a.handle, cookie);
    await sbA.expect('USR', timeoutMs);
    sbA.send('CAL', sbA.trid(), b.handle);
    const cal = await sbA.expect('CAL', timeoutMs);
    const sessionId = cal.args[2] ?? '';
    const rng = await b.ns.expect('RNG', timeoutMs);
    if (rng.args[0] !== sessionId) throw new Error(`RNG for session ${rng.args[0]}, expected ${sessionId}`);
    const [h2, p2] = (rng.args[1] ?? '').split(':');
    if (!h2 || !p2) throw new Error(`bad RNG: ${rng.args.join(' ')}`);
    sbB = await MsnpConn.connect(Number(p2), h2, b.local, timeoutMs);
    sbB.send('ANS', sbB.trid(), b.handle, rng.args[3] ?? '', sessionId);
    await sbB.expect('ANS', timeoutMs);
    await sbA.expect('JOI', timeoutMs);
    sbA.clearInbox();
    sbB.clearInbox();
    return { a: sbA, b: sbB, outstanding: 0, fromA: true };
  } catch (err) {
    sbA.destroy();
    sbB?.destroy();
    throw err;
  }
}

export function run(args: string[]): Promise<void> {
  const pairsWanted = (o: Options) =>
    Math.min(o.pairs ?? Math.floor(o.sessions / 2), Math.floor(o.sessions / 2));
  return runBench<Options, MsnpConn>({
    args,
    usage: USAGE,
    parse: parseOptions,
    name: 'msnp',
    // Every session holds a socket in this process and one in the server; each pair two more.
    sockets: (o) => o.sessions + 2 * pairsWanted(o) + 2 * o.concurrency + 64,
    heading: (o) => [
      `MSNP benchmark: ${o.sessions} MSNP12 sessions, ${pairsWanted(o)} switchboard pairs, concurrency ${o.concurrency}`,
    ],
    closeConn: (c) => c.close(3000, true),
    body: (h) => bench(h, pairsWanted(h.o)),
  });
}

async function bench(h: Harness<Options, MsnpConn>, pairsWanted: number): Promise<void> {
  const o = h.o;
  const warmups = Math.min(o.concurrency, o.sessions);

  // 1. Setup, 2. the server.
  const server = await h.startServer(o.sessions + warmups);
  const target: LoginTarget = {
    host: '127.0.0.1',
    msnpPort: server.port('msnp'),
    httpsPort: server.port('https'),
    agent: passportAgent(readFileSync(path.join(h.dataDir, 'certs', 'ca.crt'))),
    timeoutMs: o.timeoutMs,
  };
  const sbPort = server.port('msnp-sb');
  out(
    `server pid ${server.pid}: msnp ${target.msnpPort}, sb ${sbPort}, https ${target.httpsPort}; RSS at ready ${mb(h.rssReady)}`,
  );

  const { useAliases, concurrency } = await h.loginSource(target.msnpPort, ':', true);

  // Warm-up: sign in and out once per slot, so argon2's memory and the JIT are warm
  // before the memory baseline is read. 3. Logins.
  const signInSessions = (first: number, count: number) =>
    signInMany<Session>(first, count, concurrency, useAliases, async (index, handle, local) => ({
      index,
      handle,
      local,
      ns: await signIn(target, handle, BENCH_PASSWORD, local),
    }));
  const { logins, usage: loginUsage } = await h.warmUpAndLogIn(
    server,
    warmups,
    signInSessions,
    (s) => s.ns.close(o.timeoutMs, true),
    (s) => s.ns,
    `logins (MSNP12: DS + XFR NS + NS, RST.srf over HTTPS, SYN, CHG, CHL/QRY)`,
  );
  out(`  login latency p50 ${ms(logins.p50)}, p99 ${ms(logins.p99)}`);
  out(
    `  server CPU ${cpuShare(loginUsage.serverCpuMs, logins.seconds * 1000)} (argon2 runs on libuv's thread pool); ` +
      `bench CPU ${cpuShare(loginUsage.benchCpuMs, logins.seconds * 1000)}`,
  );
  logins.failures.print();

  if (!server.running) throw new Error('the server exited during the logins');

  // 4. Idle memory.
  await h.idleMemory(server, logins.sessions.length, 'NS session', `${TARGET_IDLE_BYTES / 1024} KB`);

  // 5. Switchboards.
  const sorted = [...logins.sessions].sort((x, y) => x.index - y.index);
  const pairCount = Math.min(pairsWanted, Math.floor(sorted.length / 2));
  const pairs: Pair[] = [];
  const sbFailures = new Failures();
  const t = performance.now();
  await pool(pairCount, o.concurrency, async (i) => {
    const a = sorted[2 * i] as Session;
    const b = sorted[2 * i + 1] as Session;
    try {
      const pair = await openSwitchboard(a, b, o.timeoutMs);
      pairs.push(pair);
      h.conns.push(pair.a, pair.b);
    } catch (err) {
      sbFailures.add(err);
    }
  });
  out();
  out(
    `switchboards: ${pairs.length} of ${pairCount} pairs joined (XFR SB, USR, CAL, RNG, ANS, JOI) ` +
      `in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  sbFailures.print();
  if (pairs.length === 0) throw new Error('no switchboard pair could be set up');
  if (!server.running) throw new Error('the server exited while switchboards were set up');

  const traffic = new Traffic(pairs);
  const sample = Buffer.byteLength(textPayload(0, performance.now()));
  const messageWindow = h.window('message phases');

  // Phase 1: as fast as possible, `window` outstanding per pair.
  const fast = await h.fastPhase(server, traffic);
  out();
  out(
    `messages, as fast as possible: ${pairs.length} pairs, ${o.window} outstanding per pair, ` +
      `mode U, ${sample}-byte text/plain payload, ${o.seconds} s (after 1 s warm-up)`,
  );
  printFastPhase(fast, 'relayed', TARGET_MSGS_PER_SECOND);
  if (fast.lost > 0) out(`  ${fast.lost} messages never arrived`);

  // Phase 2: fixed offered rate.
  if (o.rateSeconds > 0) {
    const rateCap = 256;
    const fixed = await h.ratePhase(server, traffic, rateCap);
    const wall2 = fixed.usage.wallMs;
    out();
    out(
      `messages at a fixed offered rate: ${o.rate} msgs/s for ${o.rateSeconds} s, over ${pairs.length} pairs`,
    );
    out(
      `  sent ${fixed.sent} (${((fixed.sent / wall2) * 1000).toFixed(0)}/s), relayed ${traffic.received}; ` +
        `latency ${latencyFigures(fixed.latency)}`,
    );
    out(`  server CPU ${cpuShare(fixed.usage.serverCpuMs, wall2)}`);
    if (traffic.skipped > 0)
      out(`  ${traffic.skipped} not sent: the pair already had ${rateCap} outstanding`);
    if (fixed.lost > 0) out(`  ${fixed.lost} messages never arrived`);
  }
  h.endWindow(messageWindow);
}
