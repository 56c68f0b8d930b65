import { MsnpError } from '../errors.ts';
import { hostFor } from './context.ts';
import { type NsHandler, tridOf } from './handler.ts';
import { MsnpReply } from './reply.ts';
import { sbReferralTail, sbTicketOf } from './ring.ts';

/** §10 `PNG` → `QNG` (MSNP2–8) or `QNG seconds` (MSNP9+: when to ping next). */
export const PNG: NsHandler = {
  state: 'negotiated',
  run(s) {
    if (s.dialect?.qngSeconds) s.send('QNG', 50);
    else s.send('QNG');
  },
};

/** §10 `OUT`: the client leaves; no reply. */
export const OUT: NsHandler = {
  state: 'any',
  run(s) {
    s.close();
  },
};

/**
 * §12.1 `XFR trid SB` → `XFR trid SB host:port CKI cookie` (MSNP13 adds `U
 * messenger.msn.com`, 14+ a trailing `1`: NINA wiki Commands/XFR). Refused with 913
 * before the first CHG, and while appearing offline up to MSNP12 (§12.1).
 */
export const XFR: NsHandler = {
  state: 'online',
  async run(s, c) {
    const trid = tridOf(c);
    if (c.args[1] !== 'SB') throw new MsnpReply(MsnpError.invalidParameter);
    if (!s.account || !s.initialPresenceDone) throw new MsnpReply(MsnpError.notAllowedWhenOffline);
    if (!s.dialect?.chatWhileHidden) {
      const own = await s.ctx.core.presence.endpoints(s.account.id);
      if (own.find((e) => e.endpointId === s.endpointId)?.presence.status === 'invisible') {
        throw new MsnpReply(MsnpError.notAllowedWhenOffline);
      }
    }
    const cookie = s.ctx.sbCookies.issue({ kind: 'create', ...sbTicketOf(s) });
    s.send(
      'XFR',
      trid,
      'SB',
      `${hostFor(s.ctx, s.transport.localAddress)}:${s.ctx.sbPort}`,
      'CKI',
      cookie,
      ...sbReferralTail(s, 'messenger.msn.com'),
    );
  },
};

/** §10 `URL trid SERVICE`: web pages the client opens; Papillon's own site for now. */
export const URL: NsHandler = {
  state: 'online',
  run(s, c) {
    const base = `http://${s.ctx.domain}/`;
    s.send('URL', tridOf(c), base, base, 2);
  },
};

/** §10 `GCF trid Shields.xml` (MSNP11–12): the client feature policy; nothing is blocked. */
export const GCF: NsHandler = {
  state: 'online',
  when: (d) => d.personalMessage,
  run(s, c) {
    const file = c.args[1] ?? 'Shields.xml';
    const body =
      '<?xml version="1.0" encoding="utf-8" ?><config><shield><cli maj="7" min="0" minbld="0" maxbld="9999" deny=" " /></shield><block></block></config>';
    s.sendPayload('GCF', [tridOf(c), file], body);
  },
};

/** §10 `IMS trid ON|OFF` (WebTV): acknowledged. */
export const IMS: NsHandler = {
  state: 'online',
  run(s, c) {
    const mode = c.args[1] === 'OFF' ? 'OFF' : 'ON';
    s.send('IMS', tridOf(c), 0, mode);
  },
};

/**
 * Services Papillon does not offer: directory search (FND, disabled by Microsoft in
 * 2003 too), paging (PAG/PGD), e-mail invitations (SND/SDC). They get 502 "command
 * disabled" so the client shows an error instead of waiting (§10, §11).
 */
export const DISABLED: NsHandler = {
  state: 'online',
  run(s, c) {
    s.log.info({ command: c.name }, `${c.name} is not offered; answered 502`);
    throw new MsnpReply(MsnpError.commandDisabled);
  },
};
