import { createHash, randomUUID } from 'node:crypto';
import { rst12Body, rstEnvelope, SSO_TOKENS, tokenRequests } from '../../bench/passport-client.ts';
import { challengeResponse } from '../../src/msnp/challenge.ts';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import { MsnpTestClient } from './msnp-client.ts';
import { httpsRequest, type TestServer } from './papillon-server.ts';
import { ssoAnswer } from './sso-client.ts';

/** The client version each MSNP version's real client reported in CVR (docs/msnp-reference.md §1). */
const CLIENT_VERSION: Record<number, string> = {
  8: '5.0.0537',
  9: '6.0.0602',
  10: '6.2.0137',
  11: '7.0.0813',
  12: '7.5.0324',
  13: '8.0.0812',
  14: '8.1.0178',
  15: '8.5.1302',
  16: '14.0.3847',
  17: '14.0.5027',
  18: '14.0.8117',
};

/** A request to one of the legacy host names the test server stands in for. */
function httpsGet(
  server: TestServer,
  options: { path: string; method?: string; host: string; headers?: Record<string, string>; body?: string },
) {
  const { host, headers, ...rest } = options;
  return httpsRequest(server, { ...rest, servername: host, headers: { Host: host, ...(headers ?? {}) } });
}

/** Passport 1.4 as MSN Messenger 5–7.0 does it (§5.3): nexus, then login2.srf. */
export async function passport14Ticket(server: TestServer, handle: string, password: string, policy: string) {
  const nexus = await httpsGet(server, { path: '/rdr/pprdr.asp', host: 'nexus.passport.com' });
  const urls = String(nexus.headers.passporturls ?? '');
  const daLogin = /DALogin=([^,]+)/.exec(urls)?.[1];
  if (!daLogin) throw new Error(`no DALogin in nexus reply: ${urls}`);
  const loginPath = daLogin.slice(daLogin.indexOf('/'));
  const auth = `Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=${encodeURIComponent(handle)},pwd=${encodeURIComponent(password)},${policy}`;
  const login = await httpsGet(server, {
    path: loginPath,
    host: 'login.passport.com',
    headers: { Authorization: auth, 'User-Agent': 'MSMSGS' },
  });
  const info = String(login.headers['authentication-info'] ?? '');
  const ticket = /from-PP='([^']*)'/.exec(info)?.[1];
  return { status: login.status, ticket };
}

/** The SOAP RST request MSN Messenger 7.5 sends (§5.4), returning the messenger.msn.com ticket. */
export async function rstTicket(server: TestServer, handle: string, password: string, policy: string) {
  const body = rst12Body(handle, password, policy);
  const res = await httpsGet(server, {
    path: '/RST.srf',
    method: 'POST',
    host: 'login.live.com',
    headers: { 'Content-Type': 'text/xml; charset=utf-8' },
    body,
  });
  const token = /<wsse:BinarySecurityToken Id="Compact\d+">([^<]*)<\/wsse:BinarySecurityToken>/.exec(
    res.body,
  )?.[1];
  return { status: res.status, ticket: token?.replace(/&amp;/g, '&'), body: res.body };
}

/** The domains Pidgin's MSNP18 plugin asks RST for, after Passport.NET/tb (retro-prpl msn/nexus.c). */
export const SSO_DOMAINS: ReadonlyArray<[string, string]> = SSO_TOKENS.slice(1).map(([domain, policy]) => [
  domain,
  policy ?? '',
]);

export interface SsoToken {
  /** `t=…&p=…`, XML-unescaped. */
  ticket: string;
  /** The BinarySecret (messengerclear.live.com only). */
  secret?: string;
  expires?: string;
}

/**
 * The RST request an MSNP15+ client sends (Pidgin's msn/nexus.h MSN_SSO_TEMPLATE shape;
 * WLM 2009 posts the same to `/RST2.srf`), parsed the way Pidgin reads the answer:
 * each token under the position in its `Compact<n>` id.
 */
