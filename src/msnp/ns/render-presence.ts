import type { ConnectedEndpoint } from '../../core/presence.ts';
import type { AccountPresence } from '../../core/presence-model.ts';
import { fingerprint } from '../../util/fingerprint.ts';
import { encodeParam } from '../codec/index.ts';
import type { Dialect } from '../dialects/dialect.ts';
import { isMsnObject, pictureMsnObject } from '../msn-object.ts';
import { msnpStatus } from '../status.ts';
import {
  type EndpointView,
  PRIVATE_ENDPOINT_FIELDS,
  personalMessageXml,
  userDataXml,
} from './personal-message.ts';
import type { NsSession } from './session.ts';

/** What a contact who never set a personal message has (nothing to send for it). */
const EMPTY_PERSONAL_MESSAGE = fingerprint(personalMessageXml({ statusText: '', currentMedia: '' }));

/** The Messenger network's id (NINA wiki, Protocols/MSNP: network 1 is Windows Live / Passport). */
export const MESSENGER_NETWORK = 1;

/**
 * A handle as presence commands write it: `handle` (MSNP2–13), `handle 1` (14–17:
 * the network id is its own argument), `1:handle` (18; Pidgin `msn_parse_user`).
 */
export function handleTokens(dialect: Dialect, handle: string): (string | number)[] {
  if (dialect.networkHandles === 'argument') return [handle, MESSENGER_NETWORK];
  if (dialect.networkHandles === 'prefix') return [`${MESSENGER_NETWORK}:${handle}`];
  return [handle];
}

/** Capabilities as the dialect writes them: `clientid`, or `clientid:extcaps` in MSNP16+. */
export function capabilitiesToken(dialect: Dialect, capabilities: Record<string, string>): string {
  const clientId = capabilities.msnpClientId ?? '0';
  return dialect.extendedCaps ? `${clientId}:${capabilities.msnpExtCaps ?? '0'}` : clientId;
}

/**
 * §9.3 `ILN trid ST handle friendly [clientid [msnobj]]` and `NLN ST handle friendly
 * [clientid [msnobj]]`, with the network id (14+) and extended capabilities (16+);
 * MSNP18 has no ILN (the burst is NLN too). `FLN handle` for offline (HDN is never
 * shown: it arrives as offline); MSNP14+ add the network id and capabilities.
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
    if (kind !== 'NLN') return;
    // Escargot's MSNP14+ FLN carries network id and empty capabilities after the handle.
    if (dialect.networkHandles === 'none') s.send('FLN', handle);
    else s.send('FLN', ...handleTokens(dialect, handle), dialect.extendedCaps ? '0:0' : '0');
    return;
  }
  const args: (string | number)[] = [
    msnpStatus(presence.status),
    ...handleTokens(dialect, handle),
    encodeParam(presence.displayName),
  ];
  if (dialect.clientId) {
    args.push(capabilitiesToken(dialect, presence.capabilities));
    const msnObject = dialect.msnObject ? msnObjectOf(handle, presence) : undefined;
    if (msnObject) args.push(encodeParam(msnObject));
  }
  if (kind === 'ILN' && dialect.initialPresence === 'ILN') s.send('ILN', trid, ...args);
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

/** The endpoint a capabilities record describes, if it is an MSNP16+ one (it has a machine GUID). */
function endpointView(dialect: Dialect, capabilities: Record<string, string>, own: boolean): EndpointView[] {
  const machineGuid = capabilities.msnpMachineGuid;
  if (!machineGuid) return [];
  const view: EndpointView = { machineGuid, capabilities: capabilitiesToken(dialect, capabilities) };
  if (own) {
    view.private = {};
    for (const key of Object.values(PRIVATE_ENDPOINT_FIELDS)) {
      const value = capabilities[key];
      if (value) view.private[key] = value;
    }
  }
  return [view];
}

/** Sends `UBX` unless this session already has exactly that payload for `handle`. */
function sendUserData(s: NsSession, dialect: Dialect, handle: string, xml: string): void {
  const sent = fingerprint(xml);
  if ((s.sentPersonalMessages?.get(handle) ?? EMPTY_PERSONAL_MESSAGE) === sent) return;
  s.sentPersonalMessages ??= new Map();
  s.sentPersonalMessages.set(handle, sent);
  s.sendPayload('UBX', handleTokens(dialect, handle), xml);
}

/** §9.5 `UBX handle len` + the contact's personal message and media (MSNP11+; shapes per version). */
export function sendPersonalMessage(s: NsSession, handle: string, presence: AccountPresence): void {
  const dialect = s.dialect;
  if (!dialect?.personalMessage) return;
  const visible = presence.status !== 'offline' && presence.status !== 'invisible';
  const message = {
    statusText: visible ? presence.statusText : '',
    currentMedia: visible ? presence.currentMedia : '',
  };
  const fields = visible ? presence.capabilities : {};
  // Only changes: a status change alone is an NLN, not a UBX.
  sendUserData(
    s,
    dialect,
    handle,
    userDataXml(dialect, message, fields, endpointView(dialect, fields, false)),
  );
}

/**
 * MSNP16+ multipoint: the account's own UBX, listing every endpoint signed in with a
 * machine GUID and their private data (Pidgin `parse_user_endpoints` builds its
 * "signed in at" list from it; WLM 2009 shows the other locations).
 */
export function sendOwnEndpoints(s: NsSession, endpoints: readonly ConnectedEndpoint[]): void {
  const dialect = s.dialect;
  const account = s.account;
  if (!dialect?.mpop || !account) return;
  const live = endpoints.filter((e) => e.presence.status !== 'offline' || e.endpointId === s.endpointId);
  const own = live.find((e) => e.endpointId === s.endpointId)?.presence;
  const views = live.flatMap((e) => endpointView(dialect, e.presence.capabilities, true));
  const message = { statusText: own?.statusText ?? '', currentMedia: own?.currentMedia ?? '' };
  sendUserData(s, dialect, account.handle, userDataXml(dialect, message, own?.capabilities ?? {}, views));
}

/** The last own `NLN` each session was sent, so an unchanged status is not repeated. */
const sentOwnPresence = new WeakMap<NsSession, string>();

/**
 * MSNP16+ multipoint: `NLN` for the account's own handle, with the status of the
 * endpoint that changed last, so a status set at one location shows at the others
 * (Escargot sends every endpoint its own presence after each change; WLM 2009 shows
 * the account's status from it). The first CHG of a new endpoint counts as a change.
 */
export function sendOwnPresence(
  s: NsSession,
  endpoints: readonly ConnectedEndpoint[],
  current: AccountPresence,
): void {
  const dialect = s.dialect;
  const account = s.account;
  if (!dialect?.mpop || !account) return;
  const latest = endpoints
    .filter((e) => e.presence.status !== 'offline')
    .sort((a, b) => b.updatedAt - a.updatedAt)[0]?.presence;
  if (!latest) return;
  const args: (string | number)[] = [
    msnpStatus(latest.status),
    ...handleTokens(dialect, account.handle),
    encodeParam(current.displayName),
    capabilitiesToken(dialect, latest.capabilities),
  ];
  const msnObject = msnObjectOf(account.handle, { ...current, avatar: latest.avatar });
  if (msnObject) args.push(encodeParam(msnObject));
  const line = args.join(' ');
  if (sentOwnPresence.get(s) === line) return;
  sentOwnPresence.set(s, line);
  s.send('NLN', ...args);
}
