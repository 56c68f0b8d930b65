/**
 * Papillon's Passport endpoints over real HTTPS: the Nexus (pprdr.asp), Passport 1.4
 * login2.srf and SOAP RST.srf (docs/msnp-reference.md §5.3–5.4), against a running
 * server with a certificate from `createCertificates`.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { XMLParser } from 'fast-xml-parser';
import { LoginGuard } from '../../src/core/login-guard.ts';
import type { RunningServer } from '../../src/server/server.ts';
import {
  type HttpsResponse,
  httpsRequest,
  startTestServer,
  type TestServer,
} from '../support/papillon-server.ts';

const PASSWORD = 'Tr0ub4dor, &3%<pass>';
const TWN_PARAMS =
  'lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1062764229,kpp=1,kv=5,ver=2.1.0173.1,tpf=43f8a4c8ed940c04e3740be46c4d1619';

/** The Authorization header MSN Messenger 5–7.0 sends to login2.srf (§5.3 step 2). */
function passportAuthorization(signIn: string, password: string, encodeSignIn = true): string {
  const user = encodeSignIn ? encodeURIComponent(signIn) : signIn;
  return `Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=${user},pwd=${encodeURIComponent(password)},${TWN_PARAMS}`;
}

const xmlEscape = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

function rstToken(id: string, address: string, policy?: string): string {
  return [
    `<wst:RequestSecurityToken Id="${id}">`,
    '<wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType>',
    '<wsp:AppliesTo><wsa:EndpointReference>',
    `<wsa:Address>${address}</wsa:Address>`,
    '</wsa:EndpointReference></wsp:AppliesTo>',
    policy === undefined ? '' : `<wsse:PolicyReference URI="${xmlEscape(policy)}"></wsse:PolicyReference>`,
    '</wst:RequestSecurityToken>',
  ].join('');
}

/**
 * An MSNP12 RST request as MSN Messenger 7.5 / msn-pecan build it (§5.4 "Request
 * shape"): default SOAP namespace on the Envelope, PPCRL AuthInfo, the UsernameToken
 * with XML-escaped credentials, and RequestMultipleSecurityTokens.
 */
function rstBody(username: string, password: string, tokens: string[]): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"',
    ' xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext"',
    ' xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion"',
    ' xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy"',
    ' xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"',
    ' xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing"',
    ' xmlns:wssc="http://schemas.xmlsoap.org/ws/2004/04/sc"',
    ' xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust">',
    '<Header>',
    '<ps:AuthInfo xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="PPAuthInfo">',
    '<ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}</ps:HostingApp>',
    '<ps:BinaryVersion>4</ps:BinaryVersion>',
    '<ps:UIVersion>1</ps:UIVersion>',
    '<ps:Cookies></ps:Cookies>',
    '<ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams>',
    '</ps:AuthInfo>',
    '<wsse:Security>',
    '<wsse:UsernameToken Id="user">',
    `<wsse:Username>${xmlEscape(username)}</wsse:Username>`,
    `<wsse:Password>${xmlEscape(password)}</wsse:Password>`,
    '</wsse:UsernameToken>',
    '</wsse:Security>',
    '</Header>',
    '<Body>',
    '<ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">',
    ...tokens,
    '</ps:RequestMultipleSecurityTokens>',
    '</Body>',
    '</Envelope>',
  ].join('\r\n');
}

/** MSN Messenger 7.5: the Passport.NET/tb token and messenger.msn.com with the TWN S string as policy. */
const msn75Tokens = () => [
  rstToken('RST0', 'http://Passport.NET/tb'),
  rstToken('RST1', 'messenger.msn.com', `?${TWN_PARAMS}`),
];

/** msn-pecan: five tokens, `?id=507` policy (pn_auth.c). */
const pecanTokens = () => [
  rstToken('RST0', 'http://Passport.NET/tb'),
  rstToken('RST1', 'messenger.msn.com', '?id=507'),
  rstToken('RST2', 'messengersecure.live.com', 'MBI_SSL'),
  rstToken('RST3', 'contacts.msn.com', 'MBI'),
  rstToken('RST4', 'storage.msn.com', 'MBI'),
];

