import type { DomainEvent } from '../../core/events.ts';
import { encodeParam } from '../codec/index.ts';
import { sendAddressBookChanged } from './ab-notification.ts';
import { renderCircleEvent } from './circle.ts';
import { listVersion } from './handler.ts';
import { LIST_BITS } from './lists.ts';
import { mlXml } from './ml.ts';
import { sendOimArrival } from './oim-notification.ts';
import { sendOwnEndpoints, sendOwnPresence, sendPersonalMessage, sendPresence } from './render-presence.ts';
import { ringInvite } from './ring.ts';
import type { NsSession } from './session.ts';
import { sendServerNotice } from './system-message.ts';
import { sendPeerNotification } from './ubn.ts';

/** Domain events in MSNP words, for this session's dialect. */
export async function renderEvent(s: NsSession, event: DomainEvent): Promise<void> {
  const dialect = s.dialect;
  const account = s.account;
  if (!dialect || !account) return;
  if (await renderCircleEvent(s, event)) return;
  switch (event.type) {
    case 'presence':
      // Contacts' presence only after the client's first CHG (§9.2: ILN comes first).
      if (!s.initialPresenceDone) return;
      sendPresence(s, 'NLN', '0', event.contactHandle, event.presence);
      sendPersonalMessage(s, event.contactHandle, event.presence);
      return;
    case 'contact-added-me': {
      // §8.3/§8.4: the "X has added you" notice; MSNP2–9 carry the list version.
      const name = encodeParam(event.displayName);
      if (dialect.addressBook) {
        // MSNP13+: `ADL 0 len` + the adder on RL (Pidgin `adl_cmd_parse` then fetches the
        // address book's Pending members; `f` is the URL-encoded name, as Escargot sends).
        const entry = { handle: event.contactHandle, attributes: { t: 1, l: LIST_BITS.RL, f: name } };
        s.sendPayload('ADL', [0], mlXml([entry]));
      } else if (dialect.listCommand === 'ADD') {
        s.send('ADD', 0, 'RL', await listVersion(s), event.contactHandle, name);
      } else {
        s.send('ADC', 0, 'RL', `N=${event.contactHandle}`, `F=${name}`);
      }
      return;
    }
    case 'contact-removed-me':
      if (dialect.addressBook) {
        const entry = { handle: event.contactHandle, attributes: { t: 1, l: LIST_BITS.RL } };
        s.sendPayload('RML', [0], mlXml([entry]));
      } else if (dialect.listCommand === 'ADD') {
        s.send('REM', 0, 'RL', await listVersion(s), event.contactHandle);
      } else {
        s.send('REM', 0, 'RL', event.contactHandle);
      }
      return;
    case 'conversation-invite':
      ringInvite(s, event);
      return;
    case 'endpoints-changed':
      if (s.initialPresenceDone) {
        const endpoints = await s.ctx.core.presence.endpoints(account.id);
        sendOwnPresence(s, endpoints, await s.ctx.core.presence.current(account.id));
        sendOwnEndpoints(s, endpoints);
      }
      return;
    case 'peer-notification':
      sendPeerNotification(s, event);
      return;
    case 'offline-stored':
      // MSNP13+ hear of it (OIM); MSNP2–12 clients get them at sign-in (offline-delivery.ts).
      await sendOimArrival(s);
      return;
    case 'lists-changed':
      // MSNP13+: the address book changed (on another endpoint, over XMPP or the web;
      // the endpoint that changed it refetches harmlessly). MSNP2–12 has one session
      // per account, which made the change itself.
      if (s.initialPresenceDone) sendAddressBookChanged(s);
      return;
    case 'sign-out':
      return;
    case 'server-notice':
      sendServerNotice(s, event.text, event.shutdownInMinutes);
      return;
  }
}
