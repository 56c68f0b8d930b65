/**
 * `npm run bench -- cluster [options]`: the XMPP chat load of `bench -- xmpp` across the
 * nodes of a cluster (one Redis bus, one database; senders signed in on node i write to
 * recipients on node (i+1) mod n), next to the same load on ONE node on the same bus and
 * database, so that crossing nodes is the only difference; and the idle memory of n nodes
 * holding the sessions against one node holding them all. Prints figures; asserts nothing.
 *
 * No MSNP switchboard load: a switchboard lives on one node and `XFR`/`RNG` send every MSN
 * participant to that node (ARCHITECTURE "Storage and scale"), so its messages never cross
 * nodes; `bench -- msnp` measures them.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createCertificates } from '../src/cli/certs.ts';
import {
  checkRedis,
  DEFAULT_DATABASE_URL,
  DEFAULT_REDIS_URL,
  deleteRedisKeys,
  seedSharedDatabase,
  serviceCpuMeters,
  sharedDatabase,
  uniqueKeyPrefix,
} from './cluster-services.ts';
import { cpuShare, mb, ms, out } from './common.ts';
import {
  BASE_DEFAULTS,
  type BaseOptions,
  type FastPhase,
  type Harness,
  type Latency,
  latencyFigures,
  parseOptions as parseWith,
  printFastPhase,
  runBench,
  USAGE_RATE,
  type Usage,
} from './harness.ts';
import { reportBounces, signInSessions } from './xmpp.ts';
import type { XmppConn } from './xmpp-conn.ts';
import type { XmppTarget } from './xmpp-login.ts';
import { ChatTraffic, type Peer } from './xmpp-traffic.ts';

/** Issue 11's aims. */
const AIM_EXTRA_P99_MS = 2;
const DOMAIN = 'localhost';

type Options = BaseOptions & { nodes: number; archiveDays: number };

const USAGE = `usage: npm run bench -- cluster [options]
  --nodes N         nodes of the cluster, each its own process (default 3)
  --sessions N      XMPP sessions, spread over the nodes (default 1500)
${USAGE_RATE.replace('(default 5000)', '(default 2000)').replace('phase (default 5)', 'phase (default 10)')}  --concurrency C   logins in flight (default 64)
  --window W        outstanding messages per sender in the first phase (default 1: a
                    message queued longer than 3 s is kept offline by its node as
                    unconfirmed, which adds work to an overloaded cluster)
  --archive-days D  the nodes' message archive (XEP-0313): 0 turns it off (default 30, on)
  --timeout MS      limit for every single wait (default 15000)
  --profile         run the nodes under --cpu-prof and print node 0's hot spots
                    during the as-fast-as-possible phase of each stage
environment: PAPILLON_BENCH_REDIS_URL (default ${DEFAULT_REDIS_URL}),
  PAPILLON_BENCH_DATABASE_URL (default ${DEFAULT_DATABASE_URL}; a throwaway schema
  is created and dropped; 'sqlite', or PostgreSQL unreachable: one shared SQLite file)
`;

function parseOptions(args: string[]): Options | undefined {
  const o = parseWith<Options>(
    args,
    { ...BASE_DEFAULTS, sessions: 1500, rate: 2000, rateSeconds: 10, window: 1, nodes: 3, archiveDays: 30 },
    { '--nodes': ['nodes', 2, true], '--archive-days': ['archiveDays', 0, true] },
  );
  if (o?.heap) throw new Error('--heap: use `npm run bench -- xmpp`');
  if (o && o.sessions < 2 * o.nodes) throw new Error(`--sessions must be at least twice --nodes`);
  return o;
}

/** Session `index` signs in on node `index mod nodes` (node 0 when there is one). */
const groupOf = (index: number, o: Options) => index % o.nodes;

/** What both stages share. */
interface Shared {
  redisUrl: string;
  prefix: string;
  databaseUrl: string;
  cert: string;
  key: string;
  ca: Buffer;
  source?: { useAliases: boolean; concurrency: number };
}

interface StageResult {
  nodes: number;
  loginsPerSecond: number;
  fast: FastPhase;
  fixed: { latency: Latency; sent: number; wallMs: number };
  /** RSS of each node with the sessions, after 3 s of quiet; and the added bytes per session. */
  rss: number[];
  perSession: number;
  sessions: number;
}

