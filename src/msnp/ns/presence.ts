import { checkQry, newChallenge } from '../challenge.ts';
import { decodeParam, encodeParam } from '../codec/index.ts';
import { MsnpError } from '../errors.ts';
import { statusFromMsnp } from '../status.ts';
import { type NsHandler, tridOf } from './handler.ts';
import { OfflineDelivery } from './offline-delivery.ts';
import { parsePersonalMessage } from './personal-message.ts';
import { sendPersonalMessage, sendPresence } from './render-presence.ts';
import { MsnpReply } from './reply.ts';
import type { NsSession } from './session.ts';

/**
 * §9.2 `CHG trid STATUS [clientid [msnobj]]`, echoed. The first CHG of a session is
 * answered with an ILN for every visible contact (and UBX in MSNP11+), then a CHL.
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
    const clientId = dialect.clientId ? (c.args[2] ?? '0') : '0';
    if (!/^\d{1,10}$/.test(clientId)) throw new MsnpReply(MsnpError.invalidParameter);
    const msnObject = dialect.msnObject && c.args[3] ? decodeParam(c.args[3]) : '';
    s.clientId = clientId;
    await s.ctx.core.presence.set(s.account.id, s.endpointId, {
      status,
      avatar: msnObject,
      capabilities: { msnpClientId: clientId },
    });
    const echo: (string | number)[] = [trid, code];
    if (dialect.clientId) echo.push(clientId);
    if (msnObject) echo.push(encodeParam(msnObject));
    s.send('CHG', ...echo);
    if (!s.initialPresenceDone) {
      s.initialPresenceDone = true;
      await sendInitialPresence(s, trid);
      if (dialect.challenges) sendChallenge(s);
      // Messages kept while the account was offline: rung in after the ILN burst.
      await OfflineDelivery.start(s);
    }
  },
};

async function sendInitialPresence(s: NsSession, trid: string): Promise<void> {
  if (!s.account) return;
  const core = s.ctx.core;
  const snapshot = await core.relationships.snapshot(s.account.id);
  const seen = [];
  for (const contact of snapshot.contacts) {
    const presence = await core.presence.ofContact(contact);
    if (presence.status === 'offline') continue;
    sendPresence(s, 'ILN', trid, contact.contact.handle, presence);
    seen.push({ handle: contact.contact.handle, presence });
  }
  for (const { handle, presence } of seen) sendPersonalMessage(s, handle, presence);
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
    if (s.challengeTimer) clearTimeout(s.challengeTimer);
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

/** §9.5 `UUX trid len` + `<Data><PSM/><CurrentMedia/></Data>` → `UUX trid 0` (MSNP11+). */
export const UUX: NsHandler = {
  state: 'online',
  when: (d) => d.personalMessage,
  async run(s, c) {
    if (!s.account) return;
    const parsed = parsePersonalMessage(c.payload?.toString('utf8') ?? '');
    if (!parsed) {
      s.log.info('invalid UUX payload; closing');
      throw new MsnpReply(MsnpError.syntaxError, true);
    }
    await s.ctx.core.presence.set(s.account.id, s.endpointId, {
      statusText: parsed.statusText,
      currentMedia: parsed.currentMedia,
    });
    s.send('UUX', tridOf(c), 0);
  },
};
