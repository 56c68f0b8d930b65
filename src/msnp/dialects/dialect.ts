/**
 * What differs between MSNP versions, as data. Handlers read `session.dialect.<feature>`
 * instead of comparing version numbers. Sources per row: docs/msnp-reference.md
 * (sections named below), which cites the IETF draft (MSNP2), hypothetic.org (MSNP8),
 * yellows111's MSNP wiki per command and version, and client code.
 */
export interface Dialect {
  version: number;
  /** The token in VER: `MSNP8`. */
  name: string;
  /**
   * §5: MSNP2–7 `USR MD5`, MSNP8–14 `USR TWN` with a Passport/RST ticket, MSNP15+
   * `USR SSO` (MBI_KEY_OLD challenge answered with the RST proof key).
   */
  auth: 'md5' | 'twn' | 'sso';
  /** §3.4: `INF` exists (MSNP2–7). */
  inf: boolean;
  /** §3.1/§4: the shape of `XFR trid NS …` (§4 table). */
  xfrNs: 'address' | 'address-zero' | 'address-zero-current' | 'address-u-d';
  /** §5.1/§5.2: arguments of `USR trid OK`. */
  usrOk:
    | 'handle-name'
    | 'handle-name-verified'
    | 'handle-name-verified-restricted'
    | 'handle-verified-restricted';
  /** §6: `SBS 0 null` after `USR OK` (MSNP11+). */
  sbsAfterLogin: boolean;
  /** §6: profile fields in `MSG Hotmail Hotmail`. */
  profile: 'login-time' | 'passport' | 'passport-client-address' | 'abch';
  /** §7: the server challenges with `CHL` and checks `QRY` (MSNP6+). */
  challenges: boolean;
  /** §8.2: list layout in SYN. */
  lists: 'iterated' | 'flat' | 'guid';
  /** §8.2: `SYN trid ver` (2–9) or `SYN trid ts ts` (10–12). */
  syncArgs: 1 | 2;
  /** §8.6: groups (ADG/RMG/REG, LSG, group ids in LST) exist (MSNP7+). */
  groups: boolean;
  /** §8.7: phone properties PRP/BPR (MSNP5+). */
  phones: boolean;
  /** §8.3/§8.4: contact list command: ADD (2–9) or ADC (10–12). */
  listCommand: 'ADD' | 'ADC';
  /** §8.7: own display name changed with REA (2–9) or PRP MFN (10–12). */
  nameCommand: 'REA' | 'PRP';
  /** §8.2: LST carries a network id (MSNP12). */
  lstNetworkId: boolean;
  /** §9.2/9.3: client id (capabilities) in CHG/ILN/NLN (MSNP8+). */
  clientId: boolean;
  /** §9.3: MSN object in CHG/ILN/NLN (MSNP9+). */
  msnObject: boolean;
  /** §9.5: UUX/UBX personal message and current media (MSNP11+). */
  personalMessage: boolean;
  /** §10: `QNG <seconds>` (MSNP9+) instead of bare `QNG`. */
  qngSeconds: boolean;
  /** §12.1/§12.2: client id in JOI and IRO (MSNP12). */
  joinClientId: boolean;
  /** §12.4: MSG acknowledgement mode D (MSNP9+). */
  ackModeD: boolean;
  /** §8.7 GTC/BLP/PRP replies carry the list version (2–9), not in 10–12. */
  versionInReplies: boolean;
  /** MSNP13+: lists come from the ABCH address book web service and ADL; SYN/LST are gone. */
  addressBook: boolean;
  /** MSNP13+: offline messages go through the OIM web service. */
  oim: boolean;
  /** MSNP13+: the server pushes its policies (`GCF 0 len` + `<Policies>`) before `USR … S`. */
  policiesAtLogin: boolean;
  /**
   * MSNP16+ multiple points of presence: `USR SSO S` carries the machine GUID (the
   * endpoint id) and a second sign-in no longer signs the first out with `OUT OTH`.
   */
  mpop: boolean;
  /**
   * How a contact's handle appears in ILN/NLN/FLN/UBX: alone, followed by its network
   * id (`handle 1`, MSNP14–17), or prefixed with it (`1:handle`, MSNP18). Network 1 is
   * the Messenger network (NINA wiki, Protocols/MSNP/Commands/ILN, NLN).
   */
  networkHandles: 'none' | 'argument' | 'prefix';
  /** MSNP16+: capabilities are `clientid:extcaps` in CHG/ILN/NLN/JOI/IRO. */
  extendedCaps: boolean;
  /** The initial presence burst: `ILN trid …`, or `NLN …` in MSNP18 (Pidgin reads `1:handle` only in NLN). */
  initialPresence: 'ILN' | 'NLN';
  /** Extra `XFR SB`/`RNG` arguments: none, `U messenger.msn.com` (13), and a trailing `1` (14+). */
  sbReferral: 'plain' | 'u' | 'u-one';
  /** UBX payload elements: PSM/CurrentMedia (11), +MachineGuid (13), +SignatureSound and endpoints (16), +DDP/Scene/ColorScheme (18). */
  userData: 'psm' | 'machine-guid' | 'endpoints' | 'scene';
  /** MSNP13+: a user appearing offline may still open switchboards (XFR SB is not refused with 913). */
  chatWhileHidden: boolean;
  /** MSNP18: circles (`USR SHA A`, ADL of network 9, `PUT`/`NFY` rosters, `SDG` messages). */
  circles: boolean;
  /** Client→server NS commands that carry a payload (§2.2). */
  nsPayloadCommands: ReadonlySet<string>;
}

export const MIN_VERSION = 2;
export const MAX_VERSION = 18;
