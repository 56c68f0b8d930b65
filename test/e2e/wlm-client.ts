import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import {
  AB_NS,
  abSoap,
  FIND_MEMBERSHIP,
  FIND_PAGED,
  member,
  memberById,
  memberships,
  type Xml,
} from '../support/abch-client.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpLoginChallenge, type SsoToken, ssoTokens } from '../support/msnp-login.ts';
import { expectWhere, goOnline, ml } from '../support/msnp13.ts';
import type { TestServer } from '../support/papillon-server.ts';
import { ssoAnswer } from '../support/sso-client.ts';

/**
 * A Windows Live Messenger 8.5 (MSNP15) / 2009 (MSNP18) client, scripted from the order
 * Pidgin's MSNP18 plugin (retro-prpl msn/notification.c, contact.c, oim.c, session.c)
 * and WLM use: SSO sign-in whose tokens every later web-service call presents, the
 * address book, ADL, presence, switchboards and OIM. Only protocol facts are used.
 */

const ZERO_AB = '<abId>00000000-0000-0000-0000-000000000000</abId>';
export const xmlParser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  parseTagValue: false,
});

export interface WlmUser {
  handle: string;
  password: string;
  /** The display name the account was created with. */
  name: string;
}

export interface WlmSession {
  user: WlmUser;
  version: number;
  ns: MsnpTestClient;
  /** MSNP16+: this endpoint's machine GUID. */
  guid?: string;
  /** The tokens of this sign-in's RST answer, by service domain. */
  tokens: Map<string, SsoToken>;
  /** The Mail-Data of the sign-in's initial mail-data message. */
  mailData: string;
}

/** `handle;{guid}` on MSNP16+ (the endpoint), the plain handle before. */
export const endpointOf = (s: WlmSession) => (s.guid ? `${s.user.handle};${s.guid}` : s.user.handle);

/** The `t=…&p=…` of this sign-in's token for a service domain. */
export function token(s: WlmSession, domain: string): string {
  const t = s.tokens.get(domain)?.ticket;
  assert.ok(t, `the sign-in got a ${domain} token`);
  return t;
}

/**
 * VER/CVR/USR SSO I, RST (`/RST2.srf` as WLM 2009, `/RST.srf` as WLM 8.5) for every
 * service domain at once, `USR SSO S` with the MBI_KEY_OLD answer (and the machine GUID
 * from MSNP16), then the profile and the initial Mail-Data (MSNP wiki "MSNP15:SSO").
 */
export async function wlmSignIn(
  server: TestServer,
  version: number,
  user: WlmUser,
  guid: string | undefined = version >= 16 ? `{${randomUUID()}}` : undefined,
): Promise<WlmSession> {
  const { client: ns, reply } = await msnpLoginChallenge(server, { version, handle: user.handle });
  assert.deepEqual(reply.args.slice(1, 3), ['SSO', 'S']);
  const rst = await ssoTokens(server, user.handle, user.password, {
    path: version >= 16 ? '/RST2.srf' : '/RST.srf',
  });
  assert.equal(rst.status, 200, rst.body);
  const login = rst.tokens.get('messengerclear.live.com');
  assert.ok(login?.secret, 'messengerclear.live.com comes with its proof key');
  const answer = ssoAnswer(login.secret, reply.args[4] ?? '');
  ns.send(`USR ${ns.trid()} SSO S ${login.ticket} ${answer}${guid ? ` ${guid}` : ''}`);
  const ok = await ns.expect('USR');
  assert.deepEqual(ok.args.slice(1, 3), ['OK', user.handle]);
  const profile = await ns.expect('MSG');
  assert.match(profile.payload?.toString() ?? '', /Content-Type: text\/x-msmsgsprofile/);
  const mail = await expectWhere(ns, 'MSG', (m) =>
    (m.payload?.toString() ?? '').includes('text/x-msmsgsinitialmdatanotification'),
  );
  const mailData = /\r\nMail-Data: (.*)\r\n/.exec(mail.payload?.toString() ?? '')?.[1] ?? '';
  return { user, version, ns, ...(guid ? { guid } : {}), tokens: rst.tokens, mailData };
}

