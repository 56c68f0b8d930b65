/**
 * Helpers the protocol benchmarks share: output formatting, a task pool, loopback
 * source addresses, failure tallies, latency samples and the CPU profile report.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarizeCpuProfile } from './cpu-profile.ts';
import { type HeapSummary, summarizeHeapSnapshot } from './heap-snapshot.ts';
import { openFileLimits, type ServerProcess } from './msnp-server.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const out = (line = '') => process.stdout.write(`${line}\n`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
export const ms = (value: number) =>
  Number.isNaN(value) ? 'n/a' : `${value.toFixed(value < 10 ? 2 : 1)} ms`;
/** CLOCK_MONOTONIC in µs: the clock of V8's CPU profile timestamps on Linux. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

export function cpuShare(cpuMs: number, wallMs: number): string {
  return `${((cpuMs / wallMs) * 100).toFixed(0)}% of one core`;
}

/** A numeric command-line value, or an error naming the flag. */
export function numberOption(flag: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n < min)
    throw new Error(`${flag} needs a number ≥ ${min}`);
  return n;
}

/** Runs `task(index, slot)` for index 0…count-1 with `concurrency` slots in flight. */
export async function pool(
  count: number,
  concurrency: number,
  task: (index: number, slot: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (slot: number) => {
    while (next < count) await task(next++, slot);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, (_, slot) => worker(slot)));
}

/**
 * Source address for a concurrency slot. The server throttles password checks per
 * client address (core/login-guard.ts) and counts checks still in flight against
 * the limit, as it should against guessing; 2000 real users come from many
 * addresses, so each slot signs in from its own loopback address (127.77.x.y).
 */
export function slotAddress(slot: number): string {
  return `127.77.${Math.floor(slot / 250)}.${(slot % 250) + 1}`;
}

/** Whether this host lets a socket bind 127.77.x.y (Linux routes all of 127/8 to loopback). */
export async function canBindLoopbackAliases(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: slotAddress(0) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Failures counted by their (first line of) message. */
export class Failures {
  readonly counts = new Map<string, number>();
  total = 0;
  add(err: unknown): void {
    this.total++;
    const text = (err instanceof Error ? err.message : String(err)).split('\n')[0]?.slice(0, 160) ?? '';
    this.counts.set(text, (this.counts.get(text) ?? 0) + 1);
  }
  /** The `limit` most frequent kinds. */
  print(indent = '    ', limit = 5): void {
    for (const [text, n] of [...this.counts].sort((a, b) => b[1] - a[1]).slice(0, limit))
      out(`${indent}${n}× ${text}`);
  }
}

/** A growable list of latency samples (ms). */
export class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  clear(): void {
    this.length = 0;
  }

  /** p50, p99 and max, in ms (NaN when empty). */
  summary(): { p50: number; p99: number; max: number } {
    const sorted = this.data.slice(0, this.length).sort();
    const at = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
    return { p50: at(50), p99: at(99), max: sorted[sorted.length - 1] ?? Number.NaN };
  }
}

/** Prints the hot spots of the server's `.cpuprofile` in `dir` between `from` and `to` (monotonic µs). */
export function printProfile(dir: string, label: string, from: number, to: number): void {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    out('no CPU profile was written');
    return;
  }
  const summary = summarizeCpuProfile(path.join(dir, file), ROOT, from, to);
  const total = summary.busySamples + summary.idleSamples;
  out();
  out(
    `server CPU profile, ${summary.wholeProfile ? 'whole run (no samples in the window)' : label}: ` +
      `${summary.busySamples} busy samples (${((summary.busySamples / Math.max(total, 1)) * 100).toFixed(0)}% busy)`,
  );
  const list = (title: string, rows: { name: string; share: number }[]) => {
    out(`  ${title}`);
    for (const row of rows) out(`    ${(row.share * 100).toFixed(1).padStart(5)}%  ${row.name}`);
  };
  list('self time by function:', summary.functions);
  list('total time by function (including callees):', summary.inclusive.slice(0, 10));
  list("total time by Papillon's own functions:", summary.inclusiveOwn.slice(0, 15));
  list('self time by file:', summary.files.slice(0, 12));
}

/**
 * Checks that `sockets` fit under this process's open-file limit (which the server
 * child inherits). Returns a line describing the limit, or prints how to raise it and
 * returns undefined when they do not fit.
 */
export function checkOpenFiles(sockets: number): string | undefined {
  // Node raises its own soft limit to the hard limit at startup, so what this process
  // reads here is in effect the hard limit (`ulimit -Hn`); the server child does the same.
  const limits = openFileLimits();
  if (limits && limits.soft < sockets) {
    const wanted = Math.max(8192, sockets * 2);
    out(`The open-file limit here is ${limits.soft} (hard limit ${limits.hard}), but this run needs about`);
    out(`${sockets} sockets in this process and as many in the server, which inherits the limit.`);
    out('Node raises its soft limit to the hard limit by itself, so the hard limit is what must go up:');
    out(`  as root: ulimit -Hn ${wanted} (or nofile in /etc/security/limits.conf, systemd LimitNOFILE=)`);
    out('or run fewer sessions (--sessions N).');
    return undefined;
  }
  return `open-file limit ${limits ? `${limits.soft} (needs ~${sockets} here and in the server)` : 'unknown (not Linux?)'}`;
}

/** A heap snapshot of the server (started with `heapSnapshotDir` = `dir`), summarized and deleted. */
export async function snapshotSummary(server: ServerProcess, dir: string): Promise<HeapSummary> {
  const file = await server.heapSnapshot(dir, 120_000);
  const summary = summarizeHeapSnapshot(file);
  rmSync(file, { force: true });
  return summary;
}

/**
 * Time a thread has spent on a CPU and waiting for one (runnable but not running), in
 * ms, from /proc/<pid>/task/<tid>/schedstat (the main thread when `tid` is omitted);
 * undefined where the kernel does not provide it. Waiting time is CPU contention: other
 * work on the machine (or this benchmark itself) held the cores.
 */
export function schedStat(pid: number, tid = pid): { runMs: number; waitMs: number } | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
    return { runMs: Number(run) / 1e6, waitMs: Number(wait) / 1e6 };
  } catch {
    return undefined;
  }
}

/**
 * CPU time the whole machine has spent busy (all cores, ms), from /proc/stat: what
 * the server, this process and everything else (databases, other work) used.
 */
export function machineBusyMs(): number {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1);
    // user nice system idle iowait irq softirq steal …: all but idle and iowait are busy.
    const busy = fields.slice(0, 8).reduce((sum, f, i) => (i === 3 || i === 4 ? sum : sum + Number(f)), 0);
    return (busy * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

/** `schedStat` now minus `before`, as shares of `wallMs`, for a report line. */
export function schedShare(pid: number, before: ReturnType<typeof schedStat>, wallMs: number): string {
  const now = schedStat(pid);
  if (!before || !now) return 'n/a';
  const pct = (v: number) => `${((v / wallMs) * 100).toFixed(0)}%`;
  return `main thread on a CPU ${pct(now.runMs - before.runMs)}, waiting for one ${pct(now.waitMs - before.waitMs)}`;
}
