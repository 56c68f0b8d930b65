import { recordSignIn } from '../../core/metrics.ts';
import type { AccountRow } from '../../store/types.ts';
import { isValidHandle, normalizeHandle } from '../../util/handle.ts';
import { encodeParam } from '../codec/index.ts';
import { negotiateVersion } from '../dialects/negotiate.ts';
import { MsnpError } from '../errors.ts';
import { newSsoNonce, SSO_POLICY, verifySsoResponse } from '../sso-challenge.ts';
import { circleSignIn } from './circle.ts';
import { hostFor } from './context.ts';
import { type NsHandler, tridOf } from './handler.ts';
import { LOGIN_POLICIES } from './login-policies.ts';
import { endpointsReplacedBy } from './mpop.ts';
import { sendInitialMailData } from './oim-notification.ts';
import { profileMessage } from './profile-message.ts';
import { MsnpReply } from './reply.ts';
import type { NsSession } from './session.ts';

/** §3.1 `VER trid MSNPx … [CVR0]`: once per connection. */
export const VER: NsHandler = {
  state: 'any',
  run(s, c) {
    const trid = tridOf(c);
    if (s.state !== 'connected' || c.args.length < 2) throw new MsnpReply(MsnpError.syntaxError, true);
    const { dialect, reply } = negotiateVersion(c.args.slice(1));
    s.send('VER', trid, ...reply);
    if (!dialect) {
      s.log.info({ offered: c.args.slice(1) }, 'no MSNP version in common; closing');
      s.close();
      return;
    }
    s.dialect = dialect;
    s.state = 'negotiated';
  },
};

/**
 * §3.2 `CVR trid locale os osver arch lib version …`. We recommend the client's own
 * version as current and minimum: a minimum above it makes the client quit to upgrade.
 */
export const CVR: NsHandler = {
  state: 'negotiated',
  run(s, c) {
    const version = c.args[6] ?? '1.0.0000';
    const site = `http://${s.ctx.domain}/`;
    s.send('CVR', tridOf(c), version, version, version, site, site);
  },
};

/** §3.4 `INF trid` → `INF trid MD5` (MSNP2–7). */
export const INF: NsHandler = {
  state: 'negotiated',
  when: (d) => d.inf,
  run(s, c) {
    s.send('INF', tridOf(c), 'MD5');
  },
};

/** §4: the referral a dispatch server answers the first `USR … I` with. */
function referToNotificationServer(s: NsSession, trid: string): void {
  const address = `${hostFor(s.ctx, s.transport.localAddress)}:${s.ctx.nsPort}`;
  const dialect = s.dialect;
  if (!dialect) return;
  if (dialect.xfrNs === 'address') s.send('XFR', trid, 'NS', address);
  else if (dialect.xfrNs === 'address-zero') s.send('XFR', trid, 'NS', address, '0');
  else if (dialect.xfrNs === 'address-u-d') s.send('XFR', trid, 'NS', address, 'U', 'D');
  else s.send('XFR', trid, 'NS', address, '0', address);
  s.close();
}

/** §5: the USR security package of each authentication style. */
const MECHANISM = { md5: 'MD5', twn: 'TWN', sso: 'SSO' } as const;

/** §5.2: opaque to clients, copied into the Passport request. */
const TWN_POLICY =
  'lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1,kpp=1,kv=5,ver=2.1.0173.1,tpf=0';

/** MSNP16+ machine GUID: `{8-4-4-4-12}` hex (Pidgin msnutils.c rand_guid; WLM 2009). */
const MACHINE_GUID = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/i;

/** The nonce sent in `USR … SSO S MBI_KEY_OLD <nonce>`, until the client answers it once. */
const ssoNonces = new WeakMap<NsSession, string>();

/**
 * §5: `USR trid MD5|TWN|SSO I handle`, then `USR trid MD5|TWN S proof` or, MSNP15+,
 * `USR trid SSO S <ticket> <base64 answer> [{machine-guid}]` (MSNP wiki "MSNP15:SSO").
 */
