import { Agent, request } from 'node:https';
import { challengeResponse } from '../src/msnp/challenge.ts';
import type { MsnpCommand } from '../src/msnp/codec/index.ts';
import { MsnpConn } from './msnp-conn.ts';

/** MSN Messenger 7.5 speaks MSNP12 and answers CHL with this product id (docs/msnp-reference.md §7.3). */
export const PRODUCT_ID = 'PROD0090YUAUV{2B';
const CLIENT_VERSION = '7.5.0324';

export interface LoginTarget {
  host: string;
  msnpPort: number;
  httpsPort: number;
  /** Keep-alive HTTPS agent trusting the bench CA. */
  agent: Agent;
  timeoutMs: number;
}

export function passportAgent(ca: Buffer): Agent {
  return new Agent({ keepAlive: true, ca, maxSockets: Number.POSITIVE_INFINITY });
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The RequestMultipleSecurityTokens body MSN Messenger 7.5 posts to RST.srf (§5.4). */
function rstBody(handle: string, password: string, policy: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wssc="http://schemas.xmlsoap.org/ws/2004/04/sc" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust">' +
    '<Header><ps:AuthInfo xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="PPAuthInfo">' +
    '<ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}</ps:HostingApp><ps:BinaryVersion>4</ps:BinaryVersion>' +
    '<ps:UIVersion>1</ps:UIVersion><ps:Cookies></ps:Cookies><ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams>' +
    '</ps:AuthInfo><wsse:Security><wsse:UsernameToken Id="user">' +
    `<wsse:Username>${escapeXml(handle)}</wsse:Username><wsse:Password>${escapeXml(password)}</wsse:Password>` +
    '</wsse:UsernameToken></wsse:Security></Header>' +
    '<Body><ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">' +
    '<wst:RequestSecurityToken Id="RST0"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType>' +
    '<wsp:AppliesTo><wsa:EndpointReference><wsa:Address>http://Passport.NET/tb</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>' +
    '</wst:RequestSecurityToken><wst:RequestSecurityToken Id="RST1">' +
    '<wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType>' +
    '<wsp:AppliesTo><wsa:EndpointReference><wsa:Address>messenger.msn.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>' +
    `<wsse:PolicyReference URI="?${escapeXml(policy.replace(/,/g, '&'))}"></wsse:PolicyReference>` +
    '</wst:RequestSecurityToken></ps:RequestMultipleSecurityTokens></Body></Envelope>'
  );
}

/** POST /RST.srf as login.live.com; resolves with the messenger.msn.com ticket (`t=…&p=`). */
function rstTicket(
  target: LoginTarget,
  localAddress: string | undefined,
  handle: string,
  password: string,
  policy: string,
): Promise<string> {
  const body = rstBody(handle, password, policy);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.host,
        port: target.httpsPort,
        path: '/RST.srf',
        method: 'POST',
        agent: target.agent,
        servername: 'login.live.com',
        ...(localAddress ? { localAddress } : {}),
        headers: {
          Host: 'login.live.com',
          'Content-Type': 'text/xml; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
        },
        timeout: target.timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          const token = /<wsse:BinarySecurityToken Id="Compact\d+">([^<]*)<\/wsse:BinarySecurityToken>/.exec(
            text,
          )?.[1];
          if (token) resolve(token.replace(/&amp;/g, '&'));
          else {
            const fault = /<faultstring>([^<]*)</.exec(text)?.[1];
            reject(new Error(`RST.srf ${res.statusCode}: ${fault ?? 'no messenger.msn.com token'}`));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`RST.srf timed out after ${target.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Answers every `CHL 0 challenge` with the MSNP11 `QRY` (§7.1, §7.4). */
function answerChallenges(conn: MsnpConn, cmd: MsnpCommand): boolean {
  if (cmd.name !== 'CHL') return false;
  const answer = challengeResponse(cmd.args[1] ?? '', PRODUCT_ID) ?? '';
  conn.sendPayload('QRY', [conn.trid(), PRODUCT_ID], answer);
  return true;
}

/** VER and CVR on a fresh connection, as MSN Messenger 7.5 does (§3.1, §3.2). */
async function negotiate(
  target: LoginTarget,
  host: string,
  port: number,
  local: string | undefined,
  handle: string,
) {
  const conn = await MsnpConn.connect(port, host, local, target.timeoutMs);
  try {
    conn.send('VER', conn.trid(), 'MSNP12', 'CVR0');
    const ver = await conn.expect('VER', target.timeoutMs);
    if (!ver.args.includes('MSNP12')) throw new Error(`VER: MSNP12 not agreed (${ver.args.join(' ')})`);
    conn.send(
      'CVR',
      conn.trid(),
      '0x0409',
      'winnt',
      '5.1',
      'i386',
      'MSNMSGR',
      CLIENT_VERSION,
      'MSMSGS',
      handle,
    );
    await conn.expect('CVR', target.timeoutMs);
    return conn;
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

/**
 * One MSNP12 sign-in as MSN Messenger 7.5: dispatch (`XFR NS`), reconnect, `USR TWN I`,
 * a ticket from RST.srf, `USR TWN S`, then `SYN`, `CHG NLN` and the CHL/QRY exchange.
 * Resolves with the online notification-server connection.
 */
export async function signIn(
  target: LoginTarget,
  handle: string,
  password: string,
  localAddress: string | undefined,
): Promise<MsnpConn> {
  let host = target.host;
  let port = target.msnpPort;
  for (let hop = 0; hop < 3; hop++) {
    const conn = await negotiate(target, host, port, localAddress, handle);
    try {
      conn.send('USR', conn.trid(), 'TWN', 'I', handle);
      const reply = await conn.expectOneOf(['XFR', 'USR'], target.timeoutMs);
      if (reply.name === 'XFR') {
        const [h, p] = (reply.args[2] ?? '').split(':');
        if (!h || !p) throw new Error(`bad XFR NS referral: ${reply.args.join(' ')}`);
        host = h;
        port = Number(p);
        await conn.close(target.timeoutMs);
        continue;
      }
      const policy = reply.args[3] ?? '';
      const ticket = await rstTicket(target, localAddress, handle, password, policy);
      conn.send('USR', conn.trid(), 'TWN', 'S', ticket);
      const ok = await conn.expect('USR', target.timeoutMs);
      if (ok.args[1] !== 'OK') throw new Error(`USR: not OK (${ok.args.join(' ')})`);
      conn.send('SYN', conn.trid(), 0, 0);
      await conn.expect('SYN', target.timeoutMs);
      conn.handler = (cmd) => answerChallenges(conn, cmd);
      conn.send('CHG', conn.trid(), 'NLN', 0);
      await conn.expect('CHG', target.timeoutMs);
      // The first CHG is followed by a CHL; the handler answers it and the server acknowledges.
      await conn.expect('QRY', target.timeoutMs);
      conn.clearInbox();
      return conn;
    } catch (err) {
      conn.destroy();
      throw err;
    }
  }
  throw new Error('too many XFR NS referrals');
}
