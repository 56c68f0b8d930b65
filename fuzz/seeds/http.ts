import { AB_REQUESTS, OIM_REQUESTS, RST_RENEWAL, RST_REQUEST, STORAGE_REQUESTS } from './soap.ts';

/**
 * HTTP requests as raw HTTP/1.1 text, so byte mutations reach the method, the path,
 * the query, the headers, the cookies and the body alike. `@NAME@` placeholders are
 * filled at each check with the harness's live credentials (http-state.ts): a web
 * session and its CSRF token, Passport tickets, OAuth tokens and client.
 */

function request(method: string, url: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [`${method} ${url} HTTP/1.1`, 'Host: localhost'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

const SIGNED_IN = { Cookie: 'papillon_session=@SESSION@' };
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded', ...SIGNED_IN };
const XML = { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '""' };
const GATEWAY = { 'Content-Type': 'application/x-msn-messenger' };
/** A form body; `@NAME@` placeholders stay unescaped so they are filled in. */
const form = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%40([A-Z]+)%40/g, '@$1@')}`)
    .join('&');

const MULTIPART_BODY =
  '--XyZ\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n@CSRF@\r\n--XyZ\r\nContent-Disposition: form-data; name="avatar"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\xdac\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82\r\n--XyZ--\r\n';

export const HTTP_SEEDS: readonly string[] = [
  // Passport, MSN web services (src/msnp/services).
  request('POST', '/RST.srf', XML, RST_REQUEST),
  request('POST', '/RST2.srf', XML, RST_REQUEST),
  request('POST', '//RST.srf', XML, RST_RENEWAL),
  request('GET', '/rdr/pprdr.asp'),
  request('GET', '/login2.srf', {
    Authorization:
      'Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=@USER@,pwd=@PASSWORD@,lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1062764229,kpp=1,kv=5,ver=2.1.0173.1,tpf=43f8a4c8ed940c04e3740be46c4d1619',
  }),
  ...AB_REQUESTS.slice(0, 7).map((b) => request('POST', '/abservice/abservice.asmx', XML, b)),
  ...AB_REQUESTS.slice(7).map((b) => request('POST', '/abservice/SharingService.asmx', XML, b)),
  request('POST', '/abservice/abservice.asmx', { ...XML, Cookie: 'MSPAuth=@T@' }, AB_REQUESTS[0]),
  request('POST', '/OimWS/oim.asmx', XML, OIM_REQUESTS[0]),
  ...OIM_REQUESTS.slice(1).map((b) => request('POST', '/rsi/rsi.asmx', XML, b)),
  ...STORAGE_REQUESTS.map((b) => request('POST', '/storageservice/SchematizedStore.asmx', XML, b)),
  request('GET', '/Config/MsgrConfig.asmx'),
  request(
    'POST',
    '/Config/MsgrConfig.asmx',
    XML,
    '<soap:Envelope><soap:Body><GetClientConfig/></soap:Body></soap:Envelope>',
  ),
  // The MSNP HTTP gateway (src/msnp/gateway).
  request(
    'POST',
    '/gateway/gateway.dll?Action=open&Server=NS&IP=messenger.hotmail.com',
    GATEWAY,
    'VER 1 MSNP12 MSNP11 CVR0\r\nCVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.5.0324 msmsgs @USER@\r\nUSR 3 TWN I @USER@\r\n',
  ),
  request('POST', '/gateway/gateway.dll?SessionID=1.2.3&Action=poll', GATEWAY),
  request(
    'POST',
    '/gateway/gateway.dll?Action=open&Server=SB&IP=127.0.0.1',
    GATEWAY,
    'USR 1 @USER@ 123.456\r\n',
  ),
  request('OPTIONS', '/gateway/gateway.dll', { 'Access-Control-Request-Headers': 'Content-Type' }),
  // Web pages (src/http/web).
  request('GET', '/', SIGNED_IN),
  request('GET', '/signin?return=%2Faccount'),
  request(
    'POST',
    '/signin',
    { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: 'papillon_form=@FORMCSRF@' },
    form({ handle: '@USER@', password: '@PASSWORD@', csrf: '@FORMCSRF@', return: '/account' }),
  ),
  request('GET', '/signup'),
  request(
    'POST',
    '/signup',
    { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: 'papillon_form=@FORMCSRF@' },
    form({
      name: 'newbie',
      displayName: 'New',
      password: 'a long password',
      confirm: 'a long password',
      invite: '',
      csrf: '@FORMCSRF@',
    }),
  ),
  request('POST', '/signout', FORM, form({ csrf: '@CSRF@' })),
  request('GET', '/account', SIGNED_IN),
  request('POST', '/account/name', FORM, form({ csrf: '@CSRF@', displayName: 'Alice ☕' })),
  request('POST', '/account/message', FORM, form({ csrf: '@CSRF@', text: 'at lunch' })),
  request(
    'POST',
    '/account/password',
    FORM,
    form({ csrf: '@CSRF@', current: '@PASSWORD@', password: '@PASSWORD@', confirm: '@PASSWORD@' }),
  ),
  request(
    'POST',
    '/account/avatar',
    { 'Content-Type': 'multipart/form-data; boundary=XyZ', ...SIGNED_IN },
    MULTIPART_BODY,
  ),
  request('GET', '/account/avatar', SIGNED_IN),
  request(
    'POST',
    '/account/clients',
    FORM,
    form({ csrf: '@CSRF@', name: 'My app', redirect_uris: 'https://app.example/cb', type: 'confidential' }),
  ),
  request('POST', '/account/apps/revoke', FORM, form({ csrf: '@CSRF@', client_id: '@CLIENT@' })),
  request('POST', '/account/clients/delete', FORM, form({ csrf: '@CSRF@', client_id: 'nope' })),
  request('POST', '/account/avatar/remove', FORM, form({ csrf: '@CSRF@' })),
  request('GET', '/account/delete', SIGNED_IN),
  request('POST', '/account/delete', FORM, form({ csrf: '@CSRF@', confirm: 'someone-else@localhost' })),
  request('GET', '/connect', SIGNED_IN),
  request('GET', '/connect/ca.crt'),
  request('GET', '/static/papillon.css', { 'If-None-Match': '"x"' }),
  request('GET', '/favicon.ico'),
  request('GET', '/chat', SIGNED_IN),
  request('POST', '/chat/token', { ...SIGNED_IN, 'X-CSRF-Token': '@CSRF@' }),
  request('GET', '/admin', { ...SIGNED_IN, Accept: 'text/html' }),
  request('GET', '/admin/users?q=a&page=2', SIGNED_IN),
  request('GET', '/admin/user?handle=@CONTACT@', SIGNED_IN),
  request('GET', '/admin/sessions', SIGNED_IN),
  request('POST', '/admin/signup', FORM, form({ csrf: '@CSRF@', mode: 'invite' })),
  request('POST', '/admin/invites', FORM, form({ csrf: '@CSRF@', expires: '24' })),
  request('POST', '/admin/broadcast', FORM, form({ csrf: '@CSRF@', message: 'maintenance at 5' })),
  request('POST', '/admin/users/kick', FORM, form({ csrf: '@CSRF@', handle: '@CONTACT@' })),
  // OAuth 2.0 (src/http/oauth).
  request(
    'GET',
    '/oauth20_authorize.srf?client_id=@CLIENT@&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&response_type=code&scope=wl.messenger%20wl.offline_access&state=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256',
    SIGNED_IN,
  ),
  request(
    'POST',
    '/oauth/authorize',
    FORM,
    form({
      csrf: '@CSRF@',
      client_id: '@CLIENT@',
      redirect_uri: 'https://app.example/cb',
      response_type: 'token',
      scope: 'wl.messenger',
      decision: 'allow',
    }),
  ),
  request(
    'POST',
    '/oauth20_token.srf',
    { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Basic @BASIC@' },
    form({ grant_type: 'refresh_token', refresh_token: '@REFRESH@' }),
  ),
  request(
    'POST',
    '/oauth/token',
    { 'Content-Type': 'application/x-www-form-urlencoded' },
    form({
      grant_type: 'authorization_code',
      code: 'abc',
      redirect_uri: 'https://app.example/cb',
      client_id: '@CLIENT@',
      client_secret: '@SECRET@',
      code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
    }),
  ),
  request(
    'POST',
    '/oauth/revoke',
    { 'Content-Type': 'application/x-www-form-urlencoded' },
    form({ token: '@ACCESS@', client_id: '@CLIENT@', client_secret: '@SECRET@' }),
  ),
  request(
    'POST',
    '/oauth/introspect',
    { 'Content-Type': 'application/json', Authorization: 'Basic @BASIC@' },
    '{"token":"@ACCESS@"}',
  ),
  request('OPTIONS', '/oauth/token', {
    Origin: 'https://app.example',
    'Access-Control-Request-Method': 'POST',
  }),
  request('GET', '/oauth20_desktop.srf?code=abc&lc=1033'),
  request('GET', '/.well-known/oauth-authorization-server'),
  request('GET', '/v5.0/me?access_token=@ACCESS@'),
  request('GET', '/v5.0/me', { Authorization: 'Bearer @ACCESS@' }),
  // XMPP for web clients and health.
  request('GET', '/xmpp-websocket', {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Protocol': 'xmpp',
  }),
  request('GET', '/.well-known/host-meta'),
  request('GET', '/.well-known/host-meta.json'),
  request('GET', '/health'),
  request('HEAD', '/nowhere', { Accept: 'text/html' }),
];

export const HTTP_DICTIONARY: readonly string[] = [
  'Content-Type: application/json\r\n',
  'Content-Type: application/x-www-form-urlencoded\r\n',
  'Content-Type: multipart/form-data; boundary=XyZ\r\n',
  'Content-Type: text/xml\r\n',
  'Content-Type: \r\n',
  'Cookie: papillon_session=@SESSION@; papillon_form=@FORMCSRF@\r\n',
  'Cookie: =; ;;a\r\n',
  'Authorization: Bearer @ACCESS@\r\n',
  'Authorization: Basic @BASIC@\r\n',
  'Authorization: Basic\r\n',
  'Accept: text/html\r\n',
  'X-Forwarded-For: 1.2.3.4\r\n',
  'Origin: https://evil.example\r\n',
  'If-None-Match: *\r\n',
  'Range: bytes=0-1\r\n',
  '?a=1&a=2',
  '&return=//evil.example',
  '&return=/%E4%B8%AD%E6%96%87',
  '&redirect_uri=javascript:alert(1)',
  '&scope=',
  '%2e%2e%2f',
  '{"a":',
  '[]',
  'null',
  '{"__proto__":{"x":1}}',
  '--XyZ\r\n',
  '--XyZ--\r\n',
  'csrf=@CSRF@&',
  '@SESSION@',
  '@CSRF@',
  '@T@',
  '@USER@',
];
