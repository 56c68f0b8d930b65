import type { AccountRow } from '../../store/types.ts';
import { isValidHandle, normalizeHandle } from '../../util/handle.ts';
import { encodeParam } from '../codec/index.ts';
import { negotiateVersion } from '../dialects/negotiate.ts';
import { MsnpError } from '../errors.ts';
import { hostFor } from './context.ts';
import { type NsHandler, tridOf } from './handler.ts';
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
  else s.send('XFR', trid, 'NS', address, '0', address);
  s.close();
}

/** §5: `USR trid MD5|TWN I handle`, then `USR trid MD5|TWN S proof`. */
export const USR: NsHandler = {
  state: 'negotiated',
  async run(s, c) {
    const trid = tridOf(c);
    const [, mechanism, phase, value] = c.args;
    const dialect = s.dialect;
    if (!dialect) return;
    if (s.state === 'online') throw new MsnpReply(MsnpError.alreadyLoggedIn);
    if (mechanism !== (dialect.auth === 'md5' ? 'MD5' : 'TWN') || !value) {
      // An unknown security package ends the connection (§5.1).
      throw new MsnpReply(MsnpError.authenticationFailed, true);
    }
    if (phase === 'I') {
      const handle = normalizeHandle(value);
      if (!isValidHandle(handle)) throw new MsnpReply(MsnpError.authenticationFailed, true);
      if (!s.transport.viaGateway && s.ctx.dispatch.shouldRefer(s.transport.remoteAddress, handle)) {
        referToNotificationServer(s, trid);
        return;
      }
      s.pendingHandle = handle;
      if (dialect.auth === 'md5') {
        const { salt } = await s.ctx.core.credentials.md5Challenge(handle);
        s.send('USR', trid, 'MD5', 'S', salt);
      } else {
        // §5.2: opaque to clients, copied into the Passport request.
        s.send(
          'USR',
          trid,
          'TWN',
          'S',
          'lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1,kpp=1,kv=5,ver=2.1.0173.1,tpf=0',
        );
      }
      return;
    }
    if (phase !== 'S' || !s.pendingHandle) throw new MsnpReply(MsnpError.authenticationFailed, true);
    const handle = s.pendingHandle;
    const result = await s.ctx.core.loginGuard.attempt(s.transport.remoteAddress, handle, async () => {
      const account =
        dialect.auth === 'md5'
          ? await s.ctx.core.credentials.verifyMd5(handle, value)
          : await s.ctx.core.tickets.redeem(c.args.slice(3).join(' '));
      return account && account.handle === handle ? account : undefined;
    });
    if (result.status !== 'ok') {
      s.log.info({ handle, dialect: dialect.name, result: result.status }, 'MSNP login failed');
      throw new MsnpReply(MsnpError.authenticationFailed, true);
    }
    await completeLogin(s, trid, result.value, dialect.auth === 'twn' ? value : '');
  },
};

async function completeLogin(s: NsSession, trid: string, account: AccountRow, ticket: string): Promise<void> {
  const dialect = s.dialect;
  if (!dialect) return;
  // §10 OUT OTH: before multipoint (MSNP16) a new MSNP login signs the older ones out.
  for (const endpoint of await s.ctx.core.presence.endpoints(account.id)) {
    if (endpoint.endpointId.startsWith('msnp:')) {
      await s.ctx.core.events.publish(account.id, {
        type: 'sign-out',
        endpointId: endpoint.endpointId,
        reason: 'signed-in-elsewhere',
      });
    }
  }
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
  const mspAuth = /(?:^|&)t=([^&]*)/.exec(ticket)?.[1] ?? '';
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
}