/** A SOAP call to the address book / sharing service with this sign-in's contacts.msn.com token. */
export function ab(
  s: WlmSession,
  server: TestServer,
  service: 'abservice.asmx' | 'SharingService.asmx',
  operation: string,
  inner: string,
  scenario = 'Initial',
) {
  return abSoap(server, service, operation, token(s, 'contacts.msn.com'), inner, { scenario });
}

/** FindMembership: role name → passport names. */
export async function findMembership(s: WlmSession, server: TestServer, scenario = 'Initial') {
  const res = await ab(s, server, 'SharingService.asmx', 'FindMembership', FIND_MEMBERSHIP, scenario);
  assert.equal(res.status, 200, res.raw);
  const service = res.body.FindMembershipResponse.FindMembershipResult.Services.Service;
  const roles: Record<string, Array<{ handle: string; name: string; membershipId: string }>> = {};
  for (const m of service.Memberships?.Membership ?? []) {
    roles[m.MemberRole] = (m.Members?.Member ?? []).map((x: Xml) => ({
      handle: String(x.PassportName),
      name: String(x.DisplayName ?? ''),
      membershipId: String(x.MembershipId),
    }));
  }
  const names = (role: string) => (roles[role] ?? []).map((m) => m.handle).sort();
  return { roles, names };
}

/** The address book's contacts (ABFindContactsPaged from MSNP18 as Pidgin, ABFindAll as WLM 8.5). */
export async function addressBook(s: WlmSession, server: TestServer) {
  const paged = s.version >= 16;
  const res = paged
    ? await ab(s, server, 'abservice.asmx', 'ABFindContactsPaged', FIND_PAGED)
    : await ab(s, server, 'abservice.asmx', 'ABFindAll', `${ZERO_AB}<abView>Full</abView>`);
  assert.equal(res.status, 200, res.raw);
  const result = paged
    ? res.body.ABFindContactsPagedResponse.ABFindContactsPagedResult
    : res.body.ABFindAllResponse.ABFindAllResult;
  const contacts: Xml[] = (paged ? result.Contacts : result.contacts)?.Contact ?? [];
  const groups: Xml[] = (paged ? result.Groups : result.groups)?.Group ?? [];
  const groupName = new Map(groups.map((g) => [String(g.groupId), String(g.groupInfo.name)]));
  const me = contacts.find((c) => c.contactInfo.contactType === 'Me');
  const others = contacts.filter((c) => c.contactInfo.contactType !== 'Me');
  return {
    me: me?.contactInfo,
    contacts: others.map((c) => ({
      handle: String(c.contactInfo.passportName),
      name: String(c.contactInfo.displayName ?? ''),
      groups: ((c.contactInfo.groupIds?.guid ?? []) as string[]).map((id) => groupName.get(id) ?? id),
    })),
  };
}

/** The rest of sign-in as WLM does it: the lists, BLP, the initial ADL, the name, online. */
export async function wlmStart(s: WlmSession, server: TestServer, endpointName = 'Home PC') {
  const memberships = await findMembership(s, server);
  const book = await addressBook(s, server);
  assert.equal(book.me?.passportName, s.user.handle);
  assert.equal(book.me?.displayName, s.user.name);
  const ns = s.ns;
  // The privacy setting the address book keeps on the Me contact (MSN.IM.BLP: 1 = AL,
  // everyone not blocked sees me; 0 = BL, only the allow list), sent back as it is.
  const annotations = [book.me?.annotations?.Annotation ?? []].flat() as Xml[];
  const blp = annotations.find((a) => a.Name === 'MSN.IM.BLP')?.Value === '1' ? 'AL' : 'BL';
  ns.send(`BLP ${ns.trid()} ${blp}`);
  await ns.expect('BLP');
  const forward = book.contacts.map((c) => c.handle);
  const trid = String(ns.trid());
  // The initial ADL: every contact of the book with its lists (FL, plus AL when allowed).
  const allowed = new Set(memberships.names('Allow'));
  const lists = forward.map((h) => ml([h], 1 | (allowed.has(h) ? 2 : 0)).slice(4, -5)).join('');
  ns.sendPayload('ADL', [trid], `<ml l="1">${lists}</ml>`);
  assert.deepEqual((await ns.expect('ADL')).args, [trid, 'OK']);
  ns.send(`PRP ${ns.trid()} MFN ${encodeURIComponent(s.user.name)}`);
  await ns.expect('PRP');
  const burst = await goOnline(ns, s.version);
  if (s.guid) await nameEndpoint(s, endpointName);
  return { memberships, book, burst };
}

