import { type Dialect, MAX_VERSION, MIN_VERSION } from './dialect.ts';

/**
 * MSNP2 … MSNP18 as differences from the version before (docs/msnp-reference.md
 * §1, and the section named on each change). Built once; looked up by number.
 */
const MSNP2: Dialect = {
  version: 2,
  name: 'MSNP2',
  auth: 'md5',
  inf: true,
  xfrNs: 'address',
  usrOk: 'handle-name',
  sbsAfterLogin: false,
  profile: 'login-time',
  challenges: false,
  lists: 'iterated',
  syncArgs: 1,
  groups: false,
  phones: false,
  listCommand: 'ADD',
  nameCommand: 'REA',
  lstNetworkId: false,
  clientId: false,
  msnObject: false,
  personalMessage: false,
  qngSeconds: false,
  joinClientId: false,
  ackModeD: false,
  versionInReplies: true,
  addressBook: false,
  oim: false,
  policiesAtLogin: false,
  mpop: false,
  networkHandles: 'none',
  extendedCaps: false,
  initialPresence: 'ILN',
  sbReferral: 'plain',
  userData: 'psm',
  chatWhileHidden: false,
  circles: false,
  nsPayloadCommands: new Set<string>(),
};

const CHANGES: Record<number, (d: Dialect) => Partial<Dialect>> = {
  // §4: XFR NS gains a trailing 0; §6: the profile carries Passport fields.
  3: () => ({ xfrNs: 'address-zero', profile: 'passport' }),
  4: () => ({}),
  // §8.7 phones (PRP/BPR); §2.2 PAG and SDC carry payloads.
  5: (d) => ({ phones: true, nsPayloadCommands: new Set([...d.nsPayloadCommands, 'PAG', 'SDC']) }),
  // §5.1 USR OK gains "verified"; §7 challenges begin; §2.2 QRY.
  6: (d) => ({
    usrOk: 'handle-name-verified',
    challenges: true,
    nsPayloadCommands: new Set([...d.nsPayloadCommands, 'QRY']),
  }),
  // §4 XFR NS names the current server; §8.6 groups.
  7: () => ({ xfrNs: 'address-zero-current', groups: true }),
  // §5.2 TWN; INF removed; §8.2 flat SYN; §9 client ids; §6 client address in profile.
  8: () => ({
    auth: 'twn',
    inf: false,
    usrOk: 'handle-name-verified-restricted',
    profile: 'passport-client-address',
    lists: 'flat',
    clientId: true,
  }),
  // §9 MSN objects; §10 QNG seconds; §12.4 ack mode D; §2.2 PGD replaces PAG.
  9: (d) => {
    const payload = new Set(d.nsPayloadCommands);
    payload.delete('PAG');
    payload.add('PGD');
    return { msnObject: true, qngSeconds: true, ackModeD: true, nsPayloadCommands: payload };
  },
  // §8.2/8.4: ADC, GUIDs, timestamps (ABCHMigrated: 1); §5.2 USR OK without the name.
  10: () => ({
    usrOk: 'handle-verified-restricted',
    profile: 'abch',
    lists: 'guid',
    syncArgs: 2,
    listCommand: 'ADC',
    nameCommand: 'PRP',
    versionInReplies: false,
  }),
  // §9.5 UUX/UBX; §6 SBS after login.
  11: (d) => ({
    personalMessage: true,
    sbsAfterLogin: true,
    nsPayloadCommands: new Set([...d.nsPayloadCommands, 'UUX']),
  }),
  // §8.2 LST network id; §12 client id in JOI/IRO.
  12: () => ({ lstNetworkId: true, joinClientId: true }),
  // MSNP13 (WLM 8.0): ABCH address book + ADL/RML/FQY instead of SYN; OIM; §4 `XFR NS … U D`;
  // `XFR SB`/`RNG` gain `U messenger.msn.com`; UBX carries MachineGuid; a user appearing
  // offline may chat. Sign-in is still TWN, with the messenger.msn.com ticket from RST.srf.
  // (NINA wiki command pages ILN/NLN/UBX/XFR/RNG/ADL; Pidgin msn/notification.c.)
  13: (d) => ({
    addressBook: true,
    oim: true,
    policiesAtLogin: true,
    xfrNs: 'address-u-d',
    sbReferral: 'u',
    userData: 'machine-guid',
    chatWhileHidden: true,
    nsPayloadCommands: new Set([...d.nsPayloadCommands, 'ADL', 'RML', 'FQY', 'UUN']),
  }),
  // MSNP14: network ids after the handle (Yahoo interop); referrals end in `1`.
  14: () => ({ networkHandles: 'argument', sbReferral: 'u-one' }),
  // MSNP15 (WLM 8.1): single sign-on, `USR trid SSO I handle` (MSNP wiki, MSNP15 page).
  15: () => ({ auth: 'sso' }),
  // MSNP16 (WLM 2009 beta): multiple points of presence, machine GUID in `USR SSO S`,
  // `clientid:extcaps`, EndpointData in UBX.
  16: () => ({ mpop: true, extendedCaps: true, userData: 'endpoints' }),
  17: () => ({}),
  // MSNP18 (WLM 2009): `1:handle`, the sign-in burst as NLN, scene and colour in UBX.
  // Circles: `PUT` and `SDG` carry payloads (MSNPSharp 3.x Core/NSMessagePool.cs).
  18: (d) => ({
    networkHandles: 'prefix',
    initialPresence: 'NLN',
    userData: 'scene',
    circles: true,
    nsPayloadCommands: new Set([...d.nsPayloadCommands, 'PUT', 'SDG']),
  }),
};

const DIALECTS = new Map<number, Dialect>();
let current = MSNP2;
DIALECTS.set(2, current);
for (let v = MIN_VERSION + 1; v <= MAX_VERSION; v++) {
  const change = CHANGES[v];
  current = Object.freeze({ ...current, ...(change ? change(current) : {}), version: v, name: `MSNP${v}` });
  DIALECTS.set(v, current);
}

export function dialectFor(version: number): Dialect | undefined {
  return DIALECTS.get(version);
}

export function allDialects(): Dialect[] {
  return [...DIALECTS.values()];
}

/** Client→server NS payload commands of any version: used before VER settles the dialect. */
export const ANY_NS_PAYLOAD: ReadonlySet<string> = new Set(
  allDialects().flatMap((d) => [...d.nsPayloadCommands]),
);