export function run(args: string[]): Promise<void> {
  return runBench<Options, XmppConn>({
    args,
    usage: USAGE,
    parse: parseOptions,
    name: 'cluster',
    // Every session holds a socket in this process and one in a node.
    sockets: (o) => o.sessions + 2 * o.concurrency + 64,
    heading: (o) => [
      `cluster benchmark: XMPP chat on one node, then over ${o.nodes} nodes (senders on node i, ` +
        `recipients on node (i+1) mod ${o.nodes}); ${o.sessions} sessions (STARTTLS + ` +
        `SCRAM-SHA-256), message archive ${o.archiveDays > 0 ? `on (${o.archiveDays} days)` : 'off'}`,
      `${availableParallelism()} CPUs, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (the nodes, Redis, the database and this process share them; ` +
        'other work on the machine skews every figure)',
    ],
    closeConn: (c) => c.close(3000),
    body: bench,
  });
}

async function bench(h: Harness<Options, XmppConn>): Promise<void> {
  const o = h.o;
  const redisUrl = process.env.PAPILLON_BENCH_REDIS_URL || DEFAULT_REDIS_URL;
  await checkRedis(redisUrl);
  const prefix = uniqueKeyPrefix();
  h.cleanups.push(() => deleteRedisKeys(redisUrl, prefix));
  const database = await sharedDatabase(
    process.env.PAPILLON_BENCH_DATABASE_URL || DEFAULT_DATABASE_URL,
    h.dataDir,
  );
  h.cleanups.push(() => database.drop());
  out(`shared by every node: Redis ${redisUrl} (key prefix ${prefix}), database: ${database.describe}`);
  h.accounted.push(...(await serviceCpuMeters(redisUrl, !database.url.startsWith('sqlite:'))));

  const warmups = Math.min(o.concurrency, o.sessions);
  const t = performance.now();
  const certs = await createCertificates({ dir: path.join(h.dataDir, 'certs'), domain: DOMAIN });
  await seedSharedDatabase(database.url, o.sessions + warmups);
  out(
    `setup: certificates + ${o.sessions + warmups} accounts in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const shared: Shared = {
    redisUrl,
    prefix,
    databaseUrl: database.url,
    cert: certs.serverChain,
    key: certs.serverKey,
    ca: readFileSync(certs.caCert),
  };
  out('MSNP switchboard load: not run here (its participants all connect to the node hosting it)');

  const one = await stage(h, shared, 1, warmups);
  const many = await stage(h, shared, o.nodes, warmups);
  summary(o, one, many);
}

/** Starts `count` nodes, signs the sessions in, measures idle memory and both message phases, stops the nodes. */
async function stage(h: Harness<Options, XmppConn>, shared: Shared, count: number, warmups: number) {
  const o = h.o;
  const name = count === 1 ? 'one' : String(count);
  out();
  out(`=== ${count === 1 ? 'one node' : `${count} nodes`} (Redis bus, shared database) ===`);
  const nodes = await h.startNodes(count, (i) => ({
    PAPILLON_DATABASE_URL: shared.databaseUrl,
    PAPILLON_REDIS_URL: shared.redisUrl,
    PAPILLON_REDIS_KEY_PREFIX: `${shared.prefix}${name}:`,
    PAPILLON_NODE_ID: `bench-${name}-${i}`,
    PAPILLON_TLS_CERT: shared.cert,
    PAPILLON_TLS_KEY: shared.key,
    PAPILLON_ARCHIVE_DAYS: String(o.archiveDays),
  }));
  const targets: XmppTarget[] = nodes.map((n) => ({
    host: '127.0.0.1',
    port: n.port('xmpp'),
    domain: DOMAIN,
    ca: shared.ca,
    timeoutMs: o.timeoutMs,
  }));
  out(
    nodes.map((n, i) => `node ${i}: pid ${n.pid}, xmpp ${targets[i]?.port}, RSS ${mb(n.rss())}`).join('; '),
  );
  shared.source ??= await h.loginSource(targets[0]?.port ?? 0, '', false);
  const { useAliases, concurrency } = shared.source;
  const targetOf = (index: number) => targets[groupOf(index, o) % count] as XmppTarget;

  const { logins } = await h.warmUpAndLogIn(
    nodes,
    warmups,
    (first, n) => signInSessions(targetOf, first, n, concurrency, useAliases, false),
    (s) => s.conn.close(o.timeoutMs),
    (s) => s.conn,
    `logins, session i on node i mod ${o.nodes}${count === 1 ? ' (here all on node 0)' : ''}`,
  );
  out(`  login latency p50 ${ms(logins.p50)}, p99 ${ms(logins.p99)}`);
  logins.failures.print();
  if (nodes.some((n) => !n.running)) throw new Error('a node exited during the logins');

  const memory = await h.idleMemory(
    nodes,
    logins.sessions.length,
    'TLS session',
    '25 KB (as `bench -- xmpp`)',
  );
  const rss = nodes.map((n) => n.rss());
  if (count > 1) out(`  per node: ${rss.map(mb).join(', ')}`);

  // Each sender writes to a random recipient of the next group (on the next node).
  const sessions = [...logins.sessions].sort((x, y) => x.index - y.index);
  const peers: Peer[] = sessions.map((s) => ({ conn: s.conn, bare: s.bare, outstanding: 0 }));
  const groups: number[][] = Array.from({ length: o.nodes }, () => []);
  sessions.forEach((s, i) => {
    groups[groupOf(s.index, o)]?.push(i);
  });
  if (groups.some((g) => g.length === 0)) throw new Error('too many failed logins: a node has no session');
  const recipientOf = (sender: number) => {
    const next = groups[(groupOf(sessions[sender]?.index ?? 0, o) + 1) % o.nodes] as number[];
    return next[Math.floor(Math.random() * next.length)] as number;
  };
  const traffic = new ChatTraffic(peers, recipientOf);

  // With --profile: node 0's hot spots (every node sends and receives alike).
  const profile = h.window(
    `${count === 1 ? 'one node' : `${count} nodes, node 0`}: messages as fast as possible`,
    nodes[0],
  );
  const fast = await h.fastPhase(nodes, traffic);
  h.endWindow(profile);
  out();
  out(
    `messages, as fast as possible: ${peers.length} senders, ${o.window} outstanding each, ` +
      `${o.seconds} s (after 1 s warm-up)`,
  );
  printFastPhase(fast, 'routed');
  out(`  ${otherCpu(fast.usage)}`);
  out(`  ${fast.usage.sched}`);
  reportBounces(traffic);
  if (fast.lost > 0) out(`  ${fast.lost} messages never arrived`);

  const rateCap = 64;
  const fixed = await h.ratePhase(nodes, traffic, rateCap, {
    loopDelay: true,
    onReset: () => traffic.bounced.clear(),
  });
  const wallMs = fixed.usage.wallMs;
  out();
  out(
    `messages at a fixed offered rate: ${o.rate} msgs/s for ${o.rateSeconds} s, round-robin over the senders`,
  );
  out(
    `  sent ${fixed.sent} (${((fixed.sent / wallMs) * 1000).toFixed(0)}/s), routed ${traffic.received}; ` +
      `latency ${latencyFigures(fixed.latency)}`,
  );
  out(
    `  nodes' CPU ${cpuShare(fixed.usage.serverCpuMs, wallMs)}; bench CPU ${cpuShare(fixed.usage.benchCpuMs, wallMs)}, ` +
      `bench event-loop delay p99 ${ms((fixed.loopDelay?.percentile(99) ?? Number.NaN) / 1e6)}`,
  );
  out(`  ${otherCpu(fixed.usage)}`);
  out(`  ${fixed.usage.sched}`);
  if (traffic.skipped > 0)
    out(`  ${traffic.skipped} not sent: the sender already had ${rateCap} outstanding`);
  reportBounces(traffic);
  if (fixed.lost > 0) out(`  ${fixed.lost} messages never arrived`);

  await h.stopServer((c) => c.close(3000));
  return {
    nodes: count,
    loginsPerSecond: logins.sessions.length / logins.seconds,
    fast,
    fixed: { latency: fixed.latency, sent: fixed.sent, wallMs },
    rss,
    perSession: memory.rss,
    sessions: logins.sessions.length,
  } satisfies StageResult;
}

