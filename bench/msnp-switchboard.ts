import { performance } from 'node:perf_hooks';
import { cpuShare, Failures, out, pool } from './common.ts';
import { type BaseOptions, type Harness, latencyFigures, printFastPhase } from './harness.ts';
import { MsnpConn } from './msnp-conn.ts';
import { type Pair, Traffic, textPayload } from './msnp-traffic.ts';

/** Target from the project's performance goals. */
const TARGET_MSGS_PER_SECOND = 20_000;

/** A signed-in notification-server session, as the switchboard phases use it. */
export interface NsSession {
  index: number;
  handle: string;
  local: string | undefined;
  ns: MsnpConn;
  /** What the switchboard's USR/ANS name: the handle, or MSNP16+ `handle;{machine-guid}`. */
  sbHandle: string;
}

/** §12.1/§12.2: `a` opens a switchboard and CALs `b`, who answers the RNG; resolves once `a` saw JOI. */
export async function openSwitchboard(a: NsSession, b: NsSession, timeoutMs: number): Promise<Pair> {
  a.ns.send('XFR', a.ns.trid(), 'SB');
  const xfr = await a.ns.expect('XFR', timeoutMs);
  const [host, port] = (xfr.args[2] ?? '').split(':');
  const cookie = xfr.args[4];
  if (!host || !port || !cookie) throw new Error(`bad XFR SB: ${xfr.args.join(' ')}`);
  const sbA = await MsnpConn.connect(Number(port), host, a.local, timeoutMs);
  let sbB: MsnpConn | undefined;
  try {
    sbA.send('USR', sbA.trid(), a.sbHandle, cookie);
    await sbA.expect('USR', timeoutMs);
    sbA.send('CAL', sbA.trid(), b.handle);
    const cal = await sbA.expect('CAL', timeoutMs);
    const sessionId = cal.args[2] ?? '';
    const rng = await b.ns.expect('RNG', timeoutMs);
    if (rng.args[0] !== sessionId) throw new Error(`RNG for session ${rng.args[0]}, expected ${sessionId}`);
    const [h2, p2] = (rng.args[1] ?? '').split(':');
    if (!h2 || !p2) throw new Error(`bad RNG: ${rng.args.join(' ')}`);
    sbB = await MsnpConn.connect(Number(p2), h2, b.local, timeoutMs);
    sbB.send('ANS', sbB.trid(), b.sbHandle, rng.args[3] ?? '', sessionId);
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

/**
 * 5. Switchboard pairs of neighbouring sessions (XFR SB, USR, CAL, RNG, ANS, JOI),
 * then the message phases: as fast as possible with `window` outstanding per pair,
 * and at a fixed offered rate.
 */
export async function switchboardPhases<O extends BaseOptions>(
  h: Harness<O, MsnpConn>,
  sessions: readonly NsSession[],
  pairsWanted: number,
): Promise<void> {
  const o = h.o;
  const server = h.server;
  if (!server) throw new Error('no server');
  const sorted = [...sessions].sort((x, y) => x.index - y.index);
  const pairCount = Math.min(pairsWanted, Math.floor(sorted.length / 2));
  const pairs: Pair[] = [];
  const sbFailures = new Failures();
  const t = performance.now();
  await pool(pairCount, o.concurrency, async (i) => {
    const a = sorted[2 * i] as NsSession;
    const b = sorted[2 * i + 1] as NsSession;
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
