/**
 * The chat page (issue 12, `/chat`) over HTTP, without a browser: the page needs a web
 * session and keeps a strict CSP; Converse's files come from node_modules with their
 * types and nothing else does; the token endpoint needs the session and its CSRF token;
 * its token signs in to XMPP with SASL OAUTHBEARER (RFC 7628) over TCP with @xmpp/client,
 * and signing out of the web pages voids it and ends the XMPP session it opened.
 * The browser itself: test/e2e/chat.test.ts.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { describe, it } from 'node:test';
import { WEB_CHAT_TOKENS_PER_LIFETIME } from '../../src/core/web-chat.ts';
import { csrfOf, serverForSuite, signIn, WebClient, type WebResponse } from '../support/web-client.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';

const PASSWORD = 'a long enough passphrase';

/**
 * OAUTHBEARER (RFC 7628 §3.1) for @xmpp/client (a saslmechanisms mechanism), as Converse's
 * Strophe sends it: `n,a=<jid>,` ^A `auth=Bearer <token>` ^A ^A.
 */
class OAuthBearer {
  readonly name = 'OAUTHBEARER';
  readonly clientFirst = true;

  response(credentials: { username?: string; password?: string }): string {
    return `n,a=${credentials.username ?? ''}@localhost,\x01auth=Bearer ${credentials.password ?? ''}\x01\x01`;
  }

  challenge(): this {
    return this;
  }
}

/** What OAUTHBEARER is for: an XMPP sign-in (over STARTTLS on the TCP port) with a token. */
function xmppWithToken(suite: ReturnType<typeof serverForSuite>, handle: string, token: string) {
  return connectXmpp(suite.server, {
    username: handle.split('@')[0] ?? handle,
    password: token,
    mechanism: 'OAUTHBEARER',
    extraMechanisms: [{ name: 'OAUTHBEARER', mechanism: OAuthBearer }],
  });
}

/** The stream error the server ends a live @xmpp/client session with. */
function streamErrorOf(client: TestXmppClient): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no stream error')), 10_000);
    client.xmpp.on('error', (err: { condition?: string }) => {
      clearTimeout(timer);
      resolve(err.condition ?? String(err));
    });
  });
}

/** A GET with the path sent exactly as written (no URL normalisation of `..`). */
function rawGet(base: string, path: string): Promise<number> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function signedIn(base: string, handle: string): Promise<WebClient> {
  const browser = new WebClient(base);
  assert.equal((await signIn(browser, handle, PASSWORD)).status, 303);
  return browser;
}

