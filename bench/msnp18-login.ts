import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { challengeResponse } from '../src/msnp/challenge.ts';
import { abFindContactsPaged, findMembership, initialAdl, LIST } from './abch-client.ts';
import { MsnpConn, msnp18Payload } from './msnp-conn.ts';
import type { LoginTarget } from './msnp-login.ts';
import { ssoAnswer, ssoTokens } from './passport-client.ts';

/** Windows Live Messenger 2009 (14.0.8117) answers CHL with this product id (docs/msnp-reference.md §7.3). */
export const PRODUCT_ID_18 = 'PROD0119GSJUC$18';
const CLIENT_VERSION = '14.0.8117.0416';
/**
 * WLM 2009's `CHG` capabilities, `clientid:extcaps` (NINA wiki Commands/CHG; MSNP16+):
 * MSNC11 and the features it announces, as its own sign-in sends them.
 */
const CAPABILITIES = '2789003324:48';

/** The steps of one sign-in, in order, as the report names them. */
export const STEPS = [
  'VER/CVR/USR SSO I',
  'RST2.srf',
  'USR SSO S',
  'FindMembership',
  'ABFindContactsPaged',
  'ADL',
  'CHG + NLN burst',
  'CHL/QRY',
] as const;

export interface Msnp18Login {
  conn: MsnpConn;
  /** `{guid}`: the endpoint's machine GUID (MSNP16+), which it names in the switchboard. */
  machineGuid: string;
  /** Milliseconds per step of `STEPS`. */
  steps: number[];
  /** Contacts in the address book, and online contacts announced by NLN before the CHL. */
  contacts: number;
  burst: number;
}

/** VER and CVR on a fresh connection, then `USR SSO I`; resolves with its reply (USR or XFR). */
async function hello(
  target: LoginTarget,
  host: string,
  port: number,
  local: string | undefined,
  handle: string,
) {
  const conn = await MsnpConn.connect(port, host, local, target.timeoutMs, msnp18Payload);
  try {
    conn.send('VER', conn.trid(), 'MSNP18', 'CVR0');
    const ver = await conn.expect('VER', target.timeoutMs);
    if (!ver.args.includes('MSNP18')) throw new Error(`VER: MSNP18 not agreed (${ver.args.join(' ')})`);
    conn.send(
      'CVR',
      conn.trid(),
      '0x0409',
      'winnt',
      '6.0',
      'i386',
      'MSNMSGR',
      CLIENT_VERSION,
      'msmsgs',
      handle,
    );
    await conn.expect('CVR', target.timeoutMs);
    // The policies (`GCF 0`) come first; they stay in the inbox.
    conn.send('USR', conn.trid(), 'SSO', 'I', handle);
    return { conn, reply: await conn.expectOneOf(['XFR', 'USR'], target.timeoutMs) };
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

/**
 * One MSNP18 sign-in as Windows Live Messenger 2009 / Pidgin's MSNP18 plugin does it:
 * dispatch (`XFR NS`), `USR SSO I`, RST2.srf for the tokens, `USR SSO S` with the
 * MBI_KEY_OLD answer and a machine GUID (MSNP wiki "MSNP15:SSO"), FindMembership then
 * ABFindContactsPaged (Pidgin's order, msn/contact.c msn_get_contact_list_cb), the
 * initial `ADL` of every contact (waiting for each `ADL OK`), then `CHG NLN` with the
 * NLN burst of the online contacts and the CHL/QRY exchange. Resolves with the online
 * connection and the time of each step.
 */
export async function signIn18(
  target: LoginTarget,
  handle: string,
  password: string,
  local: string | undefined,
): Promise<Msnp18Login> {
  const timeout = target.timeoutMs;
  const steps: number[] = [];
  let mark = performance.now();
  const lap = () => {
    const now = performance.now();
    steps.push(now - mark);
    mark = now;
  };
  let host = target.host;
  let port = target.msnpPort;
  for (let hop = 0; hop < 3; hop++) {
    const { conn, reply } = await hello(target, host, port, local, handle);
    if (reply.name === 'XFR') {
      const [h, p] = (reply.args[2] ?? '').split(':');
      if (!h || !p) throw new Error(`bad XFR NS referral: ${reply.args.join(' ')}`);
      host = h;
      port = Number(p);
      await conn.close(timeout);
      continue;
    }
    try {
      // `USR trid SSO S MBI_KEY_OLD <nonce>`
      const nonce = reply.args[4] ?? '';
      lap();
      const tokens = await ssoTokens(target, local, handle, password);
      lap();
      const machineGuid = `{${randomUUID()}}`;
      conn.send('USR', conn.trid(), 'SSO', 'S', tokens.login, ssoAnswer(tokens.proofKey, nonce), machineGuid);
      const ok = await conn.expect('USR', timeout);
      if (ok.args[1] !== 'OK') throw new Error(`USR: not OK (${ok.args.join(' ')})`);
      lap();
      const lists = await findMembership(target, local, tokens.contacts);
      lap();
      const book = await abFindContactsPaged(target, local, tokens.contacts);
      for (const contact of book) lists.set(contact, (lists.get(contact) ?? 0) | LIST.FL);
      lap();
      for (const payload of initialAdl(lists)) {
        conn.sendPayload('ADL', [conn.trid()], payload);
        const adl = await conn.expect('ADL', timeout);
        if (adl.args[1] !== 'OK') throw new Error(`ADL: not OK (${adl.args.join(' ')})`);
      }
      lap();
      let burst = 0;
      let challenged = false;
      conn.handler = (cmd) => {
        if (cmd.name === 'CHL') {
          challenged = true;
          const answer = challengeResponse(cmd.args[1] ?? '', PRODUCT_ID_18) ?? '';
          conn.sendPayload('QRY', [conn.trid(), PRODUCT_ID_18], answer);
          return false; // also delivered, to end the burst step
        }
        if (cmd.name === 'NLN' || cmd.name === 'ILN') {
          if (!challenged) burst++;
          return true;
        }
        return cmd.name === 'UBX' || cmd.name === 'FLN';
      };
      conn.send('CHG', conn.trid(), 'NLN', CAPABILITIES);
      await conn.expect('CHG', timeout);
      // The NLN burst comes before the CHL (src/msnp/ns/presence.ts).
      await conn.expect('CHL', timeout);
      lap();
      await conn.expect('QRY', timeout);
      lap();
      conn.clearInbox();
      return { conn, machineGuid, steps, contacts: book.length, burst };
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }
  throw new Error('too many XFR NS referrals');
}
