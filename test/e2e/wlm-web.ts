import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { challengeResponse } from '../../src/msnp/challenge.ts';
import type { Xml } from '../support/abch-client.ts';
import { STORAGE_NS as STORAGE, soapPost, storageRequest } from '../support/msnp-web.ts';
import type { TestServer } from '../support/papillon-server.ts';
import { token, type WlmSession, xmlParser } from './wlm-client.ts';

/**
 * The web services a WLM 8.5/2009 session calls with its sign-in's tokens besides the
 * address book: OIM (Store2 with the lock key, rsi.asmx) and the roaming profile (storage).
 */

/** The product id WLM 8.5 / Pidgin answer the OIM lock-key challenge with (msn/msnutils.h). */
export const OIM_PRODUCT_ID = 'PROD0119GSJUC$18';

function store2(s: WlmSession, server: TestServer, to: string, text: string, lockKey: string, seq: number) {
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');
  // Pidgin's MSN_OIM_MSG_TEMPLATE: the MIME head with bare LF, the text in base64.
  const content = `MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\nX-OIM-Message-Type: OfflineMessage\nX-OIM-Run-Id: {${randomUUID().toUpperCase()}}\nX-OIM-Sequence-Num: ${seq}\n\n${b64(text)}`;
  // COMPAT: Pidgin (msn/oim.c) sends with the messengersecure.live.com token.
  const passport = token(s, 'messengersecure.live.com');
  const body = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><From memberName="${s.user.handle}" friendlyName="=?utf-8?B?${b64(s.user.name)}?=" xml:lang="en-US" proxy="MSNMSGR" xmlns="http://messenger.msn.com/ws/2004/09/oim/" msnpVer="MSNP15" buildVer="8.5.1288"/><To memberName="${to}" xmlns="http://messenger.msn.com/ws/2004/09/oim/"/><Ticket passport="${esc(passport)}" appid="${OIM_PRODUCT_ID}" lockkey="${lockKey}" xmlns="http://messenger.msn.com/ws/2004/09/oim/"/><Sequence xmlns="http://schemas.xmlsoap.org/ws/2003/03/rm"><Identifier xmlns="http://schemas.xmlsoap.org/ws/2002/07/utility">http://messenger.msn.com</Identifier><MessageNumber>${seq}</MessageNumber></Sequence></soap:Header><soap:Body><MessageType xmlns="http://messenger.msn.com/ws/2004/09/oim/">text</MessageType><Content xmlns="http://messenger.msn.com/ws/2004/09/oim/">${esc(content)}</Content></soap:Body></soap:Envelope>`;
  return soapPost(
    server,
    '/OimWS/oim.asmx',
    'ows.messenger.msn.com',
    'http://messenger.live.com/ws/2006/09/oim/Store2',
    body,
  );
}

/** Store2 as Pidgin: no lock key, the challenge in the fault answered, sent again. */
export async function sendOim(s: WlmSession, server: TestServer, to: string, text: string) {
  const first = await store2(s, server, to, text, '', 1);
  const challenge = /<LockKeyChallenge [^>]*>(\d+)</.exec(first.body)?.[1];
  assert.ok(challenge, `the first Store2 is refused with a lock-key challenge: ${first.body}`);
  const second = await store2(s, server, to, text, challengeResponse(challenge, OIM_PRODUCT_ID) ?? '', 2);
  assert.equal(second.status, 200, second.body);
  assert.doesNotMatch(second.body, /Fault/);
}

/** An RSI call with the messenger.msn.com token split into `<t>` and `<p>` (Pidgin's msn/oim.c). */
function rsi(s: WlmSession, server: TestServer, operation: string) {
  const ticket = token(s, 'messenger.msn.com');
  const t = /(?:^|&)t=([^&]*)/.exec(ticket)?.[1] ?? '';
  const p = /(?:^|&)p=([^&]*)/.exec(ticket)?.[1] ?? '';
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const name = /^<(\w+)/.exec(operation)?.[1] ?? '';
  const body = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><PassportCookie xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><t>${esc(t)}</t><p>${esc(p)}</p></PassportCookie></soap:Header><soap:Body>${operation}</soap:Body></soap:Envelope>`;
  return soapPost(
    server,
    '/rsi/rsi.asmx',
    'rsi.hotmail.com',
    `http://www.hotmail.msn.com/ws/2004/09/oim/rsi/${name}`,
    body,
  );
}

const RSI = 'http://www.hotmail.msn.com/ws/2004/09/oim/rsi';