export const USR: NsHandler = {
  state: 'negotiated',
  async run(s, c) {
    const trid = tridOf(c);
    const [, mechanism, phase, value] = c.args;
    const dialect = s.dialect;
    if (!dialect) return;
    // MSNP18 `USR trid SHA A <circle ticket>`, sent once signed in (circle.ts).
    if (mechanism === 'SHA' && s.state === 'online' && value) return circleSignIn(s, trid, phase, value);
    if (s.state === 'online') throw new MsnpReply(MsnpError.alreadyLoggedIn);
    if (mechanism !== MECHANISM[dialect.auth] || !value) {
      // An unknown security package ends the connection (§5.1).
      throw new MsnpReply(MsnpError.authenticationFailed, true);
    }
    if (dialect.auth === 'md5' && !s.ctx.core.credentials.legacyMd5Login) {
      // Config `legacyMd5Login` off: MSN 1.0–4.7 (MSNP2–7) cannot sign in. 911
      // (ERR_AUTHENTICATION_FAILED, docs/msnp-reference.md §11) is the refusal every
      // version of those clients handles; no salt is handed out. Not counted as a failed
      // sign-in: fail2ban must not ban a user for an old client.
      s.log.info({ dialect: dialect.name }, 'MSNP2–7 MD5 sign-in refused: legacyMd5Login is off');
      throw new MsnpReply(MsnpError.authenticationFailed, true);
    }
    if (phase === 'I') {
      const handle = normalizeHandle(value);
      if (!isValidHandle(handle)) throw new MsnpReply(MsnpError.authenticationFailed, true);
      if (!s.transport.viaGateway && (await s.ctx.dispatch.shouldRefer(s.transport.remoteAddress, handle))) {
        referToNotificationServer(s, trid);
        return;
      }
      s.pendingHandle = handle;
      if (dialect.policiesAtLogin) s.sendPayload('GCF', ['0'], LOGIN_POLICIES);
      if (dialect.auth === 'md5') {
        const { salt } = await s.ctx.core.credentials.md5Challenge(handle);
        s.send('USR', trid, 'MD5', 'S', salt);
      } else if (dialect.auth === 'twn') {
        s.send('USR', trid, 'TWN', 'S', TWN_POLICY);
      } else {
        // A fresh nonce per attempt: an answer is only good for the nonce it was made for.
        const nonce = newSsoNonce();
        ssoNonces.set(s, nonce);
        s.send('USR', trid, 'SSO', 'S', SSO_POLICY, nonce);
      }
      return;
    }
    if (phase !== 'S' || !s.pendingHandle) throw new MsnpReply(MsnpError.authenticationFailed, true);
    const handle = s.pendingHandle;
    let machineGuid: string | undefined;
    if (dialect.mpop) {
      machineGuid = c.args[5];
      if (!machineGuid || !MACHINE_GUID.test(machineGuid))
        throw new MsnpReply(MsnpError.authenticationFailed, true);
    }
    const result = await s.ctx.core.loginGuard.attempt(s.transport.remoteAddress, handle, async () => {
      let account: AccountRow | undefined;
      if (dialect.auth === 'md5') account = await s.ctx.core.credentials.verifyMd5(handle, value);
      else if (dialect.auth === 'twn') account = await s.ctx.core.tickets.redeem(c.args.slice(3).join(' '));
      else account = await redeemSso(s, value, c.args[4]);
      return account && account.handle === handle ? account : undefined;
    });
    const signIn = {
      path: `msnp-${dialect.auth}`,
      result: result.status,
      address: s.transport.remoteAddress,
      handle,
    } as const;
    recordSignIn(s.ctx.core.metrics, s.log, signIn);
    if (result.status !== 'ok') throw new MsnpReply(MsnpError.authenticationFailed, true);
    // Kept as the client wrote it: it recognises itself by it in UBX EndpointData.
    if (machineGuid) s.machineGuid = machineGuid;
    await completeLogin(s, trid, result.value, dialect.auth === 'md5' ? '' : value);
  },
};

/**
 * MSNP15+: the ticket must be an unused login ticket with a proof key, and the
 * answer must be the MBI_KEY_OLD blob for the nonce this connection was sent under
 * that key; only then is the ticket used up. One answer per nonce.
 */
async function redeemSso(
  s: NsSession,
  ticket: string,
  answer: string | undefined,
): Promise<AccountRow | undefined> {
  const nonce = ssoNonces.get(s);
  ssoNonces.delete(s);
  if (!nonce || !answer) return undefined;
  const found = await s.ctx.core.tickets.find(ticket);
  if (!found?.proofKey || !verifySsoResponse(found.proofKey, nonce, answer)) return undefined;
  const account = await s.ctx.core.tickets.redeem(ticket);
  return account?.id === found.accountId ? account : undefined;
}

/**
 * §10 OUT OTH: before multipoint (MSNP2–15) a new MSNP sign-in signs the account's
 * other MSNP endpoints out. MPOP hook: an MSNP16+ sign-in (`dialect.mpop`, with
 * `s.machineGuid` set) signs nobody out; how the endpoints then see each other
 * (UBX EndpointData, a repeated machine GUID) is the presence side's business.
 */
async function signOutOtherEndpoints(s: NsSession, account: AccountRow): Promise<void> {
  for (const endpoint of endpointsReplacedBy(s, await s.ctx.core.presence.endpoints(account.id))) {
    await s.ctx.core.events.publish(account.id, {
      type: 'sign-out',
      endpointId: endpoint.endpointId,
      reason: 'signed-in-elsewhere',
    });
  }
}

async function completeLogin(s: NsSession, trid: string, account: AccountRow, ticket: string): Promise<void> {
  const dialect = s.dialect;
  if (!dialect) return;
  await signOutOtherEndpoints(s, account);
  await s.startSession(account);
  const name = encodeParam(account.displayName);
  switch (dialect.usrOk) {
    case 'handle-name':
      s.send('USR', trid, 'OK', account.handle, name);
      break;
    case 'handle-name-verified':
      s.send('USR', trid, 'OK', account.handle, name, 1);
      break;
    case 'handle-name-verified-restricted':
      s.send('USR', trid, 'OK', account.handle, name, 1, 0);
      break;
    case 'handle-verified-restricted':
      s.send('USR', trid, 'OK', account.handle, 1, 0);
      break;
  }
  if (dialect.sbsAfterLogin) s.send('SBS', 0, 'null');
  // MSNP13+ clients may present MSPAuth to the web services (a Passport cookie); the
  // login ticket is spent by now, so they get a web-service token there instead.
  const mspAuth = dialect.addressBook
    ? (await s.ctx.core.tickets.issueService(account.id)).t
    : (/(?:^|&)t=([^&]*)/.exec(ticket)?.[1] ?? '');
  s.sendPayload(
    'MSG',
    ['Hotmail', 'Hotmail'],
    profileMessage({
      account,
      dialect,
      clientAddress: s.transport.remoteAddress,
      clientPort: s.transport.remotePort,
      viaGateway: s.transport.viaGateway,
      mspAuth,
    }),
  );
  // MSNP13+: the stored offline messages, listed for the client to fetch (OIM).
  await sendInitialMailData(s);
}
