/**
 * What both MSNP benchmarks share: the options, and steps 1–4 of MSNP12 (the accounts,
 * the server, the measured logins and the idle memory), which `--version 18` also
 * runs first, as its baseline.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cpuShare, mb, ms, out } from './common.ts';
import { type BaseOptions, type Harness, type Logins, signInMany } from './harness.ts';
import type { MsnpConn } from './msnp-conn.ts';
import { type LoginTarget, passportAgent, signIn } from './msnp-login.ts';
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
    agent: passportAgent(readFileSync(path.join(h.dataDir, 'certs', 'ca.crt'))),
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
  const { useAliases, concurrency } = await h.loginSource(target.msnpPort, ':', true);

  // Warm-up: sign in and out once per slot, so argon2's memory and the JIT are warm
  // before the memory baseline is read. 3. Logins.
  const signInSessions = (first: number, count: number) =>
    signInMany<S>(first, count, concurrency, useAliases, (index, handle, local) =>
      spec.signIn(target, index, handle, local),
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
    `  server CPU ${cpuShare(loginUsage.serverCpuMs, logins.seconds * 1000)} (argon2 runs on libuv's thread pool); ` +
      `bench CPU ${cpuShare(loginUsage.benchCpuMs, logins.seconds * 1000)}`,
  );
  // Other work on the machine shows here as waiting: figures from a busy machine do not compare.
  out(`  server ${loginUsage.sched}`);
  logins.failures.print();

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

/** Steps 1–4 for MSNP12 (MSN Messenger 7.5). */
export function msnp12Phase(h: Harness<MsnpOptions, MsnpConn>, seed: boolean): Promise<Msnp12Phase> {
  return loginPhase<NsSession>(h, seed, {
    signIn: async (target, index, handle, local) => ({
      index,
      handle,
      local,
      ns: await signIn(target, handle, BENCH_PASSWORD, local),
      sbHandle: handle,
    }),
    what: `logins (MSNP12: DS + XFR NS + NS, RST.srf over HTTPS, SYN, CHG, CHL/QRY)`,
  });
}