/** What msn-pecan's process_body does: the literal token element, split on `&amp;`. */
function pecanTicket(body: string, id = 'Compact1'): { t: string; p: string } | undefined {
  const start = body.indexOf(`<wsse:BinarySecurityToken Id="${id}">`);
  if (start < 0) return undefined;
  const from = body.indexOf('>', start) + 1;
  const params = body.slice(from, body.indexOf('<', from));
  const [t = '', p = ''] = params.split('&amp;', 2);
  return { t: t.slice(2), p: p.slice(2) };
}

/** What aMSN does with Authentication-Info: split on `,`, take `from-PP=`, drop 9 + 1 characters. */
function amsnTicket(header: string): string | undefined {
  const item = header.split(',').find((i) => i.startsWith('from-PP='));
  return item?.slice(9, -1);
}

describe('Passport endpoints', () => {
  let testServer: TestServer;
  let server: RunningServer;
  let port: number;
  let ca: Buffer;

  before(async () => {
    testServer = await startTestServer();
    server = testServer.server;
    port = testServer.port('https');
    ca = testServer.ca;
    await server.core.accounts.create({
      privacy: 'allow-all',
      handle: 'alice@localhost',
      password: PASSWORD,
      displayName: 'Alice',
    });
    await server.core.accounts.create({
      privacy: 'allow-all',
      handle: 'bob@localhost',
      password: PASSWORD,
      displayName: 'Bob',
    });
  });

  after(async () => {
    await testServer?.stop();
  });

  // Each case starts with a fresh throttle, so failures in one do not lock out the next.
  beforeEach(() => {
    server.core.loginGuard = new LoginGuard();
  });

  function request(options: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: string;
    servername?: string;
  }): Promise<HttpsResponse> {
    return httpsRequest(testServer, { ...options, servername: options.servername ?? 'login.passport.com' });
  }

  /** The response exactly as bytes on the wire (header case included). */
  function rawRequest(servername: string, head: string, body = ''): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername }, () => {
        socket.write(head + body);
      });
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (d) => {
        data += d;
      });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
  }

  const login2 = (authorization?: string, method = 'GET') =>
    request({
      method,
      path: '/login2.srf',
      headers: authorization === undefined ? { 'User-Agent': 'MSMSGS' } : { Authorization: authorization },
    });

  const rst = (
    body: string,
    headers: Record<string, string> = { 'Content-Type': 'text/xml; charset=utf-8' },
  ) => request({ method: 'POST', path: '/RST.srf', headers, body, servername: 'login.live.com' });

  describe('Nexus (pprdr.asp)', () => {
    it('sends PassportURLs with that exact case, DALogin on the host the client asked for', async () => {
      const raw = await rawRequest(
        'nexus.passport.com',
        'GET /rdr/pprdr.asp HTTP/1.1\r\nHost: nexus.passport.com\r\nConnection: close\r\n\r\n',
      );
      assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
      const line = raw.split('\r\n').find((l) => l.toLowerCase().startsWith('passporturls:'));
      assert.ok(line, raw);
      assert.ok(line.startsWith('PassportURLs: '), `header case: ${line}`);
      const value = line.slice('PassportURLs: '.length);
      const fields = new Map(
        value.split(',').map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]),
      );
      assert.equal(fields.get('DARealm'), 'Passport.Net');
      assert.equal(fields.get('DALogin'), 'nexus.passport.com/login2.srf');
      assert.ok(fields.has('ConfigVersion'));
      // COMPAT: aMSN strips the 8 characters "DALogin=" and prefixes https://.
      const dalogin = value.split(',').find((f) => f.startsWith('DALogin='));
      assert.equal(`https://${dalogin?.slice(8)}`, 'https://nexus.passport.com/login2.srf');
      // Empty body.
      assert.ok(raw.endsWith('\r\n\r\n'), 'empty body');
      assert.match(raw, /\r\nContent-Length: 0\r\n/);
    });

    it('points DALogin at host:port for a server reached by address', async () => {
      const res = await request({ path: '/rdr/pprdr.asp', servername: 'nexus.passport.com' });
      assert.equal(res.status, 200);
      assert.equal(res.body, '');
      assert.match(
        String(res.headers.passporturls),
        new RegExp(`DALogin=127\\.0\\.0\\.1:${port}/login2\\.srf`),
      );
    });

    it('falls back to login.passport.com for a Host header that is not a plain host', async () => {
      const res = await request({
        path: '/rdr/pprdr.asp',
        headers: { Host: 'evil.example,DALogin=elsewhere' },
      });
      assert.match(String(res.headers.passporturls), /DALogin=login\.passport\.com\/login2\.srf,/);
    });
  });

  describe('login2.srf (Passport 1.4)', () => {
    it('issues a ticket that the notification server accepts once, and only once', async () => {
      const res = await login2(passportAuthorization('alice@localhost', PASSWORD));
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      const info = String(res.headers['authentication-info']);
      assert.match(
        info,
        /^Passport1\.4 da-status=success,tname=MSPAuth,tname=MSPProf,tname=MSPSec,from-PP='t=[A-Za-z0-9_-]+&p=',ru=http:\/\/messenger\.msn\.com$/,
      );
      const ticket = amsnTicket(info);
      assert.ok(ticket);
      assert.equal((await server.core.tickets.redeem(ticket))?.handle, 'alice@localhost');
      assert.equal(await server.core.tickets.redeem(ticket), undefined);
    });

    it('writes Authentication-Info with that exact case', async () => {
      const raw = await rawRequest(
        'login.passport.com',
        `GET /login2.srf HTTP/1.1\r\nHost: login.passport.com\r\nAuthorization: ${passportAuthorization('alice@localhost', PASSWORD)}\r\nConnection: close\r\n\r\n`,
      );
      assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(raw, /\r\nAuthentication-Info: Passport1\.4 da-status=success,/);
      assert.match(raw, /\r\nContent-Type: text\/html\r\n/);
    });

    it('accepts an unencoded sign-in (aMSN), any handle case, and POST', async () => {
      const amsn = await login2(passportAuthorization('alice@localhost', PASSWORD, false));
      assert.equal(amsn.status, 200);
      const upper = await login2(passportAuthorization('ALICE@Localhost', PASSWORD), 'POST');
      assert.equal(upper.status, 200);
      const ticket = amsnTicket(String(upper.headers['authentication-info']));
      assert.equal((await server.core.tickets.redeem(ticket ?? ''))?.handle, 'alice@localhost');
    });

    it('answers a wrong password and an unknown handle with the same 401', async () => {
      const wrong = await login2(passportAuthorization('alice@localhost', 'not the password'));
      const unknown = await login2(passportAuthorization('nobody@localhost', PASSWORD));
      for (const res of [wrong, unknown]) {
        assert.equal(res.status, 401);
        assert.equal(
          res.headers['www-authenticate'],
          'Passport1.4 da-status=failed,srealm=Passport.NET,ts=-1,prompt,cburl=http://www.passportimages.com/XPPassportLogo.gif',
        );
        assert.equal(res.headers['authentication-info'], undefined);
      }
      assert.deepEqual(
        {
          status: wrong.status,
          type: wrong.headers['content-type'],
          www: wrong.headers['www-authenticate'],
          body: wrong.body,
        },
        {
          status: unknown.status,
          type: unknown.headers['content-type'],
          www: unknown.headers['www-authenticate'],
          body: unknown.body,
        },
      );
    });

    it('checks the password against the SCRAM keys: an account with no argon2 hash (migration 0020) signs in', async () => {
      const account = await server.core.accounts.create({
        privacy: 'allow-all',
        handle: 'dora@localhost',
        password: PASSWORD,
      });
      const stored = await server.core.store.getCredentials(account.id);
      assert.ok(stored);
      // As migration 0020 leaves an account created by an earlier version.
      await server.core.store.setCredentials(account.id, { ...stored, argon2: '' });
      const res = await login2(passportAuthorization('dora@localhost', PASSWORD));
      assert.equal(res.status, 200);
      const ticket = amsnTicket(String(res.headers['authentication-info']));
      assert.equal((await server.core.tickets.redeem(ticket ?? ''))?.handle, 'dora@localhost');
      assert.equal((await login2(passportAuthorization('dora@localhost', `${PASSWORD}!`))).status, 401);
    });

    it('answers a missing or garbled Authorization header with the same 401', async () => {
      for (const authorization of [
        undefined,
        'Basic YWxpY2U6cHc=',
        'Passport1.4 ',
        'Passport1.4 sign-in=alice%40localhost',
        'Passport1.4 pwd=x',
        'Passport1.4 sign-in=,pwd=',
        'Passport1.4 ,,,=,==,sign-in=%zz,pwd=%',
      ]) {
        const res = await login2(authorization);
        assert.equal(res.status, 401, String(authorization));
        assert.match(
          String(res.headers['www-authenticate']),
          /^Passport1\.4 da-status=failed,srealm=Passport\.NET,/,
        );
      }
    });
  });

  describe('RST.srf (SOAP)', () => {
    it('issues the messenger.msn.com ticket to an MSN 7.5-shaped request', async () => {
      const res = await rst(rstBody('Alice@localhost', PASSWORD, msn75Tokens()));
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/xml/);
      const ticket = pecanTicket(res.body);
      assert.ok(ticket, res.body);
      assert.match(ticket.t, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(ticket.p, '');
      // What MSN 7.5 sends back in USR TWN S: the XML-decoded token text.
      assert.equal(
        (await server.core.tickets.redeem(`t=${ticket.t}&p=${ticket.p}`))?.handle,
        'alice@localhost',
      );
      assert.equal(await server.core.tickets.redeem(`t=${ticket.t}&p=${ticket.p}`), undefined);

      // A well-formed collection, one response per request, addresses echoed.
      const parsed = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false }).parse(res.body, true);
      const responses =
        parsed.Envelope.Body.RequestSecurityTokenResponseCollection.RequestSecurityTokenResponse;
      assert.equal(responses.length, 2);
      assert.equal(responses[0].TokenType, 'urn:passport:legacy');
      assert.equal(responses[0].AppliesTo.EndpointReference.Address, 'http://Passport.NET/tb');
      assert.ok(responses[0].RequestedProofToken.BinarySecret);
      assert.equal(responses[1].TokenType, 'urn:passport:compact');
      assert.equal(responses[1].AppliesTo.EndpointReference.Address, 'messenger.msn.com');
      assert.equal(responses[1].RequestedTokenReference.Reference['@_URI'], '#Compact1');
      const { Created, Expires } = responses[1].LifeTime;
      assert.match(Created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      assert.match(Expires, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      assert.ok(Date.parse(Expires) > Date.parse(Created));

      // COMPAT: msn-pecan reads the wsu:Expires after the messenger.msn.com address.
      const after = res.body.slice(res.body.indexOf('<wsa:Address>messenger.msn.com</wsa:Address>'));
      assert.match(
        after,
        /^<wsa:Address>messenger\.msn\.com<\/wsa:Address>.*?<wsu:Expires>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z</s,
      );
      // COMPAT: Miranda takes the first BinarySecurityToken: it must be the messenger one.
      const first = res.body.indexOf('<wsse:BinarySecurityToken');
      assert.equal(first, res.body.indexOf('<wsse:BinarySecurityToken Id="Compact1">'));
    });

    it('numbers compact tokens by position for msn-pecan, only Compact1 being a login ticket', async () => {
      const res = await rst(rstBody('alice@localhost', PASSWORD, pecanTokens()));
      assert.equal(res.status, 200);
      assert.ok(res.body.includes('Id="BinaryDAToken0"'));
      for (const n of [1, 2, 3, 4]) {
        assert.ok(res.body.includes(`<wsse:BinarySecurityToken Id="Compact${n}">t=`), `Compact${n}`);
      }
      const others = [2, 3, 4].map((n) => pecanTicket(res.body, `Compact${n}`));
      for (const other of others) {
        assert.equal(await server.core.tickets.redeem(`t=${other?.t}&p=`), undefined);
        // messengersecure.live.com, contacts.msn.com, storage.msn.com: web-service tokens.
        assert.equal(
          (await server.core.tickets.verifyService(`t=${other?.t}&p=`))?.handle,
          'alice@localhost',
        );
      }
      // No SSO proof key for a client that did not ask for messengerclear.live.com.
      assert.equal((res.body.match(/<wst:BinarySecret>/g) ?? []).length, 1, 'only the legacy token has one');
      const ticket = pecanTicket(res.body);
      assert.equal(
        (await server.core.tickets.redeem(`t=${ticket?.t}&p=${ticket?.p}`))?.handle,
        'alice@localhost',
      );
    });

    it('writes Content-Length with that exact case (msn-pecan reads no body otherwise)', async () => {
      const body = rstBody('alice@localhost', PASSWORD, msn75Tokens());
      const raw = await rawRequest(
        'login.live.com',
        `POST /RST.srf HTTP/1.1\r\nHost: login.live.com\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
        body,
      );
      const [head = '', payload = ''] = raw.split('\r\n\r\n', 2);
      const length = /\r\nContent-Length: (\d+)\r\n/.exec(`${head}\r\n`);
      assert.ok(length, head);
      assert.equal(Number(length[1]), Buffer.byteLength(payload));
      assert.match(head, /\r\nContent-Type: text\/xml/);
    });

    it('reads a request without a Content-Type too', async () => {
      const res = await rst(rstBody('alice@localhost', PASSWORD, msn75Tokens()), {});
      assert.equal(res.status, 200);
      assert.ok(pecanTicket(res.body));
    });

    it('answers bad credentials with a FailedAuthentication fault, with HTTP 200', async () => {
      const wrong = await rst(rstBody('alice@localhost', 'not the password', msn75Tokens()));
      const unknown = await rst(rstBody('nobody@localhost', PASSWORD, msn75Tokens()));
      const serverTime = / ServerTime="[^"]*"/;
      for (const res of [wrong, unknown]) {
        assert.equal(res.status, 200);
        assert.match(String(res.headers['content-type']), /^text\/xml/);
        assert.ok(res.body.includes('<faultcode>wsse:FailedAuthentication</faultcode>'), res.body);
        assert.ok(!res.body.includes('BinarySecurityToken'));
        new XMLParser().parse(res.body, true);
      }
      assert.equal(wrong.body.replace(serverTime, ''), unknown.body.replace(serverTime, ''));
    });

    it('answers malformed requests with an S:Client fault', async () => {
      const cases = [
        '',
        'not xml at all',
        '<Envelope><Header></Envelope>',
        '<Envelope><Header/><Body/></Envelope>',
        // No UsernameToken.
        rstBody('alice@localhost', PASSWORD, msn75Tokens()).replace(
          /<wsse:Security>[\s\S]*<\/wsse:Security>/,
          '',
        ),
        // No tokens requested.
        rstBody('alice@localhost', PASSWORD, []),
        // A token without an address.
        rstBody('alice@localhost', PASSWORD, [
          '<wst:RequestSecurityToken Id="RST0"></wst:RequestSecurityToken>',
        ]),
        '<a>1</a><b>2</b>',
      ];
      for (const body of cases) {
        const res = await rst(body);
        assert.equal(res.status, 500, body);
        assert.ok(res.body.includes('<faultcode>S:Client</faultcode>'), res.body);
      }
    });

    it('refuses a DOCTYPE: no entity expansion (billion laughs), no external entities', async () => {
      const lol = [
        '<!ENTITY lol "lol">',
        ...Array.from(
          { length: 9 },
          (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
        ),
      ].join('');
      const bomb = rstBody('alice@localhost', '&lol9;', msn75Tokens()).replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        `<?xml version="1.0"?><!DOCTYPE Envelope [${lol}]>`,
      );
      const xxe = rstBody('alice@localhost', '&xxe;', msn75Tokens()).replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
      );
      for (const body of [bomb, xxe]) {
        const started = Date.now();
        const res = await rst(body.replaceAll('&amp;lol9;', '&lol9;').replaceAll('&amp;xxe;', '&xxe;'));
        assert.equal(res.status, 500);
        assert.ok(res.body.includes('<faultcode>S:Client</faultcode>'));
        assert.ok(!res.body.includes('lollol') && !res.body.includes('root:'));
        assert.ok(Date.now() - started < 2_000, 'answered at once');
      }
      // The server is fine afterwards.
      assert.equal((await request({ path: '/health' })).status, 200);
    });

    it('does not expand an undeclared entity in the credentials', async () => {
      const res = await rst(
        rstBody('alice@localhost', PASSWORD, msn75Tokens()).replace(xmlEscape(PASSWORD), '&xxe;'),
      );
      assert.ok(res.body.includes('wsse:FailedAuthentication'));
    });
  });

  describe('throttling', () => {
    it('after 5 failures for one handle from one address, refuses even its right password, on login2 and RST', async () => {
      for (let i = 0; i < 5; i += 1) {
        assert.equal((await login2(passportAuthorization('alice@localhost', `wrong ${i}`))).status, 401);
      }
      assert.ok((await server.core.loginGuard.perAccount.lockedFor('127.0.0.1|alice@localhost')) > 0);
      const locked = await login2(passportAuthorization('alice@localhost', PASSWORD));
      assert.equal(locked.status, 401);
      assert.equal(locked.headers['authentication-info'], undefined);
      const lockedRst = await rst(rstBody('alice@localhost', PASSWORD, msn75Tokens()));
      assert.ok(lockedRst.body.includes('wsse:FailedAuthentication'));

      // Someone else behind the same address still signs in.
      const bob = await login2(passportAuthorization('bob@localhost', PASSWORD));
      assert.equal(bob.status, 200);
    });

    it('after 50 failures from one address, refuses there the handles that failed, not the others', async () => {
      // Alice mistypes once; then 49 guesses at other handles from the same address.
      assert.equal((await login2(passportAuthorization('alice@localhost', 'typo'))).status, 401);
      for (let i = 0; i < 49; i += 1) {
        const res =
          i % 2 === 0
            ? await login2(passportAuthorization(`nobody${i}@localhost`, PASSWORD))
            : await rst(rstBody(`nobody${i}@localhost`, PASSWORD, msn75Tokens()));
        assert.ok(res.status === 401 || res.body.includes('wsse:FailedAuthentication'));
      }
      assert.ok((await server.core.loginGuard.perAddress.lockedFor('127.0.0.1')) > 0);
      assert.equal((await login2(passportAuthorization('alice@localhost', PASSWORD))).status, 401);
      // Bob never failed from here: his right password is not refused because of the others.
      assert.equal((await login2(passportAuthorization('bob@localhost', PASSWORD))).status, 200);
    });

    it('checks at most 5 passwords from one address, however many arrive at once', async () => {
      const credentials = server.core.credentials;
      const original = credentials.verifyPassword.bind(credentials);
      let checked = 0;
      credentials.verifyPassword = async (handle, password) => {
        checked += 1;
        return original(handle, password);
      };
      try {
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            i % 2 === 0
              ? login2(passportAuthorization('alice@localhost', `guess ${i}`))
              : rst(rstBody('alice@localhost', `guess ${i}`, msn75Tokens())),
          ),
        );
        assert.ok(results.every((r) => r.status === 401 || r.body.includes('wsse:FailedAuthentication')));
        assert.ok(checked <= 5, `${checked} passwords checked`);
      } finally {
        credentials.verifyPassword = original;
      }
    });
  });
});
