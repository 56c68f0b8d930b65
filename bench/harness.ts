/**
 * The run skeleton shared by the protocol benchmarks: option parsing, the open-file
 * check, a temporary data directory removed on exit or SIGINT, the server child process
 * (optionally under --cpu-prof / with heap snapshots), the login source, the idle-memory
 * measurement, timed phases with profile windows, and the teardown.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import {
  canBindLoopbackAliases,
  checkOpenFiles,
  cpuShare,
  Failures,
  machineBusyMs,
  mb,
  monotonicUs,
  ms,
  numberOption,
  out,
  pool,
  printProfile,
  type Samples,
  schedShare,
  schedStat,
  sleep,
  slotAddress,
  snapshotSummary,
} from './common.ts';
import { type HeapSummary, heapGrowth } from './heap-snapshot.ts';
import {
  benchHandle,
  contactsPerAccount,
  openFileLimits,
  prepareDataDir,
  ServerProcess,
} from './msnp-server.ts';
import type { TrafficBase } from './traffic-base.ts';

/** The options every protocol benchmark takes. */
export interface BaseOptions {
  sessions: number;
  seconds: number;
  rate: number;
  rateSeconds: number;
  concurrency: number;
  window: number;
  timeoutMs: number;
  profile: boolean;
  heap: boolean;
}

/** The defaults both benchmarks share (each sets its own `window`). */
export const BASE_DEFAULTS: Omit<BaseOptions, 'window'> = {
  sessions: 2000,
  seconds: 10,
  rate: 5000,
  rateSeconds: 5,
  concurrency: 64,
  timeoutMs: 15_000,
  profile: false,
  heap: false,
};

/** The usage lines of the message-phase options both benchmarks take. */
export const USAGE_RATE = `  --seconds S       length of the as-fast-as-possible message phase (default 10)
  --rate R          offered total rate of the fixed-rate phase, msgs/s (default 5000)
  --rate-seconds S  length of the fixed-rate phase (default 5)
`;

/** The usage lines of the options after `--window`. */
export const USAGE_TAIL = `  --timeout MS      limit for every single wait (default 15000)
  --profile         run the server under --cpu-prof and print its hot spots
                    during the logins and the message phases
  --heap            also take a server heap snapshot before and after the logins
                    and print the live JS heap per session and what grew
                    (the snapshots disturb the RSS figures)
`;

/** A numeric flag: the option it sets, its minimum, and whether it is rounded down. */
type NumericFlag<O> = [key: keyof O, min: number, integer: boolean];

const COMMON_FLAGS: Record<string, NumericFlag<BaseOptions>> = {
  '--sessions': ['sessions', 2, true],
  '--seconds': ['seconds', 0.1, false],
  '--rate': ['rate', 1, false],
  '--rate-seconds': ['rateSeconds', 0, false],
  '--concurrency': ['concurrency', 1, true],
  '--window': ['window', 1, true],
  '--timeout': ['timeoutMs', 100, false],
};

/**
 * Parses `args` over `defaults` (`extra` numeric flags, `switches` flags that set an
 * option to true); undefined for --help. Throws on a bad option.
 */
export function parseOptions<O extends BaseOptions>(
  args: string[],
  defaults: O,
  extra: Record<string, NumericFlag<O>> = {},
  switches: Record<string, keyof O> = {},
): O | undefined {
  const o = { ...defaults };
  const flags = { ...COMMON_FLAGS, ...extra } as Record<string, NumericFlag<O>>;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] ?? '';
    const value = args[i + 1];
    const numeric = flags[flag];
    if (numeric) {
      const [key, min, integer] = numeric;
      const n = numberOption(flag, value, min);
      (o as Record<keyof O, unknown>)[key] = integer ? Math.floor(n) : n;
      i++;
    } else if (switches[flag] !== undefined) (o as Record<keyof O, unknown>)[switches[flag]] = true;
    else if (flag === '--profile') o.profile = true;
    else if (flag === '--heap') o.heap = true;
    else if (flag === '--help' || flag === '-h') return undefined;
    else throw new Error(`unknown option ${flag}`);
  }
  return o;
}

/** A stretch of the run whose server CPU profile is printed with --profile. */
export interface ProfileWindow {
  label: string;
  from: number;
  to: number;
  /** Where the server running during the window writes its profile. */
  dir: string;
}