/** The page's settings, from its data- attributes. */
function dataOf(page: WebResponse): Record<string, string> {
  const main = /<main [^>]*id="papillon-chat"[^>]*>/.exec(page.body)?.[0] ?? '';
  return Object.fromEntries([...main.matchAll(/data-([a-z]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

function tokenRequest(browser: WebClient, csrf: string | undefined): Promise<WebResponse> {
  return browser.request('POST', '/chat/token', {
    headers: { accept: 'application/json', ...(csrf === undefined ? {} : { 'x-csrf-token': csrf }) },
  });
}

describe('the chat page', () => {
  const suite = serverForSuite();

  it('sends a visitor who is not signed in to sign in first, and comes back', async () => {
    const visitor = new WebClient(suite.base);
    const page = await visitor.get('/chat');
    assert.equal(page.status, 303);
    assert.equal(
      new URL(page.location ?? '').pathname + new URL(page.location ?? '').search,
      '/signin?return=%2Fchat',
    );
    await suite.core.accounts.create({ handle: 'ada@localhost', password: PASSWORD });
    const form = await visitor.get('/signin?return=%2Fchat');
    const answer = await visitor.post('/signin', {
      csrf: csrfOf(form.body),
      handle: 'ada@localhost',
      password: PASSWORD,
      return: '/chat',
    });
    assert.equal(answer.status, 303);
    assert.equal(new URL(answer.location ?? '').pathname, '/chat');
  });

  it('is a page with no inline script, a strict script-src, and its settings in data- attributes', async () => {
    await suite.core.accounts.create({ handle: 'bea@localhost', password: PASSWORD });
    const browser = await signedIn(suite.base, 'bea@localhost');
    const page = await browser.get('/chat');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['cache-control'], 'no-store');
    const csp = String(page.headers['content-security-policy']);
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
    // Converse writes style attributes (avatars); <style> elements only from this site.
    assert.deepEqual(directives.get('style-src-elem'), ["'self'"]);
    assert.deepEqual(directives.get('style-src-attr'), ["'unsafe-inline'"]);
    assert.deepEqual(directives.get('default-src'), ["'self'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.ok(!csp.includes('unsafe-eval'));
    // Every <script> has a src, on this site; no event-handler attributes.
    const scripts = [...page.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs ?? '', /src="\/chat\/boot\.js"/);
      assert.equal(body?.trim(), '');
    }
    assert.doesNotMatch(page.body, /\son[a-z]+=/i);
    assert.doesNotMatch(page.body, /https?:\/\//, 'nothing from another site');
    const data = dataOf(page);
    assert.match(data.assets ?? '', /^\/chat\/assets\/\d+\.\d+\.\d+$/);
    assert.equal(data.websocket, '/xmpp-websocket');
    assert.equal(data.credentials, '/chat/token');
    assert.equal(data.csrf, csrfOf(page.body), 'the session’s CSRF token (as in the sign-out form)');
    assert.match(page.body, /<converse-root><\/converse-root>/);
    // The password is nowhere in it.
    assert.ok(!page.body.includes(PASSWORD));
    // The other pages link to it, and keep their own policy.
    const account = await browser.get('/account');
    assert.match(account.body, /<a href="\/chat">Chat<\/a>/);
    assert.equal(
      account.headers['content-security-policy'],
      "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
  });

  it('serves Converse from node_modules with its types and long caching, and nothing else', async () => {
    await suite.core.accounts.create({ handle: 'cid@localhost', password: PASSWORD });
    const browser = await signedIn(suite.base, 'cid@localhost');
    const assets = dataOf(await browser.get('/chat')).assets ?? '';
    const visitor = new WebClient(suite.base);
    const boot = await visitor.get('/chat/boot.js');
    assert.equal(boot.status, 200);
    assert.equal(boot.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.match(boot.body, /converse\.initialize\(/);
    assert.equal((await visitor.get('/chat/chat.css')).headers['content-type'], 'text/css; charset=utf-8');
    const expected: Array<[string, RegExp]> = [
      ['converse.min.js', /^text\/javascript/],
      ['converse.min.css', /^text\/css/],
      ['emoji.json', /^application\/json/],
      ['webfonts/muli.ttf', /^font\/ttf$/],
      ['images/logo/conversejs-filled.svg', /^image\/svg\+xml$/],
      ['sounds/msg_received.ogg', /^audio\/ogg$/],
      // Loaded lazily, relative to the bundle: a translation and a date format.
      ['chunkjs/locales/fr-LC_MESSAGES-converse-po.js', /^text\/javascript/],
      ['chunkjs/locales/dayjs/en-js.js', /^text\/javascript/],
    ];
    for (const [file, type] of expected) {
      const res = await visitor.get(`${assets}/${file}`);
      assert.equal(res.status, 200, file);
      assert.match(String(res.headers['content-type']), type, file);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable', file);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', file);
    }
    const bundle = await visitor.get(`${assets}/converse.min.js`);
    assert.ok(bundle.bytes.length > 500_000);
    const again = await visitor.get(`${assets}/converse.min.js`, {
      'if-none-match': String(bundle.headers.etag),
    });
    assert.equal(again.status, 304);
    // OMEMO's library and WebAssembly, source maps, the unminified build, the package's other files.
    for (const file of [
      'libomemo.esm.min.js',
      'curve25519_compiled.wasm',
      'converse.min.js.map',
      'converse.js',
      'manifest.json',
      'shared-connection-worker.js',
      'sounds/README',
      'chunkjs/locales/fr-LC_MESSAGES-converse-po.js.map',
      '',
      'webfonts',
    ]) {
      assert.equal((await visitor.get(`${assets}/${file}`)).status, 404, file);
    }
    // Nothing outside dist/, however the path is spelled.
    for (const path of [
      `${assets}/../../package.json`,
      `${assets}/../converse.min.js`,
      `${assets}/%2e%2e/%2e%2e/%2e%2e/package.json`,
      `${assets}/..%2f..%2fpackage.json`,
      `${assets}/..%5c..%5cpackage.json`,
      `${assets}/%2fetc%2fpasswd`,
      `${assets}//etc/passwd`,
      `${assets}/webfonts/../../../package.json`,
      `${assets}/./converse.min.js`,
      '/chat/assets/0.0.1/converse.min.js',
    ]) {
      assert.equal(await rawGet(suite.base, path), 404, path);
    }
  });

  it('gives a token only to a signed-in session that sends its CSRF token, and it signs in to XMPP with OAUTHBEARER', async () => {
    await suite.core.accounts.create({ handle: 'dan@localhost', password: PASSWORD, displayName: 'Dan' });
    assert.equal((await tokenRequest(new WebClient(suite.base), undefined)).status, 401);
    const browser = await signedIn(suite.base, 'dan@localhost');
    const csrf = dataOf(await browser.get('/chat')).csrf ?? '';
    assert.equal((await tokenRequest(browser, undefined)).status, 403);
    assert.equal((await tokenRequest(browser, 'x'.repeat(43))).status, 403);
    // A form post (what another site's page could send) carries no header: refused too.
    assert.equal((await browser.post('/chat/token', { csrf })).status, 403);
    assert.equal((await browser.get('/chat/token')).status, 404);
    // Another site's script could send the header only after a CORS preflight, which is not granted.
    const preflight = await browser.request('OPTIONS', '/chat/token', {
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-csrf-token',
      },
    });
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    assert.equal(preflight.headers['access-control-allow-headers'], undefined);

    const answer = await tokenRequest(browser, csrf);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['cache-control'], 'no-store');
    const { jid, password, expires_in } = answer.json as {
      jid: string;
      password: string;
      expires_in: number;
    };
    assert.equal(jid, 'dan@localhost');
    assert.match(password, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(expires_in > 0 && expires_in <= 600, `expires_in ${expires_in}`);

    const xmpp = await xmppWithToken(suite, jid, password);
    assert.match(xmpp.jid, /^dan@localhost\//);
    await xmpp.stop();
    // The account page shows what holds access, and it can be taken back there too.
    assert.match((await browser.get('/account')).body, /Papillon chat page/);
  });

  it('signing out of the web pages ends the XMPP session and voids the token; another sign-in keeps its own', async () => {
    await suite.core.accounts.create({ handle: 'eve@localhost', password: PASSWORD });
    const leaving = await signedIn(suite.base, 'eve@localhost');
    const staying = await signedIn(suite.base, 'eve@localhost');
    const tokenOf = async (browser: WebClient) => {
      const csrf = dataOf(await browser.get('/chat')).csrf ?? '';
      return ((await tokenRequest(browser, csrf)).json as { password: string }).password;
    };
    const token = await tokenOf(leaving);
    const otherToken = await tokenOf(staying);
    const chat = await xmppWithToken(suite, 'eve@localhost', token);
    const otherChat = await xmppWithToken(suite, 'eve@localhost', otherToken);
    try {
      const ended = streamErrorOf(chat);
      const signOut = await leaving.post('/signout', { csrf: csrfOf((await leaving.get('/account')).body) });
      assert.equal(signOut.status, 303);
      assert.equal(await ended, 'not-authorized');
      await assert.rejects(xmppWithToken(suite, 'eve@localhost', token), /not-authorized/);
      assert.equal((await tokenRequest(leaving, undefined)).status, 401);
      // The other web session's chat goes on.
      const pong = await otherChat.iq(
        xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })),
      );
      assert.equal(pong.attrs.type, 'result');
    } finally {
      await chat.stop();
      await otherChat.stop();
    }
  });

  it('a password change ends the chat pages of the other browsers, not its own', async () => {
    await suite.core.accounts.create({ handle: 'gus@localhost', password: PASSWORD });
    const other = await signedIn(suite.base, 'gus@localhost');
    const changing = await signedIn(suite.base, 'gus@localhost');
    const tokenOf = async (browser: WebClient) => {
      const csrf = dataOf(await browser.get('/chat')).csrf ?? '';
      return ((await tokenRequest(browser, csrf)).json as { password: string }).password;
    };
    const otherToken = await tokenOf(other);
    const ownToken = await tokenOf(changing);
    const otherChat = await xmppWithToken(suite, 'gus@localhost', otherToken);
    const ownChat = await xmppWithToken(suite, 'gus@localhost', ownToken);
    try {
      const ended = streamErrorOf(otherChat);
      const changed = await changing.post('/account/password', {
        csrf: csrfOf((await changing.get('/account')).body),
        current: PASSWORD,
        password: 'another long passphrase',
        confirm: 'another long passphrase',
      });
      assert.equal(changed.status, 303);
      assert.equal(await ended, 'not-authorized');
      // Whoever held the other browser cannot sign in to chat again with a token it already had.
      await assert.rejects(xmppWithToken(suite, 'gus@localhost', otherToken), /not-authorized/);
      const pong = await ownChat.iq(
        xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })),
      );
      assert.equal(pong.attrs.type, 'result');
    } finally {
      await otherChat.stop();
      await ownChat.stop();
    }
  });

  it('limits how many tokens one session gets', async () => {
    await suite.core.accounts.create({ handle: 'fay@localhost', password: PASSWORD });
    const browser = await signedIn(suite.base, 'fay@localhost');
    const csrf = dataOf(await browser.get('/chat')).csrf ?? '';
    for (let i = 0; i < WEB_CHAT_TOKENS_PER_LIFETIME; i++) {
      assert.equal((await tokenRequest(browser, csrf)).status, 200);
    }
    const refused = await tokenRequest(browser, csrf);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers['retry-after']) > 0);
  });
});