/** `ABContactAdd` (ContactSave, as Pidgin's MSN_ADD_CONTACT_TEMPLATE) then ADL FL|AL, as WLM adds. */
export async function addContact(s: WlmSession, server: TestServer, handle: string) {
  const added = await ab(
    s,
    server,
    'abservice.asmx',
    'ABContactAdd',
    `${ZERO_AB}<contacts><Contact xmlns="${AB_NS}"><contactInfo><passportName>${handle}</passportName><isSmtp>false</isSmtp><isMessengerUser>true</isMessengerUser></contactInfo></Contact></contacts><options><EnableAllowListManagement>true</EnableAllowListManagement></options>`,
    'ContactSave',
  );
  assert.equal(added.status, 200, added.raw);
  assert.ok(added.body.ABContactAddResponse.ABContactAddResult.guid[0], 'the new contact’s id');
  const trid = String(s.ns.trid());
  s.ns.sendPayload('ADL', [trid], ml([handle], 3));
  assert.deepEqual((await s.ns.expect('ADL')).args, [trid, 'OK']);
}

/**
 * Adding a buddy as Pidgin's MSNP18 plugin does (msn/userlist.c msn_userlist_add_buddy):
 * its default group ("Buddies") is created with ABGroupAdd, the new contact goes straight
 * into it with ABGroupContactAdd (by passport name), then FQY for the network and
 * separate ADLs for AL and FL (msn_add_contact_to_group_read_cb).
 */
export async function addContactAsPidgin(s: WlmSession, server: TestServer, handle: string, group: string) {
  const created = await ab(
    s,
    server,
    'abservice.asmx',
    'ABGroupAdd',
    `${ZERO_AB}<groupAddOptions><fRenameOnMsgrConflict>false</fRenameOnMsgrConflict></groupAddOptions><groupInfo><GroupInfo><name>${group}</name><groupType>C8529CE2-6EAD-434d-881F-341E17DB3FF8</groupType><fMessenger>false</fMessenger><annotations><Annotation><Name>MSN.IM.Display</Name><Value>1</Value></Annotation></annotations></GroupInfo></groupInfo>`,
    'GroupSave',
  );
  assert.equal(created.status, 200, created.raw);
  const groupId = created.body.ABGroupAddResponse.ABGroupAddResult.guid[0];
  const put = await ab(
    s,
    server,
    'abservice.asmx',
    'ABGroupContactAdd',
    `${ZERO_AB}<groupFilter><groupIds><guid>${groupId}</guid></groupIds></groupFilter><contacts><Contact xmlns="${AB_NS}"><contactInfo><passportName>${handle}</passportName><isSmtp>false</isSmtp><isMessengerUser>true</isMessengerUser></contactInfo></Contact></contacts><groupContactAddOptions><fGenerateMissingQuickName>true</fGenerateMissingQuickName><EnableAllowListManagement>true</EnableAllowListManagement></groupContactAddOptions>`,
    'ContactSave',
  );
  assert.equal(put.status, 200, put.raw);
  assert.ok(put.body.ABGroupContactAddResponse.ABGroupContactAddResult.guid[0], 'the new contact’s id');
  const [local, domain] = handle.split('@');
  const fqy = String(s.ns.trid());
  s.ns.sendPayload('FQY', [fqy], `<ml><d n="${domain}"><c n="${local}"/></d></ml>`);
  const network = await s.ns.expect('FQY');
  assert.equal(network.args[0], fqy);
  assert.match(network.payload?.toString() ?? '', new RegExp(`<c n="${local}" t="1"`), 'a Passport user');
  for (const l of [2, 1]) {
    const trid = String(s.ns.trid());
    s.ns.sendPayload('ADL', [trid], ml([handle], l));
    assert.deepEqual((await s.ns.expect('ADL')).args, [trid, 'OK']);
  }
}

