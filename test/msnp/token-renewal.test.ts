import assert from 'node:assert/strict';
import { createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { abSoap, FIND_PAGED } from '../support/abch-client.ts';
import { ssoTokens } from '../support/msnp-login.ts';
import { httpsRequest, startTestServer, type TestServer } from '../support/papillon-server.ts';

const PASSWORD = 'pw-pw-pw-pw';

/** Pidgin's rps_create_key (retro-prpl msn/nexus.c), step by step as it computes it. */
function pidginKey(secret: Buffer, data: Buffer): Buffer {
  const magic = Buffer.from('WS-SecureConversation');
  const hmac = (...parts: Buffer[]) =>
    parts.reduce((h, p) => h.update(p), createHmac('sha1', secret)).digest();
  const hash1 = hmac(magic, data);
  const hash2 = hmac(hash1, magic, data);
  const hash3 = hmac(hash1);
  const hash4 = hmac(hash3, magic, data);
  return Buffer.concat([hash2, hash4.subarray(0, 4)]);
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The token-update request of msn_nexus_update_token (msn/nexus.h MSN_SSO_TOKEN_UPDATE_TEMPLATE). */
function updateRequest(options: {
  cipher: string;
  secret: Buffer;
  domain: string;
  policy: string;
  now?: number;
  tamper?: boolean;
}): string {
  const sha1 = (s: string) => createHash('sha1').update(s).digest('base64');
  const id = 2;
  const rst = `<wst:RequestSecurityToken xmlns="http://schemas.xmlsoap.org/ws/2004/04/trust" Id="RST${id}"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo xmlns="http://schemas.xmlsoap.org/ws/2002/12/policy"><wsa:EndpointReference xmlns="http://schemas.xmlsoap.org/ws/2004/03/addressing"><wsa:Address>${options.domain}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo><wsse:PolicyReference xmlns="http://schemas.xmlsoap.org/ws/2003/06/secext" URI="${options.policy}"></wsse:PolicyReference></wst:RequestSecurityToken>`;
  const now = options.now ?? Date.now();
  const timestamp = `<wsu:Timestamp xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" Id="Timestamp"><wsu:Created>${iso(now)}</wsu:Created><wsu:Expires>${iso(now + 5 * 60 * 1000)}</wsu:Expires></wsu:Timestamp>`;
  const ref = (uri: string, digest: string) =>
    `<Reference URI="${uri}"><Transforms><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></Transform></Transforms><DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"></DigestMethod><DigestValue>${digest}</DigestValue></Reference>`;
  const signedInfo = `<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></CanonicalizationMethod><SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"></SignatureMethod>${ref(`#RST${id}`, sha1(rst))}${ref('#Timestamp', sha1(timestamp))}${ref('#PPAuthInfo', 'PxdXqrt9kd+UCl5fSWqSvzJHMHc=')}</SignedInfo>`;
  const nonce = randomBytes(24);
  const key = pidginKey(options.secret, nonce);
  const signature = createHmac('sha1', key)
    .update(options.tamper ? signedInfo.replace('#RST2', '#RST3') : signedInfo)
    .digest('base64');
  return `<?xml version="1.0" encoding="utf-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wssc="http://schemas.xmlsoap.org/ws/2004/04/sc" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust"><Header><ps:AuthInfo xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="PPAuthInfo"><ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}</ps:HostingApp><ps:BinaryVersion>4</ps:BinaryVersion><ps:UIVersion>1</ps:UIVersion><ps:Cookies></ps:Cookies><ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams></ps:AuthInfo><wsse:Security><EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#" Id="BinaryDAToken0" Type="http://www.w3.org/2001/04/xmlenc#Element"><EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#tripledes-cbc"></EncryptionMethod><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:KeyName>http://Passport.NET/STS</ds:KeyName></ds:KeyInfo><CipherData><CipherValue>${options.cipher}</CipherValue></CipherData></EncryptedData><wssc:DerivedKeyToken Id="SignKey"><wsse:RequestedTokenReference><wsse:KeyIdentifier ValueType="http://docs.oasis-open.org/wss/2004/XX/oasis-2004XX-wss-saml-token-profile-1.0#SAMLAssertionID" /><wsse:Reference URI="#BinaryDAToken0" /></wsse:RequestedTokenReference><wssc:Nonce>${nonce.toString('base64')}</wssc:Nonce></wssc:DerivedKeyToken>${timestamp}<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">${signedInfo}<SignatureValue>${signature}</SignatureValue><KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#SignKey" /></wsse:SecurityTokenReference></KeyInfo></Signature></wsse:Security></Header><Body>${rst}</Body></Envelope>`;
}

/** What nexus_got_update_cb does with the answer: the EncKey nonce, 3DES-CBC, read up to the first NUL. */
function decryptUpdate(body: string, secret: Buffer): string {
  const encKey = /<wssc:DerivedKeyToken[^>]*Id="EncKey"[^>]*><wssc:Nonce>([^<]+)</.exec(body);
  assert.ok(encKey, body);
  const cipher = /:Body><EncryptedData[\s\S]*?<CipherValue>([^<]+)<\/CipherValue>/.exec(body)?.[1];
  assert.ok(cipher, body);
  const key = pidginKey(secret, Buffer.from(encKey[1] ?? '', 'base64'));
  const decipher = createDecipheriv('des-ede3-cbc', key, Buffer.alloc(8));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(Buffer.from(cipher, 'base64')), decipher.final()]);
  const end = plain.indexOf(0);
  assert.ok(end >= 0, 'the plaintext is NUL-terminated inside the buffer');
  return plain.subarray(0, end).toString('utf8');
}