export async function ssoTokens(
  server: TestServer,
  handle: string,
  password: string,
  options: { path?: string; domains?: ReadonlyArray<[string, string]> } = {},
) {
  const domains = options.domains ?? SSO_DOMAINS;
  const rsts = domains
    .map(
      ([domain, policy], i) =>
        `<wst:RequestSecurityToken xmlns="http://schemas.xmlsoap.org/ws/2004/04/trust" Id="RST${i + 1}"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo xmlns="http://schemas.xmlsoap.org/ws/2002/12/policy"><wsa:EndpointReference xmlns="http://schemas.xmlsoap.org/ws/2004/03/addressing"><wsa:Address>${domain}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wsse:PolicyReference xmlns="http://schemas.xmlsoap.org/ws/2003/06/secext" URI="${policy}"></wsse:PolicyReference></wst:RequestSecurityToken>`,
    )
    .join('');
  const body = rstEnvelope(handle, password, tokenRequests([['http://Passport.NET/tb', undefined]]) + rsts);
  const res = await httpsGet(server, {
    path: options.path ?? '/RST2.srf',
    method: 'POST',
    host: 'login.live.com',
    headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '' },
    body,
  });
  const tokens = new Map<string, SsoToken>();
  for (const [, response = ''] of res.body.matchAll(
    /<wst:RequestSecurityTokenResponse>(.*?)<\/wst:RequestSecurityTokenResponse>/g,
  )) {
    const id = /<wsse:BinarySecurityToken Id="Compact(\d+)">([^<]*)</.exec(response);
    if (!id) continue;
    const domain = domains[Number(id[1]) - 1]?.[0];
    if (!domain) throw new Error(`token id Compact${id[1]} matches no request`);
    const secret = /<wst:BinarySecret>([^<]*)</.exec(response)?.[1];
    const expires = /<wsu:Expires>([^<]*)</.exec(response)?.[1];
    tokens.set(domain, {
      ticket: (id[2] ?? '').replace(/&amp;/g, '&'),
      ...(secret ? { secret } : {}),
      ...(expires ? { expires } : {}),
    });
  }
  return { status: res.status, body: res.body, tokens };
}

export interface LoginOptions {
  version: number;
  handle: string;
  password: string;
  /** MSNP16+: the endpoint's `{machine-guid}` (a fresh one when left out). */
  machineGuid?: string;
}

/** The mechanism a version signs in with (§5; MSNP wiki "MSNP15:SSO"). */
function mechanismFor(version: number): 'MD5' | 'TWN' | 'SSO' {
  return version >= 15 ? 'SSO' : version >= 8 ? 'TWN' : 'MD5';
}

/**
 * VER/CVR, then `USR trid <mechanism> I handle`, following the dispatch referral;
 * returns the connection and the server's `USR … S` reply (the MSNP13+ `GCF 0`
 * policies pushed before it are taken from the inbox).
 */
export async function msnpLoginChallenge(
  server: TestServer,
  options: { version: number; handle: string },
): Promise<{ client: MsnpTestClient; reply: MsnpCommand }> {
  const { version, handle } = options;
  let host = '127.0.0.1';
  let port = server.port('msnp');
  for (let hop = 0; hop < 3; hop++) {
    const client = await open(port, host, version, handle);
    client.send(`USR ${client.trid()} ${mechanismFor(version)} I ${handle}`);
    let reply = await client.next();
    if (reply.name === 'GCF' && version >= 13) reply = await client.next();
    if (reply.name === 'XFR') {
      const [h, p] = (reply.args[2] ?? '').split(':');
      host = h ?? host;
      port = Number(p);
      await client.close();
      continue;
    }
    if (reply.name !== 'USR') throw new Error(`unexpected ${reply.name} ${reply.args.join(' ')}`);
    return { client, reply };
  }
  throw new Error('too many referrals');
}

/** Negotiates VER (+CVR / INF) on a fresh connection to `port`. */
async function open(port: number, host: string, version: number, handle: string): Promise<MsnpTestClient> {
  const client = await MsnpTestClient.connect(port, host);
  client.send(`VER ${client.trid()} MSNP${version} CVR0`);
  const ver = await client.expect('VER');
  if (!ver.args.includes(`MSNP${version}`)) throw new Error(`VER not agreed: ${ver.args.join(' ')}`);
  if (version >= 8) {
    client.send(
      `CVR ${client.trid()} 0x0409 winnt 5.1 i386 MSNMSGR ${CLIENT_VERSION[version]} MSMSGS ${handle}`,
    );
    await client.expect('CVR');
  } else {
    client.send(`INF ${client.trid()}`);
    await client.expect('INF');
  }
  return client;
}