export interface BenchSpec<O extends BaseOptions, C> {
  args: string[];
  usage: string;
  parse: (args: string[]) => O | undefined;
  /** Names the temporary data directory. */
  name: string;
  /** Sockets this run holds open at most. */
  sockets: (o: O) => number;
  /** The heading; printed around the open-file limit line as `[first, limit, ...rest]`. */
  heading: (o: O) => string[];
  /** Closes one connection at teardown. */
  closeConn: (conn: C) => Promise<void>;
  body: (h: Harness<O, C>) => Promise<void>;
}

/** Parses the options, runs `spec.body` between setup and teardown, and cleans up on exit or SIGINT. */
export async function runBench<O extends BaseOptions, C>(spec: BenchSpec<O, C>): Promise<void> {
  let options: O | undefined;
  try {
    options = spec.parse(spec.args);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${spec.usage}`);
    process.exitCode = 1;
    return;
  }
  if (!options) {
    process.stdout.write(spec.usage);
    return;
  }
  const o = options;
  const sockets = spec.sockets(o);
  const limitLine = checkOpenFiles(sockets);
  if (limitLine === undefined) {
    process.exitCode = 1;
    return;
  }
  const [first, ...rest] = spec.heading(o);
  out(first);
  out(limitLine);
  for (const line of rest) out(line);

  const h = new Harness<O, C>(o, spec.name, sockets);
  const onExit = () => h.killServers();
  const onSignal = () => {
    h.killServers();
    rmSync(h.dataDir, { recursive: true, force: true });
    // What lives outside this machine's temporary files (a database schema, Redis keys), at most 5 s.
    const cleanups = Promise.allSettled(h.cleanups.map((f) => f()));
    void Promise.race([cleanups, sleep(5000)]).finally(() => process.exit(130));
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  try {
    await spec.body(h);
  } finally {
    await h.teardown(spec.closeConn);
    for (const cleanup of h.cleanups.splice(0)) await cleanup();
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    rmSync(h.dataDir, { recursive: true, force: true });
  }
}

/** Sessions signed in by `signInMany`, with the failures, the wall time and the latency percentiles. */
export interface Logins<S> {
  sessions: S[];
  failures: Failures;
  seconds: number;
  p50: number;
  p99: number;
}

/**
 * Signs in sessions `first`…`first+count-1` with `attempt(index, handle, localAddress)`,
 * `concurrency` at a time, with `useAliases` from loopback addresses: one per slot, or
 * the slots spread over `addresses` of them (several users behind each); failures are
 * counted, not thrown.
 */
export async function signInMany<S>(
  first: number,
  count: number,
  concurrency: number,
  useAliases: boolean,
  attempt: (index: number, handle: string, local: string | undefined) => Promise<S>,
  addresses = concurrency,
): Promise<Logins<S>> {
  const sessions: S[] = [];
  const failures = new Failures();
  const latencies: number[] = [];
  const started = performance.now();
  await pool(count, concurrency, async (i, slot) => {
    const index = first + i;
    const handle = benchHandle(index);
    const local = useAliases ? slotAddress(slot % addresses) : undefined;
    const t0 = performance.now();
    try {
      const session = await attempt(index, handle, local);
      latencies.push(performance.now() - t0);
      sessions.push(session);
    } catch (err) {
      failures.add(err);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? Number.NaN;
  return { sessions, failures, seconds, p50: at(50), p99: at(99) };
}

/** CPU, scheduler and wall-clock figures of one measured stretch. */
export interface Usage {
  wallMs: number;
  serverCpuMs: number;
  benchCpuMs: number;
  /** CPU of each of `Harness.accounted` meanwhile. */
  accountedCpuMs: { name: string; cpuMs: number }[];
  /** CPU the rest of the machine used meanwhile (other work, and services not accounted); NaN if unknown. */
  otherCpuMs: number;
  /** The server's scheduler line (`schedShare`). */
  sched: string;
}

export type Latency = ReturnType<Samples['summary']>;

/** What is measured of a server process: Papillon's (`ServerProcess`) or a peer's (bench/prosody.ts). */
export interface MeasuredProcess {
  readonly pid: number;
  /** Resident set size, bytes. */
  rss(): number;
  /** CPU time used so far (user + system), ms. */
  cpuMs(): number;
}

/** One server, or the nodes of a cluster measured together (CPU and RSS added up). */
export type Servers = MeasuredProcess | readonly MeasuredProcess[];

const serverList = (servers: Servers): readonly MeasuredProcess[] => ('pid' in servers ? [servers] : servers);

const totalRss = (servers: Servers) => serverList(servers).reduce((sum, s) => sum + s.rss(), 0);

/** What phase 1 (`Harness.fastPhase`) measured. */
export interface FastPhase {
  received: number;
  usage: Usage;
  latency: Latency;
  lost: number;
}

/** `p50 …, p99 …, max …` of a phase's latency. */
export function latencyFigures(latency: Latency): string {
  return `p50 ${ms(latency.p50)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)}`;
}

/**
 * Phase 1's throughput (`verb`: what the server did with each message) against
 * `targetPerSecond` (if any), its latency and the CPU both processes used.
 */
export function printFastPhase(fast: FastPhase, verb: string, targetPerSecond?: number): void {
  const wall = fast.usage.wallMs;
  out(
    `  ${verb} ${fast.received} messages in ${(wall / 1000).toFixed(1)} s: ${((fast.received / wall) * 1000).toFixed(0)} msgs/s` +
      (targetPerSecond === undefined ? '' : `; target ≥ ${targetPerSecond.toLocaleString('en')} msgs/s`),
  );
  out(`  latency ${latencyFigures(fast.latency)} (closed loop: mostly queueing, ≈ outstanding / rate)`);
  out(
    `  server CPU ${cpuShare(fast.usage.serverCpuMs, wall)}; bench CPU ${cpuShare(fast.usage.benchCpuMs, wall)}`,
  );
}

export class Harness<O extends BaseOptions, C> {
  readonly dataDir: string;
  readonly profileDir: string;
  readonly heapDir: string;
  server: ServerProcess | undefined;
  /** The nodes of a cluster (`startNodes`), stopped with `server`. */
  readonly nodes: ServerProcess[] = [];
  /** Where each node writes its CPU profile (with --profile). */
  private readonly nodeProfileDirs = new Map<MeasuredProcess, string>();
  /** Processes serving the server (Redis, the database) whose CPU each measured stretch reports apart. */
  readonly accounted: { name: string; cpuMs: () => number }[] = [];
  /** Run at the end (and on SIGINT): what the run left outside its data directory. */
  readonly cleanups: (() => Promise<void>)[] = [];
  /** Connections closed at teardown. */
  readonly conns: C[] = [];
  readonly profileWindows: ProfileWindow[] = [];
  rssReady = 0;
  rssBefore = 0;
  heapBefore: HeapSummary | undefined;
  /** Servers started so far; each writes its CPU profile into its own folder. */
  private started = 0;

  constructor(
    readonly o: O,
    name: string,
    private readonly sockets: number,
  ) {
    this.dataDir = mkdtempSync(path.join(tmpdir(), `papillon-bench-${name}-`));
    this.profileDir = path.join(this.dataDir, 'cpu-profile');
    this.heapDir = path.join(this.dataDir, 'heap');
  }

  /** Where the current (or next) server writes its CPU profile. */
  private get serverProfileDir(): string {
    return path.join(this.profileDir, String(this.started));
  }

  /**
   * 1. Certificates and `accounts` accounts with `contacts` mutual contacts each
   * (skipped when `seed` is false: a second server over the same data); 2. the
   * server, with its open-file limit checked.
   */
  async startServer(accounts: number, contacts = 0, seed = true): Promise<ServerProcess> {
    if (seed) {
      const t = performance.now();
      await prepareDataDir(this.dataDir, accounts, contacts);
      const what = contacts > 0 ? ` with ${contactsPerAccount(accounts, contacts)} mutual contacts each` : '';
      out(
        `setup: certificates + ${accounts} accounts${what} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
    }
    this.started++;
    const server = await ServerProcess.start(this.dataDir, {
      timeoutMs: 30_000,
      ...(this.o.profile ? { cpuProfileDir: this.serverProfileDir } : {}),
      ...(this.o.heap ? { heapSnapshotDir: this.heapDir } : {}),
    });
    this.server = server;
    const serverLimits = openFileLimits(server.pid);
    if (serverLimits && serverLimits.soft < this.sockets) {
      out(`warning: the server's open-file limit is ${serverLimits.soft}; it needs ~${this.sockets}`);
    }
    this.rssReady = server.rss();
    return server;
  }

  /**
   * `count` servers sharing the store and bus that `env(i)` names (a cluster), each with
   * its own data directory; their RSS added up becomes `rssReady`.
   */
  async startNodes(count: number, env: (i: number) => Record<string, string>): Promise<ServerProcess[]> {
    const started: ServerProcess[] = [];
    for (let i = 0; i < count; i++) {
      this.started++;
      const profileDir = this.serverProfileDir;
      const dir = path.join(this.dataDir, `node-${this.started}`);
      const node = await ServerProcess.start(dir, {
        timeoutMs: 30_000,
        env: env(i),
        ...(this.o.profile ? { cpuProfileDir: profileDir } : {}),
      });
      this.nodeProfileDirs.set(node, profileDir);
      this.nodes.push(node);
      started.push(node);
    }
    const limits = openFileLimits(started[0]?.pid);
    if (limits && limits.soft < this.sockets) {
      out(`warning: the nodes' open-file limit is ${limits.soft}; they need ~${this.sockets} together`);
    }
    this.rssReady = totalRss(started);
    return started;
  }

  /** Synchronous last resort (process `exit`, SIGINT). */
  killServers(): void {
    this.server?.kill();
    for (const node of this.nodes) node.kill();
  }

  /**
   * Whether logins can come from loopback addresses (127.77.x.y): one per slot, or
   * `addresses` shared by the slots; and the concurrency to use (capped below the login
   * guard's per-address limit if not).
   */
  async loginSource(
    port: number,
    aliasLineEnd: string,
    noteWithoutAliases: boolean,
    addresses?: number,
  ): Promise<{ useAliases: boolean; concurrency: number }> {
    const note =
      '  (the server counts password failures per address, and checks in flight per address and account)';
    let concurrency = this.o.concurrency;
    const useAliases = await canBindLoopbackAliases(port);
    if (useAliases) {
      const inFlight = Math.min(concurrency, this.o.sessions);
      const shared = Math.min(addresses ?? inFlight, inFlight);
      const each =
        shared === inFlight ? 'one per slot in flight' : `~${Math.ceil(inFlight / shared)} in flight each`;
      const noun = shared === 1 ? 'address' : 'addresses';
      out(`logins come from ${shared} loopback ${noun} (127.77.x.y), ${each}${aliasLineEnd}`);
      out(note);
    } else {
      // Below the per-address limit of core/login-guard.ts (50 checks, in flight included).
      concurrency = Math.min(concurrency, 32);
      out(`cannot bind 127.77.x.y here: all logins come from 127.0.0.1, at most ${concurrency} in flight`);
      if (noteWithoutAliases) out(note);
    }
    return { useAliases, concurrency };
  }

  /** After the warm-up: lets the server settle and reads the memory baseline (and a heap snapshot with --heap). */
  async baseline(server: Servers): Promise<void> {
    await sleep(1000);
    this.rssBefore = totalRss(server);
    if (this.o.heap && server instanceof ServerProcess) {
      mkdirSync(this.heapDir, { recursive: true });
      this.heapBefore = await snapshotSummary(server, this.heapDir);
    }
  }

  /**
   * The warm-up (`warmups` sessions signed in with `signIn` and out with `signOut`),
   * the memory baseline, then 3. the measured logins of `o.sessions` sessions (their
   * connections kept for teardown), printed under `heading` up to the logins/s line.
   */
  async warmUpAndLogIn<L extends Logins<unknown>>(
    server: Servers,
    warmups: number,
    signIn: (first: number, count: number) => Promise<L>,
    signOut: (session: L['sessions'][number]) => Promise<void>,
    connOf: (session: L['sessions'][number]) => C,
    heading: string,
  ): Promise<{ logins: L; usage: Usage }> {
    const warm = await signIn(this.o.sessions, warmups);
    await Promise.all(warm.sessions.map(signOut));
    if (warm.failures.total > 0) {
      out(`warm-up: ${warm.failures.total} of ${warmups} logins failed:`);
      warm.failures.print();
    }
    await this.baseline(server);

    const list = serverList(server);
    const loginWindow = this.window(list.length > 1 ? `logins, node 0 of ${list.length}` : 'logins', list[0]);
    const m = this.measure(server);
    const logins = await signIn(0, this.o.sessions);
    const usage = m.stop();
    this.endWindow(loginWindow);
    for (const s of logins.sessions) this.conns.push(connOf(s));
    out();
    out(heading);
    out(
      `  ${logins.sessions.length} ok, ${logins.failures.total} failed, in ${logins.seconds.toFixed(1)} s: ` +
        `${(logins.sessions.length / logins.seconds).toFixed(0)} logins/s`,
    );
    return { logins, usage };
  }

  /**
   * 4. Server memory per idle session after 3 s of quiet, against the baseline; returns
   * the RSS bytes per session and, with --heap, the live JS heap bytes per session.
   */
  async idleMemory(
    server: Servers,
    online: number,
    kind: string,
    target: string,
  ): Promise<{ rss: number; heap: number | undefined; rssAfter: number }> {
    const { rssReady, rssBefore, heapBefore } = this;
    await sleep(3000);
    const rssAfter = totalRss(server);
    const perSession = online > 0 ? (rssAfter - rssBefore) / online : Number.NaN;
    const count = serverList(server).length;
    out();
    out(
      `idle memory (${count > 1 ? `RSS of the ${count} nodes added up` : 'server RSS'} after 3 s of quiet)`,
    );
    out(
      `  RSS at ready ${mb(rssReady)}, after warm-up ${mb(rssBefore)}, with ${online} sessions ${mb(rssAfter)}`,
    );
    out(
      `  bytes per idle ${kind}: ${perSession.toFixed(0)} (${(perSession / 1024).toFixed(1)} KB); ` +
        `target ≤ ${target}`,
    );
    out(
      `  (from ready instead of after warm-up: ${((rssAfter - rssReady) / Math.max(online, 1) / 1024).toFixed(1)} KB)`,
    );
    if (!heapBefore)
      out(
        '  (RSS also holds garbage not yet collected, so it varies from run to run; --heap adds the live heap)',
      );
    let heap: number | undefined;
    if (heapBefore && server instanceof ServerProcess) {
      const heapAfter = await snapshotSummary(server, this.heapDir);
      const perHeap = (heapAfter.total - heapBefore.total) / Math.max(online, 1);
      heap = perHeap;
      out(
        `  live JS heap (heap snapshots, after GC): ${mb(heapBefore.total)} → ${mb(heapAfter.total)}, ` +
          `${perHeap.toFixed(0)} bytes (${(perHeap / 1024).toFixed(1)} KB) per session; grew most:`,
      );
      for (const g of heapGrowth(heapBefore, heapAfter, 12)) {
        out(`    ${(g.bytes / Math.max(online, 1)).toFixed(0).padStart(6)} B/session  ${g.kind}`);
      }
    }
    return { rss: perSession, heap, rssAfter };
  }

  /** Opens a profile window (of `node`, else of the server) now; close it with `endWindow`. */
  window(label: string, node?: MeasuredProcess): ProfileWindow {
    const dir = (node && this.nodeProfileDirs.get(node)) ?? this.serverProfileDir;
    const w = { label, from: monotonicUs(), to: 0, dir };
    this.profileWindows.push(w);
    return w;
  }

  endWindow(w: ProfileWindow): void {
    w.to = monotonicUs();
  }

  /**
   * Starts measuring server CPU (of every node, added up), its scheduling (one line per
   * node), bench CPU and wall time; `stop` reads them.
   */
  measure(server: Servers): { started: number; stop: () => Usage } {
    const list = serverList(server);
    const cpu = () => list.reduce((sum, s) => sum + s.cpuMs(), 0);
    const srvCpu = cpu();
    const sched = list.map((s) => schedStat(s.pid));
    const ownCpu = process.cpuUsage();
    const machine = machineBusyMs();
    const accounted = this.accounted.map((a) => a.cpuMs());
    const started = performance.now();
    return {
      started,
      stop: () => {
        const wallMs = performance.now() - started;
        const machineMs = machineBusyMs() - machine;
        const lines = list.map((s, i) => schedShare(s.pid, sched[i], wallMs));
        const schedLine =
          lines.length === 1 ? (lines[0] as string) : lines.map((l, i) => `node ${i}: ${l}`).join('; ');
        const serverCpuMs = cpu() - srvCpu;
        const own = process.cpuUsage(ownCpu);
        const benchCpuMs = (own.user + own.system) / 1000;
        const accountedCpuMs = this.accounted.map((a, i) => ({
          name: a.name,
          cpuMs: a.cpuMs() - (accounted[i] ?? 0),
        }));
        const services = accountedCpuMs.reduce((sum, a) => sum + a.cpuMs, 0);
        const otherCpuMs = Math.max(0, machineMs - serverCpuMs - benchCpuMs - services);
        return { wallMs, serverCpuMs, benchCpuMs, accountedCpuMs, otherCpuMs, sched: schedLine };
      },
    };
  }

  /**
   * Phase 1: as fast as possible, `window` outstanding per sender, for `seconds` after
   * 1 s of warm-up; `label` opens a profile window over the measured stretch.
   */
  async fastPhase<S extends { outstanding: number }>(
    server: Servers,
    traffic: TrafficBase<S>,
    label?: string,
  ): Promise<FastPhase> {
    traffic.startWindow(this.o.window);
    await sleep(1000); // warm-up, not counted
    traffic.resetCounts();
    traffic.recording = true;
    const m = this.measure(server);
    const w = label === undefined ? undefined : this.window(label);
    await sleep(this.o.seconds * 1000);
    if (w) this.endWindow(w);
    const received = traffic.received;
    const usage = m.stop();
    traffic.recording = false;
    traffic.stop();
    const latency = traffic.samples.summary();
    const lost = await traffic.drain(this.o.timeoutMs);
    return { received, usage, latency, lost };
  }

  /**
   * Waits (at most 60 s) until the server is nearly idle: work the flood left behind —
   * the message archive catching up, above all: the fast phase relays faster than SQLite
   * archives — would otherwise be counted in the fixed-rate phase's CPU and latency.
   */
  private async settle(server: Servers): Promise<void> {
    const started = performance.now();
    for (;;) {
      const m = this.measure(server);
      await sleep(250);
      const { serverCpuMs, wallMs } = m.stop();
      if (serverCpuMs < 0.15 * wallMs || performance.now() - started > 60_000) break;
    }
    const waited = performance.now() - started;
    if (waited > 1000)
      out(`  (the server was busy for ${(waited / 1000).toFixed(1)} s more after the flood; waited)`);
  }

  /**
   * Phase 2: `rate` messages/s in total for `rateSeconds`, skipping senders with
   * `rateCap` outstanding; with `loopDelay` it also reads the bench's event-loop delay;
   * `onReset` runs where the previous phase's figures are forgotten.
   */
  async ratePhase<S extends { outstanding: number }>(
    server: Servers,
    traffic: TrafficBase<S>,
    rateCap: number,
    opts: { label?: string; loopDelay?: boolean; onReset?: () => void } = {},
  ) {
    await sleep(1000); // let both processes settle (GC) after the flood
    await this.settle(server);
    traffic.resetCounts();
    opts.onReset?.();
    traffic.recording = true;
    // The bench's own event-loop delay bounds how exactly it can measure latency.
    const loopDelay = opts.loopDelay ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
    loopDelay?.enable();
    traffic.startRate();
    const m = this.measure(server);
    const t2 = m.started;
    const w = opts.label === undefined ? undefined : this.window(opts.label);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (performance.now() - t2 >= this.o.rateSeconds * 1000) {
          clearInterval(timer);
          resolve();
          return;
        }
        traffic.tick(this.o.rate, rateCap);
      }, 1);
    });
    if (w) this.endWindow(w);
    const usage = m.stop();
    loopDelay?.disable();
    traffic.stop();
    const lost = await traffic.drain(this.o.timeoutMs);
    traffic.recording = false;
    const latency = traffic.samples.summary();
    const sent = traffic.offered - traffic.skipped;
    return { usage, latency, lost, sent, loopDelay };
  }

  /** 6. Closes the connections, stops the server and prints its log summary and, with --profile, the hot spots. */
  async teardown(closeConn: (conn: C) => Promise<void>): Promise<void> {
    await this.stopServer(closeConn);
    for (const w of this.profileWindows)
      if (this.o.profile && existsSync(w.dir)) printProfile(w.dir, w.label, w.from, w.to || monotonicUs());
  }

  /** Closes the connections, stops the server (or the nodes) and prints their log summaries. */
  async stopServer(closeConn: (conn: C) => Promise<void>): Promise<void> {
    await Promise.allSettled(this.conns.map(closeConn));
    this.conns.length = 0;
    const named: [string, ServerProcess][] = this.nodes.map((n, i) => [`node ${i}`, n]);
    if (this.server) named.unshift(['server', this.server]);
    this.server = undefined;
    this.nodes.length = 0;
    const codes = await Promise.all(named.map(([, s]) => s.stop(10_000)));
    if (named.length > 0) out();
    named.forEach(([name, server], i) => {
      out(
        `${name} stopped (exit ${codes[i]}); it logged ${server.log.errors} errors and ${server.log.warnings} warnings` +
          (server.log.samples.size > 0 ? ':' : ''),
      );
      for (const [line, n] of server.log.samples) out(`    ${String(n).padStart(5)}× ${line}`);
    });
  }
}
