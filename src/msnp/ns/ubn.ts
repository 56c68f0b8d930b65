import type { DomainEvent } from '../../core/events.ts';
import { sameMachine } from '../sb/participants.ts';
import type { NsSession } from './session.ts';

type PeerNotification = Extract<DomainEvent, { type: 'peer-notification' }>;

/**
 * MSNP13+ `UBN handle[;{guid}] type len` + payload: what another endpoint sent with
 * `UUN` (uun.ts), passed on as it came (NINA wiki Commands/UBN; Pidgin
 * msn/notification.c ubn_cmd reads `handle type len`). Only the endpoint the UUN named
 * gets it when it named one; the sending endpoint never does. MSNP16+ recipients see
 * the sender's machine GUID after the handle (as Escargot writes it), so an answer
 * can go back to that endpoint.
 */
export function sendPeerNotification(s: NsSession, event: PeerNotification): void {
  if (!s.dialect?.addressBook || event.senderEndpointId === s.endpointId) return;
  if (event.targetEndpoint && !(s.machineGuid && sameMachine(s.machineGuid, event.targetEndpoint))) return;
  const from =
    s.dialect.mpop && event.senderEndpoint
      ? `${event.senderHandle};${event.senderEndpoint}`
      : event.senderHandle;
  s.sendPayload('UBN', [from, event.kind], event.payload);
}
