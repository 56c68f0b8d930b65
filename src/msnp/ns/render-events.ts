import type { DomainEvent } from '../../core/events.ts';
import { encodeParam } from '../codec/index.ts';
import { listVersion } from './handler.ts';
import { ML_BITS, mlXml } from './ml.ts';
import { sendOimArrival } from './oim-notification.ts';
import { sendOwnEndpoints, sendPersonalMessage, sendPresence } from './render-presence.ts';
import { sendRing } from './ring.ts';
import type { NsSession } from './session.ts';

/** Domain events in MSNP words, for this session's dialect. */
export async function renderEvent(s: NsSession, event: DomainEvent): Promise<void> {
  const dialect = s.dialect;
  const account = s.account;
  if (!dialect || !account) return;
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
        const entry = { handle: event.contactHandle, attributes: { t: 1, l: ML_BITS.RL, f: name } };
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
        const entry = { handle: event.contactHandle, attributes: { t: 1, l: ML_BITS.RL } };
        s.sendPayload('RML', [0], mlXml([entry]));
      } else if (dialect.listCommand === 'ADD') {
        s.send('REM', 0, 'RL', await listVersion(s), event.contactHandle);
      } else {
        s.send('REM', 0, 'RL', event.contactHandle);
      }
      return;
    case 'conversation-invite':
      // An endpoint calling the account's other endpoints (MSNP16+) is not rung itself.
      if (event.exceptEndpointId === s.endpointId) return;
      sendRing(s, event.conversationId, event.inviterHandle, event.inviterName);
      return;
    case 'endpoints-changed':
      if (s.initialPresenceDone) sendOwnEndpoints(s, await s.ctx.core.presence.endpoints(account.id));
      return;
    case 'offline-stored':
      // MSNP13+ hear of it (OIM); MSNP2–12 clients get them at sign-in (offline-delivery.ts).
      await sendOimArrival(s);
      return;
    case 'lists-changed':
    case 'sign-out':
      // Lists: MSNP2–12 has one session per account, which made the change itself.
      // Offline messages: MSNP2–12 clients get them at sign-in (offline-delivery.ts).
      return;
  }
}
