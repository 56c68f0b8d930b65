/**
 * Issue 13 item 7, the HTTP side: a non-ASCII return path after sign-in, secrets in
 * URLs kept out of the logs, HSTS on HTTPS when `publicUrl` is https, and OAuth client
 * secrets throttled like passwords. Real servers, real sockets from several loopback
 * addresses (127.0.0.1, .2, .3) as different clients.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { redactUrl } from '../../src/http/request-log.ts';
import { localReturnPath } from '../../src/http/web/security.ts';
import { capturingLogger } from '../support/capturing-logger.ts';
import { httpsRequest, startTestServer, type TestServer } from '../support/papillon-server.ts';
import { csrfOf, WebClient } from '../support/web-client.ts';

const PASSWORD = 'correct horse battery';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown> | undefined;
}

/** One plain-HTTP request from the loopback address `from`. */
function httpFrom(
  port: number,
  from: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; form?: Record<string, string> } = {},
): Promise<Reply> {
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress: from,
        method,
        path,
        agent: false,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {}
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP hardening (default configuration)', () => {
  const log = capturingLogger('debug', 'json');
  let server: TestServer;
  let port: number;

  before(async () => {
    server = await startTestServer({ PAPILLON_LOG_LEVEL: 'debug' }, { logger: log.logger });
    port = server.port('http');
    await server.server.core.accounts.create({ handle: 'ines@localhost', password: PASSWORD });
  });
  after(() => server.stop());

  it('percent-encodes a non-ASCII return path, and refuses one that is not text', () => {
    assert.equal(localReturnPath('/中文'), '/%E4%B8%AD%E6%96%87');
    assert.equal(localReturnPath('/a b?q=é#x'), '/a%20b?q=%C3%A9#x');
    assert.equal(localReturnPath('/%E4%B8%AD?x=1'), '/%E4%B8%AD?x=1', 'already encoded: unchanged');
    assert.equal(localReturnPath('/\uD800'), undefined);
  });

  it('POST /signin with return=/中文 signs in and goes there (was a 500 without a session cookie)', async () => {
    const browser = new WebClient(`http://127.0.0.1:${port}`);
    const form = await browser.get('/signin?return=%2F%E4%B8%AD%E6%96%87');
    assert.equal(form.status, 200);
    const done = await browser.post('/signin', {
      csrf: csrfOf(form.body),
      handle: 'ines',
      password: PASSWORD,
      return: '/中文',
    });
    assert.equal(done.status, 303, done.body);
    assert.equal(done.headers.location, '/%E4%B8%AD%E6%96%87');
    assert.ok(browser.cookies.size > 0, 'a session cookie was set');
    // Signed in, the sign-in page sends the browser on to the same place.
    const again = await browser.get('/signin?return=%2F%E4%B8%AD%E6%96%87');
    assert.equal(again.status, 303);
    assert.equal(again.headers.location, '/%E4%B8%AD%E6%96%87');
    const account = await browser.get('/account');
    assert.equal(account.status, 200, 'the session works');
  });

  it('keeps tokens, codes, secrets and passwords in URLs out of every log line', async () => {
    const secrets = ['S3cr3t-A', 'S3cr3t-B', 'S3cr3t-C', 'S3cr3t-D', 'S3cr3t-E', 'S3cr3t-F'];
    await httpFrom(port, '127.0.0.1', 'GET', `/v5.0/me?access_token=${secrets[0]}&pretty=false`);
    // The server reads `access%5Ftoken` as access_token too.
    await httpFrom(port, '127.0.0.1', 'GET', `/v5.0/me?access%5Ftoken=${secrets[1]}`);
    await httpFrom(port, '127.0.0.1', 'GET', `/v5.0/me?Access_Token=${secrets[2]}`);
    await httpFrom(port, '127.0.0.1', 'GET', `/nowhere?x=1;password=${secrets[3]}`);
    await httpFrom(port, '127.0.0.1', 'POST', `/oauth/token?client_secret=${secrets[4]}&code=${secrets[5]}`);
    const text = log.text();
    for (const secret of secrets) assert.equal(text.includes(secret), false, `${secret} is in the log`);
    assert.match(text, /"url":"\/v5\.0\/me\?access%5Ftoken=\[redacted\]"/);
    assert.match(text, /"url":"\/v5\.0\/me\?access_token=\[redacted\]&pretty=false"/);
  });

  it('redacts by the decoded parameter name, and leaves the rest of the URL alone', () => {
    assert.equal(redactUrl('/a?x=1&y=2'), '/a?x=1&y=2');
    assert.equal(redactUrl('/a?t=T&p=P&tx=1'), '/a?t=[redacted]&p=[redacted]&tx=1');
    assert.equal(redactUrl('/a?client%5Fsecret=S&b=1'), '/a?client%5Fsecret=[redacted]&b=1');
    assert.equal(
      redactUrl('/a?refresh+token=x&refresh_token=y'),
      '/a?refresh+token=x&refresh_token=[redacted]',
    );
  });

  it('sends no HSTS when publicUrl is not https, over HTTPS or HTTP', async () => {
    assert.equal(
      (await httpsRequest(server, { path: '/health' })).headers['strict-transport-security'],
      undefined,
    );
    assert.equal(
      (await httpFrom(port, '127.0.0.1', 'GET', '/health')).headers['strict-transport-security'],
      undefined,
    );
  });
});

