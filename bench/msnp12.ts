/**
 * What both MSNP benchmarks share: the options, and steps 1–4 of MSNP12 (the accounts,
 * the server, the measured logins and the idle memory), which `--version 18` also
 * runs first, as its baseline.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { cpuShare, mb, ms, out } from './common.ts';
import { type BaseOptions, type Harness, type Logins, signInMany } from './harness.ts';
import type { MsnpConn } from './msnp-conn.ts';
import { type LoginTarget, passportAgent, STEPS12, signIn } from './msnp-login.ts';
import { BENCH_PASSWORD, type ServerProcess } from './msnp-server.ts';
import type { NsSession } from './msnp-switchboard.ts';

/** Target from the project's performance goals. */
export const TARGET_IDLE_BYTES = 10 * 1024;

export interface MsnpOptions extends BaseOptions {
  pairs: number | undefined;
  version: number;
  /** Mutual contacts per account; undefined: 0 for MSNP12, 100 for MSNP18. */
  contacts: number | undefined;
  /** MSNP18 only: skip the MSNP12 sign-ins of the same run. */
  noBaseline: boolean;
  /** Loopback source addresses the sign-ins in flight share; undefined: one per slot. */
  addresses: number | undefined;
  /** Each RST request on its own new TLS connection (`passportAgent`). */
  newTls: boolean;
}

export function contactsOf(o: MsnpOptions): number {
  return o.contacts ?? (o.version >= 13 ? 100 : 0);
}

/** The login target of `server` (its MSNP and HTTPS ports, the bench CA), printed with its pid. */
function loginTarget(h: Harness<MsnpOptions, MsnpConn>, server: ServerProcess): LoginTarget {
  const target: LoginTarget = {
    host: '127.0.0.1',
    msnpPort: server.port('msnp'),
    httpsPort: server.port('https'),
    agent: passportAgent(readFileSync(path.join(h.dataDir, 'certs', 'ca.crt')), h.o.newTls),
    timeoutMs: h.o.timeoutMs,
  };
  out(
    `server pid ${server.pid}: msnp ${target.msnpPort}, sb ${server.port('msnp-sb')}, ` +
      `https ${target.httpsPort}; RSS at ready ${mb(h.rssReady)}`,
  );
  return target;
}

/** What a phase's logins and the idle memory measured. */
export interface LoginPhase<S extends NsSession> {
  logins: Logins<S>;
  /** Server bytes per idle session: RSS, and the live JS heap with --heap. */
  memory: { rss: number; heap: number | undefined };
}

/** What the MSNP12 logins and the idle memory measured. */
export type Msnp12Phase = LoginPhase<NsSession>;

/** How one version signs a session in, and how its login figures are printed. */
export interface LoginSpec<S extends NsSession> {
  signIn(target: LoginTarget, index: number, handle: string, local: string | undefined): Promise<S>;
  /** The title of the measured logins. */
  what: string;
  /** The protocol in the one-line figure; default `MSNP<version>`. */
  name?: string;
  /** More figures, printed after the latency. */
  details?(logins: Logins<S>): void;
}

/**
 * Steps 1–4 of every MSNP benchmark: the accounts (`seed`), the server, the warm-up,
 * the measured logins and the memory per idle session.
 */
export async function loginPhase<S extends NsSession>(
  h: Harness<MsnpOptions, MsnpConn>,
  seed: boolean,
  spec: LoginSpec<S>,
): Promise<LoginPhase<S>> {
  const o = h.o;
  const warmups = Math.min(o.concurrency, o.sessions);

  // 1. Setup, 2. the server.
  const server = await h.startServer(o.sessions + warmups, contactsOf(o), seed);
  const target = loginTarget(h, server);
  const { useAliases, concurrency } = await h.loginSource(target.msnpPort, ':', true, o.addresses);
  const addresses = useAliases ? Math.min(o.addresses ?? concurrency, concurrency, o.sessions) : 1;

  // Warm-up: sign in and out once per slot, so the thread pool and the JIT are warm
  // before the memory baseline is read. 3. Logins.
  const signInSessions = (first: number, count: number) =>
    signInMany<S>(
      first,
      count,
      concurrency,
      useAliases,
      (index, handle, local) => spec.signIn(target, index, handle, local),
      addresses,
    );
  const { logins, usage: loginUsage } = await h.warmUpAndLogIn(
    server,
    warmups,
    signInSessions,
    (s) => s.ns.close(o.timeoutMs, true),
    (s) => s.ns,
    spec.what,
  );
  out(`  login latency p50 ${ms(logins.p50)}, p99 ${ms(logins.p99)}`);
  spec.details?.(logins);
  out(
    `  server CPU ${cpuShare(loginUsage.serverCpuMs, logins.seconds * 1000)} (the PBKDF2 password check runs on libuv's thread pool); ` +
      `bench CPU ${cpuShare(loginUsage.benchCpuMs, logins.seconds * 1000)}`,
  );
  // Other work on the machine shows here as waiting: figures from a busy machine do not compare.
  out(`  server ${loginUsage.sched}`);
  // The figure to quote, on one line, with the failures by kind (the step and what went wrong).
  const inFlight = Math.min(concurrency, o.sessions);
  out(
    `  ${spec.name ?? `MSNP${o.version}`} sign-ins: ${(logins.sessions.length / logins.seconds).toFixed(0)}/s, ` +
      `${inFlight} in flight from ${addresses} address${addresses === 1 ? '' : 'es'}` +
      `${o.newTls ? ', each RST.srf on a new TLS connection' : ''}; ` +
      `${logins.failures.total} failures of ${o.sessions} ` +
      `(load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores)` +
      `${logins.failures.total > 0 ? ':' : ''}`,
  );
  logins.failures.print('    ', Number.POSITIVE_INFINITY);

  if (!server.running) throw new Error('the server exited during the logins');

  // 4. Idle memory.
  const memory = await h.idleMemory(
    server,
    logins.sessions.length,
    'NS session',
    `${TARGET_IDLE_BYTES / 1024} KB`,
  );
  return { logins, memory };
}

/** p50 and p99 of each of the steps `names`, from each session's `steps` (ms per step, in order). */
export function printStepTimes(names: readonly string[], sessions: readonly { steps: number[] }[]): void {
  if (sessions.length === 0) return;
  const at = (sorted: number[], p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
  out('  per step, p50 / p99:');
  names.forEach((name, i) => {
    const values = sessions.map((s) => s.steps[i] ?? Number.NaN).sort((a, b) => a - b);
    out(`    ${name.padEnd(22)} ${ms(at(values, 50)).padStart(9)} / ${ms(at(values, 99)).padStart(9)}`);
  });
}

/** Steps 1–4 for MSNP12 (MSN Messenger 7.5), with the time of each step of the sign-ins. */
export function msnp12Phase(h: Harness<MsnpOptions, MsnpConn>, seed: boolean): Promise<Msnp12Phase> {
  return loginPhase<NsSession & { steps: number[] }>(h, seed, {
    signIn: async (target, index, handle, local) => {
      const steps: number[] = [];
      const ns = await signIn(target, handle, BENCH_PASSWORD, local, steps);
      return { index, handle, local, ns, sbHandle: handle, steps };
    },
    details: (logins) => printStepTimes(STEPS12, logins.sessions),
    what: `logins (MSNP12: DS + XFR NS + NS, RST.srf over HTTPS, SYN, CHG, CHL/QRY)`,
    name: 'MSNP12',
  });
}
