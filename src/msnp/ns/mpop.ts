import type { ConnectedEndpoint } from '../../core/presence.ts';
import { sameMachine } from '../sb/participants.ts';
import type { NsSession } from './session.ts';

/**
 * The account's MSNP endpoints a new sign-in on `s` replaces (§10 `OUT OTH`): all of
 * them before multipoint (MSNP2–15); from MSNP16 only those that cannot share the
 * account (signed in with MSNP2–15) and one signed in earlier from the same machine
 * GUID (Escargot answers the same way; WLM 2009 reconnecting after a network drop
 * reuses its GUID). XMPP endpoints are never signed out by an MSN sign-in.
 */
export function endpointsReplacedBy(
  s: NsSession,
  endpoints: readonly ConnectedEndpoint[],
): ConnectedEndpoint[] {
  const msnp = endpoints.filter((e) => e.endpointId.startsWith('msnp:') && e.endpointId !== s.endpointId);
  const guid = s.machineGuid;
  if (!s.dialect?.mpop || !guid) return msnp;
  return msnp.filter((e) => {
    const other = e.presence.capabilities.msnpMachineGuid;
    return e.presence.capabilities.msnpMultipoint !== '1' || !other || sameMachine(other, guid);
  });
}
