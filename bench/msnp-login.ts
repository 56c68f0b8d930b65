import { Agent } from 'node:https';
import { challengeResponse } from '../src/msnp/challenge.ts';
import type { MsnpCommand } from '../src/msnp/codec/index.ts';
import type { HttpsTarget } from './https-post.ts';
import { MsnpConn } from './msnp-conn.ts';
import { rstTicket } from './passport-client.ts';

/** MSN Messenger 7.5 speaks MSNP12 and answers CHL with this product id (docs/msnp-reference.md §7.3). */
export const PRODUCT_ID = 'PROD0090YUAUV{2B';
const CLIENT_VERSION = '7.5.0324';

export interface LoginTarget extends HttpsTarget {
  msnpPort: number;
}

/**
 * The HTTPS agent of the Passport requests: by default one kept-alive connection per
 * source address, reused by the sign-ins from it; with `newTls`, each request on a new
 * connection with a full TLS handshake (no session resumption), as distinct users are.
 */
export function passportAgent(ca: Buffer, newTls = false): Agent {
  return newTls
    ? new Agent({ keepAlive: false, ca, maxSockets: Number.POSITIVE_INFINITY, maxCachedSessions: 0 })
    : new Agent({ keepAlive: true, ca, maxSockets: Number.POSITIVE_INFINITY });
}

/** Answers every `CHL 0 challenge` with the MSNP11 `QRY` (§7.1, §7.4). */
function answerChallenges(conn: MsnpConn, cmd: MsnpCommand): boolean {
  if (cmd.name !== 'CHL') return false;
  const answer = challengeResponse(cmd.args[1] ?? '', PRODUCT_ID) ?? '';
  conn.sendPayload('QRY', [conn.trid(), PRODUCT_ID], answer);
  return true;
}

/** VER and CVR on a fresh connection, as MSN Messenger 7.5 does (§3.1, §3.2). */
async function negotiate(
  target: LoginTarget,
  host: string,
  port: number,
  local: string | undefined,
  handle: string,
) {
  const conn = await MsnpConn.connect(port, host, local, target.timeoutMs);
  try {
    conn.send('VER', conn.trid(), 'MSNP12', 'CVR0');
    const ver = await conn.expect('VER', target.timeoutMs);
    if (!ver.args.includes('MSNP12')) throw new Error(`VER: MSNP12 not agreed (${ver.args.join(' ')})`);
    conn.send(
      'CVR',
      conn.trid(),
      '0x0409',
      'winnt',
      '5.1',
      'i386',
      'MSNMSGR',
      CLIENT_VERSION,
      'MSMSGS',
      handle,
    );
    await conn.expect('CVR', target.timeoutMs);
    return conn;
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

/** A sign-in failure whose message starts with the step it happened at. */
class StepFailure extends Error {}

/** `err` with its message prefixed by `where` (unless it names it already), so failures count by kind. */
function failedAt(where: string, err: unknown): Error {
  if (err instanceof StepFailure) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StepFailure(message.startsWith(where) ? message : `${where}: ${message}`);
}

/** The steps of one MSNP12 sign-in whose times `signIn` records, in order. */
export const STEPS12 = [
  'DS: VER/CVR/USR, XFR',
  'NS: VER/CVR/USR TWN I',
  'RST.srf',
  'USR TWN S',
  'SYN',
  'CHG',
  'CHL/QRY',
] as const;

/**
 * One MSNP12 sign-in as MSN Messenger 7.5: dispatch (`XFR NS`), reconnect, `USR TWN I`,
 * a ticket from RST.srf, `USR TWN S`, then `SYN`, `CHG NLN` and the CHL/QRY exchange.
 * Resolves with the online notification-server connection; a failure's message starts
 * with the step (`DS`, `NS`, `RST.srf`). With `steps`, pushes the milliseconds of each
 * of `STEPS12` to it.
 */
export async function signIn(
  target: LoginTarget,
  handle: string,
  password: string,
  localAddress: string | undefined,
  steps?: number[],
): Promise<MsnpConn> {
  let host = target.host;
  let port = target.msnpPort;
  let mark = performance.now();
  const lap = () => {
    const now = performance.now();
    steps?.push(now - mark);
    mark = now;
  };
  for (let hop = 0; hop < 3; hop++) {
    const where = hop === 0 ? 'DS' : 'NS';
    const conn = await negotiate(target, host, port, localAddress, handle).catch((err: unknown) => {
      throw failedAt(where, err);
    });
    try {
      conn.send('USR', conn.trid(), 'TWN', 'I', handle);
      const reply = await conn.expectOneOf(['XFR', 'USR'], target.timeoutMs);
      if (reply.name === 'XFR') {
        const [h, p] = (reply.args[2] ?? '').split(':');
        if (!h || !p) throw new Error(`bad XFR NS referral: ${reply.args.join(' ')}`);
        host = h;
        port = Number(p);
        await conn.close(target.timeoutMs);
        lap();
        continue;
      }
      // Signed in without a referral: no dispatch step.
      if (hop === 0) steps?.push(Number.NaN);
      lap();
      const policy = reply.args[3] ?? '';
      const ticket = await rstTicket(target, localAddress, handle, password, policy).catch((err: unknown) => {
        throw failedAt('RST.srf', err);
      });
      lap();
      conn.send('USR', conn.trid(), 'TWN', 'S', ticket);
      const ok = await conn.expect('USR', target.timeoutMs);
      if (ok.args[1] !== 'OK') throw new Error(`USR: not OK (${ok.args.join(' ')})`);
      lap();
      conn.send('SYN', conn.trid(), 0, 0);
      await conn.expect('SYN', target.timeoutMs);
      lap();
      conn.handler = (cmd) => answerChallenges(conn, cmd);
      conn.send('CHG', conn.trid(), 'NLN', 0);
      await conn.expect('CHG', target.timeoutMs);
      lap();
      // The first CHG is followed by a CHL; the handler answers it and the server acknowledges.
      await conn.expect('QRY', target.timeoutMs);
      lap();
      conn.clearInbox();
      return conn;
    } catch (err) {
      conn.destroy();
      throw failedAt(where, err);
    }
  }
  throw new Error('too many XFR NS referrals');
}