/** What the rest of the machine used: Redis and the database serve the nodes, anything else is noise. */
function otherCpu(usage: Usage): string {
  const services = usage.accountedCpuMs.map((a) => `${a.name} ${cpuShare(a.cpuMs, usage.wallMs)}`);
  return `${[...services, `anything else on the machine ${cpuShare(usage.otherCpuMs, usage.wallMs)}`].join('; ')}`;
}

/** The two stages side by side, and the issue's aims. */
function summary(o: Options, one: StageResult, many: StageResult): void {
  const row = (what: string, a: string, b: string) => out(`  ${what.padEnd(34)}${a.padEnd(26)}${b}`);
  const rate = (f: FastPhase) => `${((f.received / f.usage.wallMs) * 1000).toFixed(0)} msgs/s`;
  const pp = (l: Latency) => `${ms(l.p50)} / ${ms(l.p99)}`;
  const total = (s: StageResult) => s.rss.reduce((a, b) => a + b, 0);
  out();
  out(`summary: the same XMPP load on one node and across ${many.nodes} (one Redis bus, one database)`);
  row('', 'one node', `${many.nodes} nodes`);
  row('logins/s', one.loginsPerSecond.toFixed(0), many.loginsPerSecond.toFixed(0));
  row('as fast as possible', rate(one.fast), rate(many.fast));
  row('  latency p50 / p99', pp(one.fast.latency), pp(many.fast.latency));
  const cpuPer = (f: FastPhase) =>
    `${((f.usage.serverCpuMs / Math.max(f.received, 1)) * 1000).toFixed(0)} µs`;
  row('  node CPU per message', cpuPer(one.fast), cpuPer(many.fast));
  row(`at ${o.rate} msgs/s: p50 / p99`, pp(one.fixed.latency), pp(many.fixed.latency));
  row(
    `idle RSS with ${many.sessions} sessions`,
    mb(total(one)),
    `${mb(total(many))} in all, largest node ${mb(Math.max(...many.rss))}`,
  );
  row(
    'RSS per idle session',
    `${(one.perSession / 1024).toFixed(1)} KB`,
    `${(many.perSession / 1024).toFixed(1)} KB`,
  );

  const extra = many.fixed.latency.p99 - one.fixed.latency.p99;
  out();
  out(
    `aim: crossing nodes adds ≤ ${AIM_EXTRA_P99_MS} ms at p99 at 2,000 msgs/s: ` +
      `${extra >= 0 ? '+' : ''}${ms(extra)} at ${o.rate} msgs/s → ${extra <= AIM_EXTRA_P99_MS ? 'met' : 'not met'}`,
  );
  const capacity = Math.min(...[one, many].map((s) => (s.fast.received / s.fast.usage.wallMs) * 1000));
  if (o.rate > 0.8 * capacity)
    out(
      `  (${o.rate} msgs/s is not below what both reached as fast as possible here (${capacity.toFixed(0)}/s): ` +
        'that p99 is queueing; --rate under both measures what crossing nodes adds)',
    );
  // Each node holds its share in less than the one node needs for all; at the one node's
  // RSS per node, the rest is filled at the larger per-session cost measured (RSS is noisy).
  const largest = Math.max(...many.rss);
  const budget = total(one);
  const per = Math.max(one.perSession, many.perSession);
  const share = many.sessions / many.nodes;
  const perNode = many.rss.reduce((n, r) => n + share + (budget - r) / per, 0);
  out(
    `aim: ${many.nodes} nodes carry more sessions than one in the same memory: each holds ${share.toFixed(0)} ` +
      `sessions in ≤ ${mb(largest)}, where one node needs ${mb(budget)} for ${one.sessions}; with ${mb(budget)} ` +
      `each they would hold ≈ ${perNode.toFixed(0)} (at ${(per / 1024).toFixed(1)} KB per session) → ` +
      `${largest < budget && perNode > one.sessions ? 'met' : 'not met'}`,
  );
  const together = total(many);
  const fixed = Math.min(...many.rss) - share * per;
  out(
    `  (all together the ${many.nodes} nodes use ${mb(together)}` +
      (together > budget
        ? `: each node's own ≈ ${mb(fixed)} comes first, so in the same total memory one node holds more)`
        : ')'),
  );
}
