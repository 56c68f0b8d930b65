import type { AccountPresence } from '../../core/presence-model.ts';
import { encodeParam } from '../codec/index.ts';
import { isMsnObject, pictureMsnObject } from '../msn-object.ts';
import { msnpStatus } from '../status.ts';
import { personalMessageXml } from './personal-message.ts';
import type { NsSession } from './session.ts';

/** What a contact who never set a personal message has (nothing to send for it). */
const EMPTY_PERSONAL_MESSAGE = personalMessageXml({ statusText: '', currentMedia: '' });

/**
 * §9.3 `ILN trid ST handle friendly [clientid [msnobj]]` and `NLN ST handle friendly
 * [clientid [msnobj]]`; `FLN handle` for offline (HDN is never shown: it arrives as offline).
 */
export function sendPresence(
  s: NsSession,
  kind: 'ILN' | 'NLN',
  trid: string,
  handle: string,
  presence: AccountPresence,
): void {
  const dialect = s.dialect;
  if (!dialect) return;
  if (presence.status === 'offline' || presence.status === 'invisible') {
    if (kind === 'NLN') s.send('FLN', handle);
    return;
  }
  const args: (string | number)[] = [msnpStatus(presence.status), handle, encodeParam(presence.displayName)];
  if (dialect.clientId) {
    args.push(presence.capabilities.msnpClientId ?? '0');
    const msnObject = dialect.msnObject ? msnObjectOf(handle, presence) : undefined;
    if (msnObject) args.push(encodeParam(msnObject));
  }
  if (kind === 'ILN') s.send('ILN', trid, ...args);
  else s.send('NLN', ...args);
}

/**
 * The MSN object shown for a contact (MSNP9+): their MSN client's own (sent with `CHG`)
 * if any, else one for the picture the server stores for them, which the switchboard
 * serves itself (sb/picture-server.ts); else none (§9.3: the msnobj is optional).
 */
export function msnObjectOf(handle: string, presence: AccountPresence): string | undefined {
  if (presence.avatar && isMsnObject(presence.avatar)) return presence.avatar;
  if (presence.picture) return pictureMsnObject(handle, presence.picture);
  return undefined;
}

/** §9.5 `UBX handle len` + the contact's personal message and media (MSNP11+). */
export function sendPersonalMessage(s: NsSession, handle: string, presence: AccountPresence): void {
  if (!s.dialect?.personalMessage) return;
  const visible = presence.status !== 'offline' && presence.status !== 'invisible';
  const xml = personalMessageXml({
    statusText: visible ? presence.statusText : '',
    currentMedia: visible ? presence.currentMedia : '',
  });
  // Only changes: a status change alone is an NLN, not a UBX.
  if ((s.sentPersonalMessages.get(handle) ?? EMPTY_PERSONAL_MESSAGE) === xml) return;
  s.sentPersonalMessages.set(handle, xml);
  s.sendPayload('UBX', [handle], xml);
}
