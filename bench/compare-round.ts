/**
 * One round of `npm run bench -- compare`: the same XMPP load against one running
 * server (Papillon or the peer), returning its figures. Nothing here knows which
 * server it talks to; compare.ts starts and stops them.
 */
import { performance } from 'node:perf_hooks';
import { NS } from '../src/xmpp/namespaces.ts';
import { out, Samples, sleep } from './common.ts';
import type { BaseOptions, Harness, Latency, MeasuredProcess } from './harness.ts';
import { type Session, signInSessions } from './xmpp.ts';
import type { XmppConn } from './xmpp-conn.ts';
import type { BenchMechanism, XmppTarget } from './xmpp-login.ts';
import { ChatTraffic, type Peer } from './xmpp-traffic.ts';

export type CompareOptions = BaseOptions & {
  rounds: number;
  contacts: number;
  plainLogins: number;
  rosterFetches: number;
  archive: boolean;
};

/** Accounts a run needs: the kept sessions, the warm-up slots, the PLAIN sign-ins. */
export function accountsNeeded(o: CompareOptions): number {
  return o.sessions + warmupsOf(o) + o.plainLogins;
}

const warmupsOf = (o: CompareOptions) => Math.min(o.concurrency, o.sessions);

export interface LoginFigures {
  ok: number;
  failed: number;
  perSecond: number;
  /** Server CPU per sign-in (ms). */
  cpuMsEach: number;
  p50: number;
  p99: number;
  /** The most frequent failure, if any. */
  failure?: string;
}

export interface RoundFigures {
  scram: LoginFigures;
  plain: LoginFigures;
  /** Mean time of each `LOGIN_STEPS` step of the SCRAM sign-ins (ms). */
  stepMeans: number[];
  /** RSS growth per idle TLS session (bytes). */
  idleBytes: number;
  roster: { items: number; bytes: number; latency: Latency };
  fast: { perSecond: number; cpuUsEach: number; latency: Latency; lost: number; bounced: number };
  rate: { sent: number; routed: number; latency: Latency; lost: number; skipped: number; bounced: number };
  tls: string;
}

/** How `measureRound` reaches the server. */
export interface RoundTarget {
  server: MeasuredProcess;
  target: XmppTarget;
  useAliases: boolean;
  concurrency: number;
}

function loginFigures(logins: Awaited<ReturnType<typeof signInSessions>>, serverCpuMs: number): LoginFigures {
  const ok = logins.sessions.length;
  const first = [...logins.failures.counts].sort((a, b) => b[1] - a[1])[0];
  return {
    ok,
    failed: logins.failures.total,
    perSecond: ok / logins.seconds,
    cpuMsEach: serverCpuMs / Math.max(ok, 1),
    p50: logins.p50,
    p99: logins.p99,
    ...(first ? { failure: first[0] } : {}),
  };
}

/**
 * Warm-up (SCRAM and PLAIN sign-ins and sign-outs, unmeasured), the RSS baseline,
 * `sessions` SCRAM-SHA-256 sign-ins kept open, idle RSS per session, `plainLogins`
 * PLAIN sign-ins (then closed), `rosterFetches` roster gets one at a time, then the
 * message phases of `npm run bench -- xmpp` (as fast as possible, then a fixed rate).
 * Account layout: 0…sessions-1 kept, then the warm-up slots, then the PLAIN ones.
 */
export async function measureRound(
  h: Harness<CompareOptions, XmppConn>,
  r: RoundTarget,
): Promise<RoundFigures> {
  const o = h.o;
  const { server, target, useAliases, concurrency } = r;
  const close = (s: Session) => s.conn.close(o.timeoutMs);
  const signIn = (first: number, count: number, mechanism: BenchMechanism) =>
    signInSessions(target, first, count, concurrency, useAliases, false, mechanism);

  // Warm-up: TLS, the JIT, the stores' caches and both password paths, before the baseline.
  const warmups = warmupsOf(o);
  for (const mechanism of ['SCRAM-SHA-256', 'PLAIN'] as const) {
    const warm = await signIn(o.sessions, warmups, mechanism);
    await Promise.all(warm.sessions.map(close));
    if (warm.failures.total > 0) {
      out(`  warm-up (${mechanism}): ${warm.failures.total} of ${warmups} failed:`);
      warm.failures.print();
    }
  }
  await sleep(1000);
  const rssBefore = server.rss();

  let m = h.measure(server);
  const logins = await signIn(0, o.sessions, 'SCRAM-SHA-256');
  const scram = loginFigures(logins, m.stop().serverCpuMs);
  for (const s of logins.sessions) h.conns.push(s.conn);
  const sessions = [...logins.sessions].sort((a, b) => a.index - b.index);
  if (sessions.length < 2) throw new Error(`${sessions.length} sessions signed in: ${scram.failure ?? ''}`);
  const tls = sessions[0]?.conn.tlsDescription ?? 'n/a';

  await sleep(3000);
  const idleBytes = (server.rss() - rssBefore) / sessions.length;

  m = h.measure(server);
  const plainLogins = await signIn(o.sessions + warmups, o.plainLogins, 'PLAIN');
  const plain = loginFigures(plainLogins, m.stop().serverCpuMs);
  await Promise.all(plainLogins.sessions.map(close));
  await sleep(500);

  const roster = await fetchRosters(sessions, o.rosterFetches, o.timeoutMs);

  const traffic = new ChatTraffic(
    sessions.map((s): Peer => ({ conn: s.conn, bare: s.bare, outstanding: 0 })),
  );
  const fast = await h.fastPhase(server, traffic);
  const fastBounced = traffic.bouncedTotal;
  traffic.bounced.clear();
  const rate = await h.ratePhase(server, traffic, 64, { onReset: () => traffic.bounced.clear() });

  await Promise.allSettled(h.conns.map((c) => c.close(o.timeoutMs)));
  h.conns.length = 0;
  return {
    scram,
    plain,
    stepMeans: logins.stepMeans,
    idleBytes,
    roster,
    fast: {
      perSecond: (fast.received / fast.usage.wallMs) * 1000,
      cpuUsEach: (fast.usage.serverCpuMs * 1000) / Math.max(fast.received, 1),
      latency: fast.latency,
      lost: fast.lost,
      bounced: fastBounced,
    },
    rate: {
      sent: rate.sent,
      routed: traffic.received,
      latency: rate.latency,
      lost: rate.lost,
      skipped: traffic.skipped,
      bounced: traffic.bouncedTotal,
    },
    tls,
  };
}

/**
 * `count` roster gets (RFC 6121 §2.1.3), one at a time, round-robin over the sessions:
 * the time from the request to the parsed result, and the size of the first result.
 */
async function fetchRosters(
  sessions: Session[],
  count: number,
  timeoutMs: number,
): Promise<RoundFigures['roster']> {
  const samples = new Samples();
  let items = 0;
  let bytes = 0;
  for (let k = 0; k < count; k++) {
    const conn = (sessions[k % sessions.length] as Session).conn;
    const id = `rf${k}`;
    const t0 = performance.now();
    conn.write(`<iq type='get' id='${id}'><query xmlns='${NS.roster}'/></iq>`);
    const result = await conn.iqResult(id, timeoutMs);
    samples.push(performance.now() - t0);
    if (k === 0) {
      items = result.getChild('query', NS.roster)?.getChildren('item').length ?? 0;
      bytes = Buffer.byteLength(result.toString());
    }
  }
  return { items, bytes, latency: samples.summary() };
}