describe('Passport token renewal (Pidgin msn_nexus_update_token)', () => {
  let server: TestServer;
  let cipher = '';
  let secret = Buffer.alloc(0);
  const post = (body: string) =>
    httpsRequest(server, {
      path: '//RST.srf',
      method: 'POST',
      servername: 'login.live.com',
      headers: { Host: 'login.live.com', 'Content-Type': 'text/xml; charset=utf-8' },
      body,
    });

  before(async () => {
    server = await startTestServer();
    await server.server.core.accounts.create({
      privacy: 'allow-all',
      handle: 'ren@localhost',
      password: PASSWORD,
      displayName: 'Ren',
    });
    const sso = await ssoTokens(server, 'ren@localhost', PASSWORD, { path: '//RST.srf' });
    // nexus_parse_collection: the Passport.NET/tb response's CipherValue and BinarySecret.
    const legacy =
      /<wst:RequestSecurityTokenResponse>((?:(?!<\/wst:RequestSecurityTokenResponse>).)*http:\/\/Passport\.NET\/tb.*?)<\/wst:RequestSecurityTokenResponse>/.exec(
        sso.body,
      )?.[1];
    assert.ok(legacy, sso.body);
    cipher = /<CipherValue>([^<]+)</.exec(legacy)?.[1] ?? '';
    secret = Buffer.from(/<wst:BinarySecret>([^<]+)</.exec(legacy)?.[1] ?? '', 'base64');
    assert.equal(secret.length, 24);
  });
  after(async () => {
    await server.stop();
  });

  it('a request signed with the Passport token’s proof key gets a fresh contacts token the address book accepts', async () => {
    const res = await post(updateRequest({ cipher, secret, domain: 'contacts.msn.com', policy: 'MBI' }));
    assert.equal(res.status, 200, res.body);
    const xml = decryptUpdate(res.body, secret);
    assert.match(xml, /^<wst:RequestSecurityTokenResponse xmlns:wst=/, xml);
    assert.match(xml, /<wsa:Address>contacts\.msn\.com<\/wsa:Address>/, xml);
    assert.match(
      xml,
      /<wst:LifeTime><wsu:Created>[^<]+<\/wsu:Created><wsu:Expires>[^<]+<\/wsu:Expires>/,
      xml,
    );
    const token = /<wsse:BinarySecurityToken Id="Compact\d+">([^<]+)</.exec(xml)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(token, xml);
    const ab = await abSoap(server, 'abservice.asmx', 'ABFindContactsPaged', token, FIND_PAGED);
    assert.equal(ab.status, 200, ab.raw);
    assert.equal(ab.body?.Fault, undefined, ab.raw);
  });

  it('a wrong signature, an unknown Passport token or an expired timestamp is FailedAuthentication', async () => {
    const cases = [
      updateRequest({ cipher, secret, domain: 'contacts.msn.com', policy: 'MBI', tamper: true }),
      updateRequest({ cipher, secret: randomBytes(24), domain: 'contacts.msn.com', policy: 'MBI' }),
      updateRequest({
        cipher: Buffer.from('x'.repeat(43)).toString('base64'),
        secret,
        domain: 'contacts.msn.com',
        policy: 'MBI',
      }),
      updateRequest({
        cipher,
        secret,
        domain: 'contacts.msn.com',
        policy: 'MBI',
        now: Date.now() - 60 * 60 * 1000,
      }),
    ];
    for (const body of cases) {
      const res = await post(body);
      assert.match(res.body, /wsse:FailedAuthentication/, res.body);
      assert.doesNotMatch(res.body, /BinarySecurityToken/);
    }
  });
});
