/**
 * `npm run bench -- msnp --version 18`: full Windows Live Messenger 2009 sign-ins per
 * second for accounts with 100 mutual contacts each (RST2.srf, USR SSO, FindMembership,
 * ABFindContactsPaged, the initial ADL, CHG and the NLN burst, CHL/QRY), the time of
 * each step, server memory per idle session and the switchboard figures, next to
 * MSNP12 sign-ins of the same accounts on a fresh server in the same run.
 */
import { ms, out } from './common.ts';
import type { Harness, Logins } from './harness.ts';
import type { MsnpConn } from './msnp-conn.ts';
import { BENCH_PASSWORD } from './msnp-server.ts';
import { type NsSession, switchboardPhases } from './msnp-switchboard.ts';
import {
  contactsOf,
  loginPhase,
  type Msnp12Phase,
  type MsnpOptions,
  msnp12Phase,
  printStepTimes,
} from './msnp12.ts';
import { STEPS, signIn18 } from './msnp18-login.ts';

/** The project's goals for MSNP18 against MSNP12 on the same machine. */
const GOAL_RATE_SHARE = 0.8;
const GOAL_MEMORY_SHARE = 0.1;

interface Session18 extends NsSession {
  steps: number[];
  contacts: number;
  burst: number;
}

const closeConn = (c: MsnpConn) => c.close(3000, true);

export async function bench18(h: Harness<MsnpOptions, MsnpConn>, pairsWanted: number): Promise<void> {
  const o = h.o;
  let baseline: Msnp12Phase | undefined;
  if (!o.noBaseline) {
    out();
    out('part 1: MSNP12 (MSN Messenger 7.5) sign-ins of the same accounts, for comparison');
    baseline = await msnp12Phase(h, true);
    await h.stopServer(closeConn);
    out();
    out('part 2: MSNP18 (Windows Live Messenger 2009), on a fresh server over the same data');
  }

  // 1. Setup (unless part 1 did it), 2. the server, 3. the measured sign-ins, 4. idle memory.
  const { logins, memory } = await loginPhase<Session18>(h, baseline === undefined, {
    signIn: async (target, index, handle, local) => {
      const login = await signIn18(target, handle, BENCH_PASSWORD, local);
      return {
        index,
        handle,
        local,
        ns: login.conn,
        sbHandle: `${handle};${login.machineGuid}`,
        steps: login.steps,
        contacts: login.contacts,
        burst: login.burst,
      };
    },
    what:
      'logins (MSNP18: DS + XFR NS + NS, RST2.srf over HTTPS, USR SSO, FindMembership, ' +
      'ABFindContactsPaged, ADL, CHG + NLN burst, CHL/QRY)',
    details: printSteps,
  });

  // 5. Switchboards (USR and ANS name the endpoint, `handle;{guid}`) and the message phases.
  await switchboardPhases(h, logins.sessions, pairsWanted);

  printComparison(o, logins, memory, baseline);
}

/** p50 and p99 of each step, and what the client got from the address book and the burst. */
function printSteps(logins: Logins<Session18>): void {
  const sessions = logins.sessions;
  if (sessions.length === 0) return;
  printStepTimes(STEPS, sessions);
  const mean = (f: (s: Session18) => number) => sessions.reduce((sum, s) => sum + f(s), 0) / sessions.length;
  out(
    `  address book: ${mean((s) => s.contacts).toFixed(1)} contacts on average; ` +
      `NLN burst: ${mean((s) => s.burst).toFixed(1)} online contacts on average`,
  );
}

/** The goals: MSNP18's sign-in rate and idle memory against MSNP12's from the same run. */
function printComparison(
  o: MsnpOptions,
  logins: Logins<Session18>,
  memory: Msnp12Phase['memory'],
  baseline: Msnp12Phase | undefined,
): void {
  out();
  if (!baseline) {
    out(`MSNP12 figures for comparison: run \`npm run bench -- msnp --contacts ${contactsOf(o)}\``);
    out('with the same --sessions and --concurrency (or leave out --no-baseline)');
    return;
  }
  const rate18 = logins.sessions.length / logins.seconds;
  const rate12 = baseline.logins.sessions.length / baseline.logins.seconds;
  const share = rate18 / rate12;
  const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
  out('MSNP18 against MSNP12 (same accounts and contacts, same run, each on a fresh server)');
  out(
    `  sign-ins/s: MSNP18 ${rate18.toFixed(0)}, MSNP12 ${rate12.toFixed(0)}: ${(share * 100).toFixed(0)} %; ` +
      `goal ≥ ${GOAL_RATE_SHARE * 100} %: ${verdict(share >= GOAL_RATE_SHARE)}`,
  );
  out(
    `  sign-in latency p50: MSNP18 ${ms(logins.p50)}, MSNP12 ${ms(baseline.logins.p50)}; ` +
      `p99: MSNP18 ${ms(logins.p99)}, MSNP12 ${ms(baseline.logins.p99)}`,
  );
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const memoryLine = (what: string, m18: number, m12: number) => {
    const growth = m18 / m12 - 1;
    out(
      `  ${what} per idle session: MSNP18 ${kb(m18)}, MSNP12 ${kb(m12)}: ` +
        `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(0)} %; ` +
        `goal ≤ +${GOAL_MEMORY_SHARE * 100} %: ${verdict(growth <= GOAL_MEMORY_SHARE)}`,
    );
  };
  memoryLine('memory (RSS)', memory.rss, baseline.memory.rss);
  if (memory.heap !== undefined && baseline.memory.heap !== undefined)
    memoryLine('live JS heap', memory.heap, baseline.memory.heap);
  else
    out(
      '  (RSS varies by tens of KB per session from run to run; --heap adds the live JS heap, a steadier figure)',
    );
}