/** `ADL 0` from the server naming `handle` on the reverse list (l="8"): someone added us. */
export async function expectAsked(s: WlmSession, handle: string): Promise<string> {
  const [local] = handle.split('@');
  const notice = await expectWhere(s.ns, 'ADL', (c) => c.args[0] === '0');
  const xml = notice.payload?.toString() ?? '';
  assert.match(xml, new RegExp(`<c n="${local}"[^>]* l="8"`), xml);
  return xml;
}

/**
 * Accepting an add as WLM does: AddMember Allow, DeleteMember Pending (by MembershipId,
 * as Pidgin's MSN_MEMBER_MEMBERSHIPID_XML), then adding the person back.
 */
export async function acceptAdd(s: WlmSession, server: TestServer, handle: string, addBack = true) {
  const pending = (await findMembership(s, server, 'MessengerPendingList')).roles.Pending ?? [];
  const entry = pending.find((m) => m.handle === handle);
  assert.ok(entry, `${handle} is pending: ${JSON.stringify(pending)}`);
  const allow = await ab(
    s,
    server,
    'SharingService.asmx',
    'AddMember',
    memberships('Allow', member(handle)),
    'BlockUnblock',
  );
  assert.equal(allow.status, 200, allow.raw);
  const del = await deletePending(s, server, entry.membershipId);
  assert.equal(del.status, 200, del.raw);
  if (addBack) await addContact(s, server, handle);
}

/** DeleteMember of a Pending member by its MembershipId, as Pidgin's msn/contact.c accepts an add. */
export function deletePending(s: WlmSession, server: TestServer, membershipId: string) {
  return ab(
    s,
    server,
    'SharingService.asmx',
    'DeleteMember',
    memberships('Pending', memberById(membershipId)),
    'ContactMsgrAPI',
  );
}

/** The presence arguments of `version`'s NLN/UBX for `handle` (MSNP18 `1:handle`, 14+ network id). */
export function presenceHandle(version: number, handle: string): string[] {
  if (version >= 18) return [`1:${handle}`];
  if (version >= 14) return [handle, '1'];
  return [handle];
}

/**
 * The next NLN naming `handle` (in `status`, if given: an earlier NLN may repeat one
 * already known); returns its status and decoded display name.
 */
export async function expectOnline(s: WlmSession, handle: string, status?: string) {
  const who = presenceHandle(s.version, handle);
  const nln = await expectWhere(
    s.ns,
    'NLN',
    (c) => c.args[1] === who[0] && (status === undefined || c.args[0] === status),
  );
  assert.deepEqual(nln.args.slice(1, 1 + who.length), who);
  return { status: nln.args[0], name: decodeURIComponent(nln.args[1 + who.length] ?? '') };
}

/**
 * `UUX` with a personal message (and "now playing"), in the shape Pidgin's MSNP18 plugin
 * writes (msn/state.c: MachineGuid and the empty DDP/Scene/… elements from MSNP16).
 */
export async function setPersonalMessage(s: WlmSession, psm: string, currentMedia = '') {
  const trid = String(s.ns.trid());
  const mpop = s.guid
    ? `<MachineGuid>${s.guid}</MachineGuid><DDP></DDP><SignatureSound></SignatureSound><Scene></Scene><ColorScheme></ColorScheme>`
    : '';
  s.ns.sendPayload(
    'UUX',
    [trid],
    `<Data><PSM>${psm}</PSM><CurrentMedia>${currentMedia}</CurrentMedia>${mpop}</Data>`,
  );
  assert.deepEqual((await s.ns.expect('UUX')).args, [trid, '0']);
}

