import type { AccountPresence } from '../../core/presence-model.ts';
import { encodeParam } from '../codec/index.ts';
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
    if (dialect.msnObject && presence.avatar) args.push(encodeParam(presence.avatar));
  }
  if (kind === 'ILN') s.send('ILN', trid, ...args);
  else s.send('NLN', ...args);
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
