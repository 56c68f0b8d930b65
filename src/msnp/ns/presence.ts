import { checkQry, newChallenge } from '../challenge.ts';
import { decodeParam, encodeParam } from '../codec/index.ts';
import { MsnpError } from '../errors.ts';
import { statusFromMsnp } from '../status.ts';
import { type NsHandler, tridOf } from './handler.ts';
import { OfflineDelivery } from './offline-delivery.ts';
import { parseUserData } from './personal-message.ts';
import { sendOwnEndpoints, sendPersonalMessage, sendPresence } from './render-presence.ts';
import { MsnpReply } from './reply.ts';
import type { NsSession } from './session.ts';

/**
 * §9.2 `CHG trid STATUS [clientid[:extcaps] [msnobj]]`, echoed. The first CHG of a
 * session is answered with an ILN (MSNP18: NLN) for every visible contact (and UBX in
 * MSNP11+), then a CHL.
 */
export const CHG: NsHandler = {
  state: 'online',
  async run(s, c) {
    const trid = tridOf(c);
    const code = c.args[1] ?? '';
    const status = statusFromMsnp(code);
    if (!status || !s.account) throw new MsnpReply(MsnpError.invalidParameter);
    const dialect = s.dialect;
    if (!dialect) return;
    const capabilities = dialect.clientId ? (c.args[2] ?? '0') : '0';
    // MSNP16+: `clientid:extcaps` (NINA wiki, Commands/CHG); earlier versions a number.
    const match = (dialect.extendedCaps ? /^(\d{1,10})(?::(\d{1,10}))?$/ : /^(\d{1,10})()$/).exec(
      capabilities,
    );
    if (!match) throw new MsnpReply(MsnpError.invalidParameter);
    const clientId = match[1] ?? '0';
    s.clientId = clientId;
    s.extCaps = match[2] || '0';
    const msnObject = dialect.msnObject && c.args[3] ? decodeParam(c.args[3]) : '';
    // MSNP11+ clients follow a CHG with their UUX (personal message) at once: contacts
    // hear of both as one change (core `SETTLE_MS`), not of the status first with the
    // text the endpoint had before (none, at sign-in). A CHG alone keeps that text.
    await s.ctx.core.presence.set(
      s.account.id,
      s.endpointId,
      {
        status,
        avatar: msnObject,
        capabilities: { msnpClientId: clientId, msnpExtCaps: s.extCaps, ...s.endpointCapabilities() },
      },
      { settle: dialect.personalMessage },
    );
    const echo: (string | number)[] = [trid, code];
    if (dialect.clientId) echo.push(capabilities);
    if (msnObject) echo.push(encodeParam(msnObject));
    s.send('CHG', ...echo);
    if (!s.initialPresenceDone) {
      s.initialPresenceDone = true;
      await sendInitialPresence(s, trid);
      if (dialect.challenges) sendChallenge(s);
      // Messages kept while the account was offline: rung in after the ILN burst.
      await OfflineDelivery.start(s);
    }
    await s.announceEndpoints();
  },
};

async function sendInitialPresence(s: NsSession, trid: string): Promise<void> {
  if (!s.account) return;
  const core = s.ctx.core;
  const snapshot = await core.relationships.snapshot(s.account.id);
  const seen = [];
  // Every contact's presence in one read of the bus (one round trip, not one per contact).
  const presences = await core.presence.ofContacts(snapshot.contacts);
  for (const [i, contact] of snapshot.contacts.entries()) {
    const presence = presences[i];
    if (!presence || presence.status === 'offline') continue;
    sendPresence(s, 'ILN', trid, contact.contact.handle, presence);
    seen.push({ handle: contact.contact.handle, presence });
  }
  for (const { handle, presence } of seen) sendPersonalMessage(s, handle, presence);
  // MSNP16+: the account's own endpoints (UBX of the own handle).
  if (s.dialect?.mpop) sendOwnEndpoints(s, await core.presence.endpoints(s.account.id));
}

/** §7.1 `CHL 0 challenge`; no answer within the limit ends the session. */
export function sendChallenge(s: NsSession): void {
  s.challenge = newChallenge();
  s.send('CHL', 0, s.challenge);
  if (s.challengeTimer) clearTimeout(s.challengeTimer);
  s.challengeTimer = setTimeout(() => {
    if (s.challenge) {
      s.log.info('no answer to CHL; closing');
      s.close();
    }
  }, s.ctx.challengeTimeoutMs);
  s.challengeTimer.unref();
}

/** §7.1 `QRY trid productid 32` + 32 hex digits: a wrong answer gets 540 and a disconnect. */
export const QRY: NsHandler = {
  state: 'online',
  when: (d) => d.challenges,
  run(s, c) {
    const trid = tridOf(c);
    const productId = c.args[1] ?? '';
    const answer = c.payload?.toString('latin1') ?? '';
    const challenge = s.challenge;
    if (!challenge || !s.dialect || !checkQry(s.dialect.version, challenge, productId, answer)) {
      s.log.info({ productId, outstanding: Boolean(challenge) }, 'wrong QRY answer; closing');
      throw new MsnpReply(MsnpError.challengeFailed, true);
    }
    s.challenge = undefined;
    // Dropped, not just cleared: a cleared timer kept in the field is still 120 bytes a session.
    clearTimeout(s.challengeTimer);
    s.challengeTimer = undefined;
    s.send('QRY', trid);
  },
};

/** §7.1: a client may ask for a challenge itself (`CHL trid`). */
export const CHL: NsHandler = {
  state: 'online',
  when: (d) => d.challenges,
  run(s, c) {
    s.challenge = newChallenge();
    s.send('CHL', tridOf(c), s.challenge);
  },
};

/**
 * §9.5 `UUX trid len` + `<Data><PSM/><CurrentMedia/>…</Data>` → `UUX trid 0` (MSNP11+).
 * MSNP13+ add MachineGuid, 16+ SignatureSound, 18 DDP/Scene/ColorScheme (kept per
 * endpoint), and 16+ send `<EndpointData>` / `<PrivateEndpointData>` on their own.
 */
export const UUX: NsHandler = {
  state: 'online',
  when: (d) => d.personalMessage,
  async run(s, c) {
    if (!s.account || !s.dialect) return;
    const update = parseUserData(c.payload?.toString('utf8') ?? '');
    if (!update || (update.kind !== 'data' && !s.dialect.mpop)) {
      s.log.info('invalid UUX payload; closing');
      throw new MsnpReply(MsnpError.syntaxError, true);
    }
    const core = s.ctx.core;
    if (update.kind === 'data') {
      const fields = s.dialect.userData === 'psm' ? {} : update.fields;
      await core.presence.set(s.account.id, s.endpointId, {
        statusText: update.message.statusText,
        currentMedia: update.message.currentMedia,
        capabilities: fields,
      });
    } else if (update.kind === 'endpoint') {
      const [clientId = '0', extCaps = '0'] = update.capabilities.split(':');
      s.clientId = clientId;
      s.extCaps = extCaps;
      await core.presence.set(s.account.id, s.endpointId, {
        capabilities: { msnpClientId: clientId, msnpExtCaps: extCaps },
      });
    } else {
      await core.presence.set(s.account.id, s.endpointId, { capabilities: update.fields });
    }
    s.send('UUX', tridOf(c), 0);
    await s.announceEndpoints();
  },
};