describe('HSTS with an https publicUrl', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      PAPILLON_PUBLIC_URL: 'https://localhost',
      PAPILLON_TRUST_PROXY: '127.0.0.2',
    });
  });
  after(() => server.stop());

  it('marks HTTPS responses (pages, web services, errors), never plain HTTP ones', async () => {
    for (const path of ['/health', '/signin', '/no-such-page']) {
      const res = await httpsRequest(server, { path });
      assert.equal(res.headers['strict-transport-security'], 'max-age=31536000', path);
    }
    const plain = await httpFrom(server.port('http'), '127.0.0.1', 'GET', '/health');
    assert.equal(plain.headers['strict-transport-security'], undefined);
    // Only a trusted proxy's X-Forwarded-Proto says the client's leg was TLS.
    const forged = await httpFrom(server.port('http'), '127.0.0.1', 'GET', '/health', {
      headers: { 'x-forwarded-proto': 'https' },
    });
    assert.equal(forged.headers['strict-transport-security'], undefined);
    const proxied = await httpFrom(server.port('http'), '127.0.0.2', 'GET', '/health', {
      headers: { 'x-forwarded-proto': 'https' },
    });
    assert.equal(proxied.headers['strict-transport-security'], 'max-age=31536000');
  });
});

describe('OAuth client secrets are throttled like passwords', () => {
  let server: TestServer;
  let port: number;
  let clientId: string;
  let secret: string;

  before(async () => {
    server = await startTestServer();
    port = server.port('http');
    const registered = await server.server.core.oauth.registerClient({
      name: 'Backend',
      redirectUris: ['https://app.example/cb'],
      confidential: true,
      ownerId: null,
    });
    clientId = registered.client.id;
    secret = registered.secret ?? '';
  });
  after(() => server.stop());

  /** RFC 7662 introspection: 200 once the client has authenticated, 401 invalid_client otherwise. */
  const introspect = (from: string, clientSecret: string, id = clientId) =>
    httpFrom(port, from, 'POST', '/oauth/introspect', {
      form: { token: 'no-such-token', client_id: id, client_secret: clientSecret },
    });

  it('locks the (address, client) pair after 5 wrong secrets; the right secret still works from elsewhere', async () => {
    assert.equal((await introspect('127.0.0.1', secret)).status, 200);
    for (let i = 0; i < 5; i++) {
      const wrong = await introspect('127.0.0.1', `guess-${i}`);
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json?.error, 'invalid_client');
      assert.equal(wrong.headers['retry-after'], undefined);
    }
    // Locked: even the right secret is refused from there, and it says when to try again.
    const locked = await introspect('127.0.0.1', secret);
    assert.equal(locked.status, 401);
    assert.equal(locked.json?.error, 'invalid_client');
    assert.equal(locked.headers['retry-after'], '60');
    // Another address that did not fail is not affected.
    const elsewhere = await introspect('127.0.0.2', secret);
    assert.equal(elsewhere.status, 200);
    assert.deepEqual(elsewhere.json, { active: false });
  });

  it('counts failures per address across clients, yet never refuses a right secret the address did not fail', async () => {
    // 50 wrong secrets for 50 (unknown) clients from one address lock the address…
    for (let i = 0; i < 50; i++) {
      const res = await introspect('127.0.0.3', 'guess', `sprayed-${i}`);
      assert.equal(res.status, 401, `spray ${i}`);
    }
    const sprayed = await introspect('127.0.0.3', 'guess-again', 'sprayed-0');
    assert.equal(sprayed.headers['retry-after'], '60', 'a sprayed pair is refused at once');
    // …but the real client, which never failed from there, still gets in.
    assert.equal((await introspect('127.0.0.3', secret)).status, 200);
  });
});