/**
 * Signs in as a real client of that version does: dispatch (`XFR NS`), reconnect,
 * then MD5 (MSNP2–7), TWN with a ticket from Passport 1.4 (MSNP8–11) or RST (MSNP12–14)
 * over HTTPS, or SSO (MSNP15+): RST (`//RST.srf` as Pidgin asks for it up to MSNP15,
 * `/RST2.srf` as WLM 2009 from 16) and the MBI_KEY_OLD answer, with a machine GUID
 * from MSNP16. Resolves once the last USR is sent; `msnpSignIn` waits for `USR OK`.
 */
export async function msnpLogin(server: TestServer, options: LoginOptions): Promise<MsnpTestClient> {
  const { version, handle, password } = options;
  const mechanism = mechanismFor(version);
  const { client, reply } = await msnpLoginChallenge(server, { version, handle });
  if (mechanism === 'MD5') {
    const proof = createHash('md5')
      .update((reply.args[3] ?? '') + password)
      .digest('hex');
    client.send(`USR ${client.trid()} MD5 S ${proof}`);
    return client;
  }
  if (mechanism === 'TWN') {
    const policy = reply.args[3] ?? '';
    const got =
      version >= 12
        ? await rstTicket(server, handle, password, policy)
        : await passport14Ticket(server, handle, password, policy);
    client.send(`USR ${client.trid()} TWN S ${got.ticket ?? 't=invalid&p='}`);
    return client;
  }
  const nonce = reply.args[4] ?? '';
  const got = await ssoTokens(server, handle, password, { path: version >= 16 ? '/RST2.srf' : '//RST.srf' });
  const login = got.tokens.get('messengerclear.live.com');
  const answer = login?.secret ? ssoAnswer(login.secret, nonce) : 'invalid';
  const guid = version >= 16 ? ` ${options.machineGuid ?? `{${randomUUID()}}`}` : '';
  client.send(`USR ${client.trid()} SSO S ${login?.ticket ?? 't=invalid&p='} ${answer}${guid}`);
  return client;
}

/** Signs in and expects success: `USR … OK` and the profile message. */
export async function msnpSignIn(server: TestServer, options: LoginOptions): Promise<MsnpTestClient> {
  const client = await msnpLogin(server, options);
  const ok = await client.expect('USR');
  if (ok.args[1] !== 'OK') throw new Error(`login failed: USR ${ok.args.join(' ')}`);
  const profile = await client.expect('MSG');
  if (!profile.payload?.toString().includes('text/x-msmsgsprofile')) throw new Error('no profile message');
  return client;
}

/** The product id/key real clients of each version answer CHL with (§7.3). */
export function productIdFor(version: number): string {
  return version >= 11 ? 'PROD0090YUAUV{2B' : 'msmsgs@msnmsgr.com';
}

/**
 * `CHG` to a status; returns the ILN lines of the burst. Answers the CHL that
 * MSNP6+ sends after the first CHG, as the real client does.
 */
export async function msnpSetStatus(
  client: MsnpTestClient,
  version: number,
  status: string,
  options: { first?: boolean; clientId?: string; msnObject?: string } = {},
): Promise<MsnpCommand[]> {
  const trid = client.trid();
  const extra =
    version >= 8
      ? ` ${options.clientId ?? '0'}${options.msnObject && version >= 9 ? ` ${options.msnObject}` : ''}`
      : '';
  client.send(`CHG ${trid} ${status}${extra}`);
  await client.expect('CHG');
  if (!options.first) return [];
  const ilns: MsnpCommand[] = [];
  if (version >= 6) {
    const chl = await client.expect('CHL');
    const challenge = chl.args[1] ?? '';
    const product = productIdFor(version);
    client.sendPayload('QRY', [client.trid(), product], challengeResponse(challenge, product) ?? '');
    await client.expect('QRY');
  }
  for (;;) {
    const iln = await client.expect('ILN', 50).catch(() => undefined);
    if (!iln) break;
    ilns.push(iln);
  }
  return ilns;
}
