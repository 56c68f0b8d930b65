import type { DomainEvent } from '../../core/events.ts';
import { encodeParam } from '../codec/index.ts';
import { listVersion } from './handler.ts';
import { sendPersonalMessage, sendPresence } from './render-presence.ts';
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
      if (dialect.listCommand === 'ADD') {
        s.send('ADD', 0, 'RL', await listVersion(s), event.contactHandle, name);
      } else {
        s.send('ADC', 0, 'RL', `N=${event.contactHandle}`, `F=${name}`);
      }
      return;
    }
    case 'contact-removed-me':
      if (dialect.listCommand === 'ADD') {
        s.send('REM', 0, 'RL', await listVersion(s), event.contactHandle);
      } else {
        s.send('REM', 0, 'RL', event.contactHandle);
      }
      return;
    case 'conversation-invite':
      sendRing(s, event.conversationId, event.inviterHandle, event.inviterName);
      return;
    case 'lists-changed':
    case 'offline-stored':
    case 'sign-out':
      // Lists: MSNP2–12 has one session per account, which made the change itself.
      // Offline messages: MSNP2–12 clients get them at sign-in (offline-delivery.ts).
      return;
  }
}