/** The `<M>` entries of a Mail-Data value: sender (E), id (I), name (N). */
export function mailEntries(md: string): Array<Record<string, string>> {
  const m = (xmlParser.parse(md) as { MD?: { M?: unknown } }).MD?.M;
  return (m === undefined ? [] : Array.isArray(m) ? m : [m]) as Array<Record<string, string>>;
}

/** GetMessage: the message's text and its `Date:` as a time. */
export async function fetchOim(s: WlmSession, server: TestServer, id: string) {
  const got = await rsi(
    s,
    server,
    `<GetMessage xmlns="${RSI}"><messageId>${id}</messageId><alsoMarkAsRead>false</alsoMarkAsRead></GetMessage>`,
  );
  assert.equal(got.status, 200, got.body);
  const parsed = xmlParser.parse(got.body) as Xml;
  const mime = String(parsed.Envelope.Body.GetMessageResponse.GetMessageResult).replace(/\r\n/g, '\n');
  const split = mime.indexOf('\n\n');
  const head = mime.slice(0, split);
  const text = Buffer.from(mime.slice(split + 2).replace(/\s+/g, ''), 'base64').toString('utf8');
  const date = /^Date: (.*)$/m.exec(head)?.[1] ?? '';
  // `From: =?utf-8?B?<name>?= <handle>` (RFC 2047), as Pidgin's msn_oim_report_to_user reads it.
  const from = (/^From: (.*)$/m.exec(head)?.[1] ?? '').replace(/=\?utf-8\?B\?([^?]*)\?=/i, (_, b) =>
    Buffer.from(b, 'base64').toString('utf8'),
  );
  return { text, sent: Date.parse(date), from };
}

/** DeleteMessages, then GetMetadata: the ids still listed. */
export async function deleteOim(s: WlmSession, server: TestServer, id: string): Promise<string[]> {
  const del = await rsi(
    s,
    server,
    `<DeleteMessages xmlns="${RSI}"><messageIds><messageId>${id}</messageId></messageIds></DeleteMessages>`,
  );
  assert.equal(del.status, 200, del.body);
  const meta = await rsi(s, server, `<GetMetadata xmlns="${RSI}" />`);
  assert.equal(meta.status, 200, meta.body);
  return mailEntries(/<MD>.*<\/MD>/s.exec(meta.body)?.[0] ?? '').map((m) => m.I ?? '');
}

function storage(s: WlmSession, server: TestServer, operation: string, inner: string) {
  const ticket = token(s, 'storage.live.com').replace(/&/g, '&amp;');
  return storageRequest(
    server,
    operation,
    ticket,
    `<${operation} xmlns="${STORAGE}">${inner}</${operation}>`,
  );
}

/**
 * The roaming profile WLM 8.5/2009 reads at sign-in (storage service GetProfile, with
 * this sign-in's storage token): the display name and personal message it shows as its own.
 */
export async function roamingProfile(s: WlmSession, server: TestServer) {
  const res = await storage(
    s,
    server,
    'GetProfile',
    '<profileHandle><Alias><Name>CID</Name><NameSpace>MyCidStuff</NameSpace></Alias><RelationshipName>MyProfile</RelationshipName></profileHandle><profileAttributes><ResourceID>true</ResourceID><DateModified>true</DateModified><ExpressionProfileAttributes><ResourceID>true</ResourceID><DateModified>true</DateModified><DisplayName>true</DisplayName><DisplayNameLastModified>true</DisplayNameLastModified><PersonalStatus>true</PersonalStatus><PersonalStatusLastModified>true</PersonalStatusLastModified><StaticUserTilePublicURL>true</StaticUserTilePublicURL><Photo>true</Photo><Flags>true</Flags></ExpressionProfileAttributes></profileAttributes>',
  );
  assert.equal(res.status, 200, res.body);
  const parsed = xmlParser.parse(res.body) as Xml;
  const profile = parsed.Envelope.Body.GetProfileResponse.GetProfileResult.ExpressionProfile;
  return {
    resourceId: String(profile.ResourceID ?? ''),
    name: String(profile.DisplayName ?? ''),
    psm: String(profile.PersonalStatus ?? ''),
  };
}

/** UpdateProfile, as WLM 8.5/2009 saves a new personal message to the roaming profile after UUX. */
export async function updateRoamingProfile(s: WlmSession, server: TestServer, psm: string) {
  const { resourceId } = await roamingProfile(s, server);
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const res = await storage(
    s,
    server,
    'UpdateProfile',
    `<profile><ResourceID>${resourceId}</ResourceID><ExpressionProfile><FreeText>Update</FreeText><PersonalStatus>${esc(psm)}</PersonalStatus><Flags>0</Flags></ExpressionProfile></profile>`,
  );
  assert.equal(res.status, 200, res.body);
  assert.doesNotMatch(res.body, /Fault/);
}