/** MSNP16+: the endpoint's name, as Pidgin's msn_notification_send_uux_private_endpointdata. */
export async function nameEndpoint(s: WlmSession, name: string) {
  const trid = String(s.ns.trid());
  s.ns.sendPayload(
    'UUX',
    [trid],
    `<PrivateEndpointData><EpName>${name}</EpName><Idle>false</Idle><ClientType>1</ClientType><State>NLN</State></PrivateEndpointData>`,
  );
  assert.deepEqual((await s.ns.expect('UUX')).args, [trid, '0']);
}

/** The next UBX for `handle` carrying a PSM; returns the PSM and CurrentMedia as XML text. */
export async function expectPersonalMessage(s: WlmSession, handle: string) {
  const who = presenceHandle(s.version, handle);
  const ubx = await expectWhere(
    s.ns,
    'UBX',
    (c) => c.args[0] === who[0] && /<PSM>[^<]/.test(c.payload?.toString() ?? ''),
  );
  assert.deepEqual(ubx.args.slice(0, who.length), who);
  const xml = ubx.payload?.toString() ?? '';
  return {
    psm: /<PSM>([^<]*)<\/PSM>/.exec(xml)?.[1] ?? '',
    media: /<CurrentMedia>([^<]*)<\/CurrentMedia>/.exec(xml)?.[1] ?? '',
    xml,
  };
}

/** `XFR SB`, then `USR` at the switchboard as this endpoint. */
export async function openSwitchboard(s: WlmSession): Promise<MsnpTestClient> {
  s.ns.send(`XFR ${s.ns.trid()} SB`);
  const xfr = await s.ns.expect('XFR');
  assert.deepEqual(xfr.args.slice(1, 2), ['SB']);
  const [host, port] = (xfr.args[2] ?? '').split(':');
  const sb = await MsnpTestClient.connect(Number(port), host);
  sb.send(`USR ${sb.trid()} ${endpointOf(s)} ${xfr.args[4]}`);
  const usr = await sb.expect('USR');
  assert.deepEqual(usr.args.slice(1, 3), ['OK', endpointOf(s)]);
  return sb;
}

/** Answers the next RNG from `caller`: returns the switchboard and the IRO roster (handles). */
export async function answerRing(s: WlmSession, caller: string) {
  const rng = await expectWhere(s.ns, 'RNG', (c) => c.args[4] === caller);
  const [host, port] = (rng.args[1] ?? '').split(':');
  const sb = await MsnpTestClient.connect(Number(port), host);
  const trid = sb.trid();
  sb.send(`ANS ${trid} ${endpointOf(s)} ${rng.args[3]} ${rng.args[0]}`);
  const roster: string[] = [];
  for (;;) {
    const next = await sb.next();
    if (next.name === 'ANS') {
      assert.deepEqual(next.args, [String(trid), 'OK']);
      break;
    }
    assert.equal(next.name, 'IRO');
    roster.push(next.args[3] ?? '');
  }
  return { sb, roster, rng };
}

/** The text of a plain-text MSG payload (after the MIME header). */
export function textOf(msg: MsnpCommand): string {
  const payload = msg.payload?.toString('utf8') ?? '';
  assert.match(payload, /Content-Type: text\/plain/);
  return payload.slice(payload.indexOf('\r\n\r\n') + 4);
}

/** The next MSG that is a typing notice; returns its TypingUser. */
export async function expectTyping(sb: MsnpTestClient): Promise<string> {
  const msg = await expectWhere(sb, 'MSG', (c) =>
    (c.payload?.toString() ?? '').includes('text/x-msmsgscontrol'),
  );
  return /TypingUser: (.*)\r\n/.exec(msg.payload?.toString() ?? '')?.[1] ?? '';
}

/** Signs out as WLM does (`OUT`) and waits for the server to close. */
export async function signOut(s: WlmSession): Promise<void> {
  s.ns.send('OUT');
  await s.ns.closed();
}
