/**
 * The web pages against a running server: sign-up modes, sign-in with throttling,
 * sign-out, CSRF on every form, the account page's changes as core sees them,
 * HTML escaping, cookies (Secure over HTTPS) and security headers.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MultipartBody, parseMultipart } from '../../src/http/web/forms.ts';
import { escapeHtml, html, raw } from '../../src/http/web/html.ts';
import { localReturnPath } from '../../src/http/web/security.ts';
import { loadConfig } from '../../src/server/config.ts';
import { isPapillonError } from '../../src/util/errors.ts';
import { LEGACY_MSN_HOSTS } from '../../src/util/msn-hosts.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import { csrfOf, serverForSuite, signIn, WebClient, type WebResponse } from '../support/web-client.ts';
import { RawXmppClient, targetOf } from '../support/xmpp-raw.ts';

const PASSWORD = 'correct horse battery';

/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

async function signUp(browser: WebClient, fields: Record<string, string>): Promise<WebResponse> {
  const form = await browser.get('/signup');
  return browser.post('/signup', { csrf: csrfOf(form.body), ...fields });
}

describe('web building blocks', () => {
  it('escapes every interpolation of the html template, except html and raw fragments', () => {
    const name = `<img src=x onerror="alert('1')"> & co`;
    assert.equal(
      html`<p title="${name}">${name}</p>`.text,
      '<p title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; co">&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt; &amp; co</p>',
    );
    assert.equal(
      html`<ul>${['<a>', html`<li>${'<b>'}</li>`]}</ul>`.text,
      '<ul>&lt;a&gt;<li>&lt;b&gt;</li></ul>',
    );
    assert.equal(html`${undefined}${null}${false}${0}${raw('<br>')}`.text, '0<br>');
    assert.equal(escapeHtml(`"'<>&`), '&quot;&#39;&lt;&gt;&amp;');
  });

  it('accepts only local return paths after sign-in', () => {
    assert.equal(localReturnPath('/oauth/authorize?client_id=x'), '/oauth/authorize?client_id=x');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'evil', '/a\nb', '']) {
      assert.equal(localReturnPath(bad), undefined, bad);
    }
  });

  it('splits multipart bodies and refuses broken ones', () => {
    const body = (text: string, type = 'multipart/form-data; boundary=XyZ') =>
      new MultipartBody(type, Buffer.from(text.replaceAll('\n', '\r\n'), 'latin1'));
    const parts = parseMultipart(
      body(
        'preamble\n--XyZ\nContent-Disposition: form-data; name="csrf"\n\ntoken\n--XyZ\n' +
          'Content-Disposition: form-data; name="avatar"; filename="a.png"\nContent-Type: image/png\n\n' +
          'bytes\n--with--dashes\n--XyZ--\n',
      ),
    );
    assert.ok(parts);
    assert.equal(parts.get('csrf')?.data.toString(), 'token');
    assert.equal(parts.get('avatar')?.filename, 'a.png');
    assert.equal(parts.get('avatar')?.contentType, 'image/png');
    assert.equal(parts.get('avatar')?.data.toString('latin1'), 'bytes\r\n--with--dashes');
    assert.equal(parseMultipart(body('--XyZ\nno end')), undefined);
    assert.equal(parseMultipart(body('--XyZ--', 'multipart/form-data')), undefined);
    assert.equal(parseMultipart(body('--XyZ\nContent-Type: text/plain\n\nx\n--XyZ--')), undefined);
  });

  it('reads the sign-up and implicit-grant settings; invite works with links alone', () => {
    const defaults = loadConfig({ env: {} });
    assert.equal(defaults.signup, 'open');
    assert.equal(defaults.oauthImplicit, true);
    assert.equal(defaults.signupInviteCode, undefined);
    assert.equal(loadConfig({ env: { PAPILLON_OAUTH_IMPLICIT: 'false' } }).oauthImplicit, false);
    // One-time links (`papillon invite`) need no shared code.
    assert.equal(loadConfig({ env: { PAPILLON_SIGNUP: 'invite' } }).signupInviteCode, undefined);
    assert.throws(
      () => loadConfig({ env: { PAPILLON_SIGNUP: 'invite', PAPILLON_SIGNUP_INVITE_CODE: 'short' } }),
      (err: unknown) => isPapillonError(err, 'bad-config') && /SIGNUP_INVITE_CODE/.test(err.message),
    );
    assert.throws(() => loadConfig({ env: { PAPILLON_SIGNUP: 'maybe' } }), /PAPILLON_SIGNUP/);
  });
});

describe('web pages (sign-up open)', () => {
  const web = serverForSuite({ PAPILLON_PASSWORD_MIN_LENGTH: '10' });

  it('serves its stylesheet and pages usable on a phone, with the security headers', async () => {
    const browser = new WebClient(web.base);
    const css = await browser.get('/static/papillon.css');
    assert.equal(css.status, 200);
    assert.match(String(css.headers['content-type']), /^text\/css/);
    assert.match(css.body, /:focus-visible/);
    const again = await browser.get('/static/papillon.css', { 'if-none-match': String(css.headers.etag) });
    assert.equal(again.status, 304);
    for (const path of ['/', '/signin', '/signup']) {
      const page = await browser.get(path);
      assert.equal(page.status, 200, path);
      assert.match(String(page.headers['content-type']), /^text\/html; charset=utf-8/);
      assert.match(page.body, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
      assert.match(page.body, /<link rel="stylesheet" href="\/static\/papillon.css">/);
      assert.doesNotMatch(page.body, /<script|https?:\/\/(?!127)/);
      assert.match(String(page.headers['content-security-policy']), /^default-src 'self'/);
      assert.equal(page.headers['x-frame-options'], 'DENY');
      assert.equal(page.headers['referrer-policy'], 'no-referrer');
    }
    // Every input has a label.
    const form = (await browser.get('/signup')).body;
    for (const [, id] of form.matchAll(/<input type="(?:text|password)" id="([^"]+)"/g)) {
      assert.match(form, new RegExp(`<label for="${id}">`), `no label for ${id}`);
    }
  });

  it('signs up, rejecting a forged or missing CSRF token', async () => {
    const browser = new WebClient(web.base);
    await browser.get('/signup');
    const fields = { name: 'carol', displayName: 'Carol', password: PASSWORD, confirm: PASSWORD };
    const forged = await browser.post('/signup', { ...fields, csrf: 'forged' });
    assert.equal(forged.status, 403);
    const stranger = new WebClient(web.base);
    const noCookie = await stranger.post('/signup', {
      ...fields,
      csrf: csrfOf((await browser.get('/signup')).body),
    });
    assert.equal(noCookie.status, 403);
    assert.equal(await web.core.accounts.find('carol@localhost'), undefined);

    const res = await signUp(browser, fields);
    assert.equal(res.status, 303, res.body);
    assert.equal(res.location, `${web.base}/account?done=welcome`);
    const cookie = browser.cookies.get('papillon_session');
    assert.ok(cookie);
    assert.match(cookie.raw, /; HttpOnly/);
    assert.match(cookie.raw, /; SameSite=Lax/);
    assert.doesNotMatch(cookie.raw, /Secure/);
    const carol = await web.core.accounts.get('carol@localhost');
    assert.equal(carol.displayName, 'Carol');
    assert.ok(await web.core.credentials.verifyPassword('carol@localhost', PASSWORD));
    const account = await browser.get('/account?done=welcome');
    assert.equal(account.status, 200);
    assert.match(account.body, /carol@localhost/);
    assert.match(account.body, /Welcome!/);
  });

  it('explains why a sign-up is refused', async () => {
    const browser = new WebClient(web.base);
    const cases: Array<[Record<string, string>, number, RegExp]> = [
      [{ name: 'dave', password: 'short', confirm: 'short' }, 400, /at least 10 characters/],
      [{ name: 'dave', password: PASSWORD, confirm: `${PASSWORD}!` }, 400, /not the same/],
      [{ name: 'dave@elsewhere.example', password: PASSWORD, confirm: PASSWORD }, 400, /end in @localhost/],
      [{ name: 'da ve', password: PASSWORD, confirm: PASSWORD }, 400, /cannot be used/],
      [
        { name: 'dave', password: 'dave@localhost', confirm: 'dave@localhost' },
        400,
        /at least 10|account name/,
      ],
      [{ name: 'carol', password: PASSWORD, confirm: PASSWORD }, 409, /taken/],
    ];
    for (const [fields, status, message] of cases) {
      const res = await signUp(browser, fields);
      assert.equal(res.status, status, JSON.stringify(fields));
      assert.match(res.body, message);
      assert.equal(browser.cookies.get('papillon_session'), undefined);
    }
    assert.equal(await web.core.accounts.find('dave@localhost'), undefined);
  });

  it('signs in and out; a bad return URL goes to the account page', async () => {
    const core = web.core;
    await core.accounts.create({
      privacy: 'allow-all',
      handle: 'erin@localhost',
      password: PASSWORD,
      displayName: 'Erin',
    });
    const browser = new WebClient(web.base);
    const form = await browser.get('/signin?return=//evil.example/x');
    const res = await browser.post('/signin', {
      csrf: csrfOf(form.body),
      handle: 'Erin@LocalHost',
      password: PASSWORD,
      return: '//evil.example/x',
    });
    assert.equal(res.status, 303);
    assert.equal(res.location, `${web.base}/account`);
    const page = await browser.get('/account');
    assert.equal(page.status, 200);
    const forgedOut = await browser.post('/signout', { csrf: 'nope' });
    assert.equal(forgedOut.status, 403);
    assert.equal((await browser.get('/account')).status, 200);
    const out = await browser.post('/signout', { csrf: csrfOf(page.body) });
    assert.equal(out.status, 303);
    assert.equal(browser.cookies.get('papillon_session'), undefined);
    const afterOut = await browser.get('/account');
    assert.equal(afterOut.status, 303);
    assert.match(afterOut.location ?? '', /\/signin\?return=%2Faccount$/);
  });

  it('throttles repeated sign-in failures per address and account', async () => {
    const core = web.core;
    await core.accounts.create({ privacy: 'allow-all', handle: 'frank@localhost', password: PASSWORD });
    await core.accounts.create({ privacy: 'allow-all', handle: 'grace@localhost', password: PASSWORD });
    const browser = new WebClient(web.base);
    for (let i = 0; i < 5; i += 1) {
      const res = await signIn(browser, 'frank', 'wrong password');
      assert.equal(res.status, 400);
      assert.match(res.body, /not right/);
    }
    // Locked now, even with the right password: the password is not even checked.
    const locked = await signIn(browser, 'frank', PASSWORD);
    assert.equal(locked.status, 429);
    assert.equal(locked.headers['retry-after'], '60');
    assert.match(locked.body, /Too many attempts/);
    assert.equal(browser.cookies.get('papillon_session'), undefined);
    // Another account from the same address is not locked out.
    const other = await signIn(new WebClient(web.base), 'grace', PASSWORD);
    assert.equal(other.status, 303);
  });

  describe('account page', () => {
    let browser: WebClient;
    let csrf: string;
    let accountId: string;

    before(async () => {
      const core = web.core;
      accountId = (
        await core.accounts.create({
          privacy: 'allow-all',
          handle: 'heidi@localhost',
          password: PASSWORD,
          displayName: 'Heidi',
        })
      ).id;
      browser = new WebClient(web.base);
      assert.equal((await signIn(browser, 'heidi', PASSWORD)).status, 303);
      csrf = csrfOf((await browser.get('/account')).body);
    });

    it('refuses every form without the session CSRF token', async () => {
      const core = web.core;
      const posts: Array<[string, Record<string, string>]> = [
        ['/account/name', { displayName: 'Hacked' }],
        ['/account/message', { message: 'hacked' }],
        ['/account/password', { current: PASSWORD, password: 'hacked password', confirm: 'hacked password' }],
        ['/account/avatar/remove', {}],
        ['/account/apps/revoke', { client_id: 'x' }],
        ['/account/clients', { name: 'Evil', redirect_uris: 'https://evil.example/cb', type: 'public' }],
        ['/account/clients/delete', { client_id: 'x' }],
      ];
      for (const [path, fields] of posts) {
        for (const token of [undefined, 'forged']) {
          const res = await browser.post(path, token === undefined ? fields : { ...fields, csrf: token });
          assert.equal(res.status, 403, `${path} with ${token}`);
        }
      }
      const upload = await browser.postMultipart(
        '/account/avatar',
        { csrf: 'forged' },
        { name: 'avatar', filename: 'a.png', type: 'image/png', data: PNG },
      );
      assert.equal(upload.status, 403);
      const heidi = await core.accounts.get('heidi@localhost');
      assert.equal(heidi.displayName, 'Heidi');
      assert.ok(await core.credentials.verifyPassword('heidi@localhost', PASSWORD));
      assert.deepEqual(await core.oauth.listClients(accountId), []);
      assert.deepEqual(await core.accounts.properties(accountId), {});
    });

    it('changes the display name, escaping it in every page', async () => {
      const core = web.core;
      const name = '<script>alert("x")</script> & co';
      const res = await browser.post('/account/name', { csrf, displayName: name });
      assert.equal(res.status, 303);
      assert.equal(res.location, `${web.base}/account?done=name`);
      assert.equal((await core.accounts.get('heidi@localhost')).displayName, name);
      const page = await browser.get('/account?done=name');
      assert.doesNotMatch(page.body, /<script>/);
      assert.match(page.body, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; co/);
      assert.match(page.body, /Your display name is changed/);
      const home = await browser.get('/');
      assert.doesNotMatch(home.body, /<script>/);
      const bad = await browser.post('/account/name', { csrf, displayName: '   ' });
      assert.equal(bad.status, 400);
      assert.match(bad.body, /cannot be used/);
    });

    it('sets the personal message: stored, and shown through the endpoints signed in', async () => {
      const core = web.core;
      await core.presence.set(accountId, 'test-endpoint', { status: 'online', statusText: 'from a client' });
      const res = await browser.post('/account/message', { csrf, message: '  <b>On holiday</b>  ' });
      assert.equal(res.status, 303);
      assert.equal(
        (await core.accounts.properties(accountId))['profile.personal-message'],
        '<b>On holiday</b>',
      );
      assert.equal((await core.presence.current(accountId)).statusText, '<b>On holiday</b>');
      const page = await browser.get('/account');
      assert.match(page.body, /value="&lt;b&gt;On holiday&lt;\/b&gt;"/);
      const cleared = await browser.post('/account/message', { csrf, message: '' });
      assert.equal(cleared.status, 303);
      assert.equal((await core.accounts.properties(accountId))['profile.personal-message'], undefined);
      assert.equal((await core.presence.current(accountId)).statusText, '');
      await core.presence.disconnect(accountId, 'test-endpoint');
      const tooLong = await browser.post('/account/message', { csrf, message: 'x'.repeat(300) });
      assert.equal(tooLong.status, 400);
    });

    it('uploads a picture (stored with its SHA-1) and refuses what is not one', async () => {
      const core = web.core;
      const res = await browser.postMultipart(
        '/account/avatar',
        { csrf },
        { name: 'avatar', filename: 'me.png', type: 'image/png', data: PNG },
      );
      assert.equal(res.status, 303, res.body);
      const sha1 = createHash('sha1').update(PNG).digest('hex');
      const stored = await core.pictures.get(accountId);
      assert.equal(stored?.sha1, sha1);
      assert.equal(stored?.type, 'image/png');
      assert.deepEqual(stored?.data, PNG);
      assert.deepEqual((await core.accounts.findById(accountId))?.picture, {
        sha1,
        size: PNG.length,
        type: 'image/png',
      });
      const page = await browser.get('/account');
      assert.match(page.body, new RegExp(sha1));
      const image = await browser.get('/account/avatar');
      assert.equal(image.status, 200);
      assert.equal(image.headers['content-type'], 'image/png');
      assert.deepEqual(image.bytes, PNG);
      assert.equal((await new WebClient(web.base).get('/account/avatar')).status, 303);

      const text = await browser.postMultipart(
        '/account/avatar',
        { csrf },
        {
          name: 'avatar',
          filename: 'evil.png',
          type: 'image/png',
          data: Buffer.from('<svg onload=alert(1)>'),
        },
      );
      assert.equal(text.status, 400);
      assert.match(text.body, /PNG, JPEG or GIF/);
      const big = Buffer.concat([PNG, Buffer.alloc(256 * 1024)]);
      const tooBig = await browser.postMultipart(
        '/account/avatar',
        { csrf },
        { name: 'avatar', filename: 'big.png', type: 'image/png', data: big },
      );
      assert.ok(tooBig.status === 400 || tooBig.status === 413, String(tooBig.status));
      assert.equal((await core.pictures.get(accountId))?.sha1, sha1);
      const empty = await browser.postMultipart(
        '/account/avatar',
        { csrf },
        { name: 'avatar', filename: 'none.png', type: 'image/png', data: Buffer.alloc(0) },
      );
      assert.equal(empty.status, 400);
      assert.match(empty.body, /choose a picture/);

      const removed = await browser.post('/account/avatar/remove', { csrf });
      assert.equal(removed.status, 303);
      assert.equal(await core.pictures.get(accountId), undefined);
      assert.equal((await core.accounts.findById(accountId))?.picture, null);
      assert.equal((await browser.get('/account/avatar')).status, 404);
    });

    it('changes the password only with the current one, and within the policy', async () => {
      const core = web.core;
      const next = 'a much better passphrase';
      const wrong = await browser.post('/account/password', {
        csrf,
        current: 'not it',
        password: next,
        confirm: next,
      });
      assert.equal(wrong.status, 400);
      assert.match(wrong.body, /current password is not right/);
      const short = await browser.post('/account/password', {
        csrf,
        current: PASSWORD,
        password: 'short1',
        confirm: 'short1',
      });
      assert.equal(short.status, 400);
      assert.match(short.body, /at least 10 characters/);
      const common = await browser.post('/account/password', {
        csrf,
        current: PASSWORD,
        password: 'heidi@localhost',
        confirm: 'heidi@localhost',
      });
      assert.equal(common.status, 400);
      assert.match(common.body, /account name/);
      const mismatch = await browser.post('/account/password', {
        csrf,
        current: PASSWORD,
        password: next,
        confirm: 'x',
      });
      assert.equal(mismatch.status, 400);
      assert.ok(await core.credentials.verifyPassword('heidi@localhost', PASSWORD));
      // Someone else signed in with the old password (another browser)…
      const intruder = new WebClient(web.base);
      assert.equal((await signIn(intruder, 'heidi', PASSWORD)).status, 303);
      assert.equal((await intruder.get('/account')).status, 200);
      const ok = await browser.post('/account/password', {
        csrf,
        current: PASSWORD,
        password: next,
        confirm: next,
      });
      assert.equal(ok.status, 303);
      assert.ok(await core.credentials.verifyPassword('heidi@localhost', next));
      assert.equal(await core.credentials.verifyPassword('heidi@localhost', PASSWORD), undefined);
      // …is signed out by the change; this browser stays signed in.
      assert.equal((await intruder.get('/account')).status, 303);
      assert.equal((await browser.get('/account')).status, 200);
      await core.accounts.changePassword('heidi@localhost', PASSWORD);
    });

    it('registers apps (secret shown once), lists and deletes them', async () => {
      const core = web.core;
      const pub = await browser.post('/account/clients', {
        csrf,
        name: 'My <b>app</b>',
        redirect_uris: 'http://127.0.0.1:9999/cb\r\ncom.example.app:/oauth',
        type: 'public',
      });
      assert.equal(pub.status, 201, pub.body);
      assert.equal(pub.headers['cache-control'], 'no-store');
      assert.match(pub.body, /My &lt;b&gt;app&lt;\/b&gt;/);
      assert.match(pub.body, /none: a public app/);
      const conf = await browser.post('/account/clients', {
        csrf,
        name: 'Server app',
        redirect_uris: 'https://server.example/cb',
        type: 'confidential',
      });
      assert.equal(conf.status, 201);
      const clients = await core.oauth.listClients(accountId);
      assert.equal(clients.length, 2);
      const server1 = clients.find((c) => c.name === 'Server app');
      assert.ok(server1?.confidential);
      const secret = /client_secret<\/dt><dd><code class="secret">([^<]+)</.exec(conf.body)?.[1];
      assert.ok(secret);
      assert.ok(await core.oauth.authenticateClient(server1.id, secret));
      const page = await browser.get('/account');
      assert.match(page.body, new RegExp(server1.id));
      assert.doesNotMatch(page.body, new RegExp(secret), 'the secret is shown once only');

      const bad = await browser.post('/account/clients', {
        csrf,
        name: 'Bad',
        redirect_uris: 'http://evil.example/cb',
        type: 'public',
      });
      assert.equal(bad.status, 400);
      assert.match(bad.body, /https/);
      const noUris = await browser.post('/account/clients', {
        csrf,
        name: 'Bad',
        redirect_uris: ' ',
        type: 'public',
      });
      assert.equal(noUris.status, 400);

      // Someone else's app cannot be deleted from here.
      const foreign = await core.oauth.registerClient({
        name: 'Not hers',
        redirectUris: ['https://x.example/cb'],
        confidential: false,
        ownerId: null,
      });
      const notMine = await browser.post('/account/clients/delete', { csrf, client_id: foreign.client.id });
      assert.equal(notMine.status, 400);
      assert.ok(await core.oauth.getClient(foreign.client.id));
      const deleted = await browser.post('/account/clients/delete', { csrf, client_id: server1.id });
      assert.equal(deleted.status, 303);
      assert.equal(await core.oauth.getClient(server1.id), undefined);
    });

    it('lists the apps with access and revokes one', async () => {
      const core = web.core;
      const { client } = await core.oauth.registerClient({
        name: 'Chat <client>',
        redirectUris: ['https://chat.example/cb'],
        confidential: false,
        ownerId: null,
      });
      const tokens = await core.oauth.issueTokens({
        clientId: client.id,
        accountId,
        scopes: ['wl.messenger', 'wl.offline_access'],
        refresh: true,
      });
      const page = await browser.get('/account');
      assert.match(page.body, /Chat &lt;client&gt;/);
      assert.match(page.body, /Sign in to Messenger as you/);
      const revoked = await browser.post('/account/apps/revoke', { csrf, client_id: client.id });
      assert.equal(revoked.status, 303);
      assert.deepEqual(await core.oauth.authorizedApps(accountId), []);
      assert.equal(await core.oauth.validateAccessToken(tokens.accessToken), undefined);
      const after = await browser.get('/account');
      assert.doesNotMatch(after.body, /Chat &lt;client&gt;/);
    });
  });
});

describe('web pages (sign-up closed)', () => {
  const web = serverForSuite({ PAPILLON_SIGNUP: 'closed' });

  it('refuses sign-up and does not offer it', async () => {
    const browser = new WebClient(web.base);
    const page = await browser.get('/signup');
    assert.equal(page.status, 403);
    assert.match(page.body, /does not take sign-ups/);
    const signin = await browser.get('/signin');
    assert.doesNotMatch(signin.body, /href="\/signup/);
    const post = await browser.post('/signup', {
      csrf: csrfOf(signin.body),
      name: 'ivan',
      password: PASSWORD,
      confirm: PASSWORD,
    });
    assert.equal(post.status, 403);
    assert.equal(await web.core.accounts.find('ivan@localhost'), undefined);
  });
});

describe('web pages (sign-ups per address limited)', () => {
  const web = serverForSuite({ PAPILLON_SIGNUPS_PER_HOUR: '2' });

  it('creates two accounts from one address, then refuses a third for an hour', async () => {
    const outcome = async (name: string) =>
      (
        await signUp(new WebClient(web.base), {
          name,
          displayName: name,
          password: PASSWORD,
          confirm: PASSWORD,
        })
      ).status;
    assert.equal(await outcome('bot1'), 303);
    // A refused attempt (name taken) does not count as an account made.
    assert.equal(await outcome('bot1'), 409);
    assert.equal(await outcome('bot2'), 303);
    const third = await signUp(new WebClient(web.base), {
      name: 'bot3',
      password: PASSWORD,
      confirm: PASSWORD,
    });
    assert.equal(third.status, 429);
    assert.equal(third.headers['retry-after'], '3600');
    assert.match(third.body, /Too many new accounts/);
    assert.equal(await web.core.accounts.find('bot3@localhost'), undefined);
  });
});

describe('web pages (sign-up by invitation, over HTTPS)', () => {
  const web = serverForSuite(
    { PAPILLON_SIGNUP: 'invite', PAPILLON_SIGNUP_INVITE_CODE: 'butterfly-2024' },
    'https',
  );

  it('asks for the invitation code, and marks cookies Secure over HTTPS', async () => {
    const browser = new WebClient(web.base, web.server.ca);
    const form = await browser.get('/signup');
    assert.equal(form.status, 200);
    assert.match(form.body, /Invitation code/);
    assert.match(browser.cookies.get('papillon_form')?.raw ?? '', /; Secure/);
    const fields = { name: 'judy', password: PASSWORD, confirm: PASSWORD };
    const wrong = await browser.post('/signup', { csrf: csrfOf(form.body), ...fields, invite: 'guess' });
    assert.equal(wrong.status, 403);
    assert.match(wrong.body, /invitation code is not right/);
    assert.equal(await web.core.accounts.find('judy@localhost'), undefined);
    const right = await browser.post('/signup', {
      csrf: csrfOf(wrong.body),
      ...fields,
      invite: 'butterfly-2024',
    });
    assert.equal(right.status, 303, right.body);
    const cookie = browser.cookies.get('papillon_session');
    assert.ok(cookie);
    assert.match(cookie.raw, /; HttpOnly; SameSite=Lax; Secure$/);
    assert.ok(await web.core.accounts.find('judy@localhost'));
    // A Secure cookie is not sent over plain HTTP.
    const plain = new WebClient(`http://127.0.0.1:${web.server.port('http')}`);
    for (const [name, c] of browser.cookies) plain.cookies.set(name, c);
    assert.equal((await plain.get('/account')).status, 303);
    assert.equal((await browser.get('/account')).status, 200);
  });
});

/** Signs `handle` in on the web (the account exists), returning the browser. */
async function signedInBrowser(base: string, handle: string, password = PASSWORD): Promise<WebClient> {
  const browser = new WebClient(base);
  const response = await signIn(browser, handle, password);
  assert.equal(response.status, 303, response.body);
  return browser;
}

/** Reads MSNP commands until `OUT`, then waits for the server to close the connection. */
async function signedOut(client: MsnpTestClient): Promise<void> {
  for (;;) {
    const cmd = await client.next(5000);
    if (cmd.name === 'OUT') return client.closed();
  }
}

describe('web pages: connect, errors, deleting an account', () => {
  const web = serverForSuite();
  const open: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    await Promise.allSettled(open.map((c) => c.close()));
  });

  it('shows a signed-in user how to connect each client, with their handle, the ports, the CA and hosts lines', async () => {
    await web.core.accounts.create({ handle: 'kim@localhost', password: PASSWORD });
    const anonymous = await new WebClient(web.base).get('/connect');
    assert.equal(anonymous.status, 303);
    assert.match(anonymous.location ?? '', /\/signin\?return=%2Fconnect$/);

    const browser = await signedInBrowser(web.base, 'kim@localhost');
    const page = await browser.get('/connect');
    assert.equal(page.status, 200);
    const text = page.body;
    // The header says who is signed in.
    assert.match(text, /Signed in as <a href="\/account">kim@localhost<\/a>/);
    for (const client of [
      'Windows Live Messenger 2009',
      'MSN Messenger 7.5',
      'Pidgin',
      'Gajim',
      'Conversations',
      'Profanity',
    ]) {
      assert.match(text, new RegExp(client), client);
    }
    const server = web.server;
    assert.match(text, new RegExp(`port ${server.port('msnp')}<`));
    assert.match(
      text,
      new RegExp(`port ${server.port('xmpp')} \\(STARTTLS\\), ${server.port('xmpps')} \\(direct TLS\\)`),
    );
    assert.match(text, new RegExp(`HTTP ${server.port('http')}, HTTPS ${server.port('https')}`));
    // Hosts-file lines for every MSN host name, at the address the browser used.
    for (const host of LEGACY_MSN_HOSTS)
      assert.match(text, new RegExp(`127\\.0\\.0\\.1 ${host.replaceAll('.', '\\.')}\\n?`), host);
    // The user's own handle in the per-client settings.
    assert.match(text, /\/connect kim@localhost server 127\.0\.0\.1 port \d+ tls force/);
    // localhost has no dot: Pidgin users are warned.
    assert.match(text, /has no dot: Pidgin/);
    // The CA to download, the very file clients must trust, with its fingerprint.
    assert.match(text, /href="\/connect\/ca\.crt"/);
    const ca = await browser.get('/connect/ca.crt');
    assert.equal(ca.status, 200);
    assert.equal(ca.headers['content-type'], 'application/x-x509-ca-cert');
    assert.deepEqual(ca.bytes, server.ca);
    assert.match(text, new RegExp(new X509Certificate(server.ca).fingerprint256));
  });

  it('answers unknown pages with an HTML 404 that keeps the signed-in header (JSON for API clients)', async () => {
    const visitor = await new WebClient(web.base).get('/no/such/page', { accept: 'text/html,*/*' });
    assert.equal(visitor.status, 404);
    assert.match(String(visitor.headers['content-type']), /^text\/html/);
    assert.match(visitor.body, /<h1>Page not found<\/h1>/);
    assert.match(visitor.body, /href="\/signin">Sign in</);
    assert.equal(visitor.headers['x-frame-options'], 'DENY');

    await web.core.accounts.create({ handle: 'lou@localhost', password: PASSWORD });
    const browser = await signedInBrowser(web.base, 'lou@localhost');
    const signedIn = await browser.get('/no/such/page', { accept: 'text/html' });
    assert.equal(signedIn.status, 404);
    assert.match(signedIn.body, /Signed in as <a href="\/account">lou@localhost<\/a>/);
    assert.doesNotMatch(signedIn.body, /href="\/signin"/);
    assert.match(signedIn.body, /href="\/account">Your account</);

    const api = await browser.get('/no/such/api', { accept: 'application/json' });
    assert.equal(api.status, 404);
    assert.deepEqual((api.json as { statusCode: number }).statusCode, 404);
  });

  it('answers a picture too large with an HTML 413 page', async () => {
    await web.core.accounts.create({ handle: 'max@localhost', password: PASSWORD });
    const browser = await signedInBrowser(web.base, 'max@localhost');
    const account = await browser.get('/account');
    const big = await browser.postMultipart(
      '/account/avatar',
      { csrf: csrfOf(account.body) },
      { name: 'avatar', filename: 'big.png', type: 'image/png', data: Buffer.alloc(400 * 1024, 1) },
    );
    assert.equal(big.status, 413);
    assert.match(String(big.headers['content-type']), /^text\/html/);
    assert.match(big.body, /<h1>Too large<\/h1>/);
    assert.match(big.body, /at most 256 KiB/);
    assert.match(big.body, /Signed in as <a href="\/account">max@localhost<\/a>/);
  });

  it('lets users delete their own account with their password: MSNP and XMPP sessions end at once', async () => {
    const handle = 'nia@localhost';
    await web.core.accounts.create({ handle, password: PASSWORD });
    const msnp = await msnpSignIn(web.server, { version: 12, handle, password: PASSWORD });
    const xmpp = await RawXmppClient.login(targetOf(web.server), {
      username: 'nia',
      password: PASSWORD,
      resource: 'phone',
    });
    open.push(msnp, xmpp);
    const browser = await signedInBrowser(web.base, handle);
    const form = await browser.get('/account/delete');
    assert.equal(form.status, 200);
    assert.match(form.body, /<label for="delete-password">/);

    // No CSRF token, then a wrong password: nothing happens.
    assert.equal((await browser.post('/account/delete', { password: PASSWORD })).status, 403);
    const wrong = await browser.post('/account/delete', {
      csrf: csrfOf(form.body),
      password: 'not it at all',
    });
    assert.equal(wrong.status, 403);
    assert.match(wrong.body, /password is not right/);
    assert.ok(await web.core.accounts.find(handle));

    const done = await browser.post('/account/delete', { csrf: csrfOf(form.body), password: PASSWORD });
    assert.equal(done.status, 200, done.body);
    assert.match(done.body, /nia@localhost<\/strong> is deleted/);
    await signedOut(msnp);
    assert.equal((await xmpp.expectStreamError()).condition, 'not-authorized');
    assert.equal(await web.core.accounts.find(handle), undefined);
    // The browser is signed out too.
    assert.equal(browser.cookies.get('papillon_session'), undefined);
    assert.equal((await browser.get('/account')).status, 303);
  });
});

describe('web pages: one-time invitation links (signup "invite" without a shared code)', () => {
  const web = serverForSuite({ PAPILLON_SIGNUP: 'invite' });

  it('makes one account per link, once; a used, unknown or expired link makes none', async () => {
    const noLink = await new WebClient(web.base).get('/signup');
    assert.equal(noLink.status, 403);
    assert.match(noLink.body, /by invitation only/);

    const { token } = await web.core.invites.create({ createdBy: null });
    const first = new WebClient(web.base);
    const form = await first.get(`/signup?invite=${token}`);
    assert.equal(form.status, 200);
    assert.match(form.body, new RegExp(`<input type="hidden" name="invite" value="${token}">`));
    // A mistake in the form keeps the link, and does not use it up.
    const mismatch = await first.post('/signup', {
      csrf: csrfOf(form.body),
      name: 'olga',
      password: PASSWORD,
      confirm: 'something else',
      invite: token,
    });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.body, new RegExp(`name="invite" value="${token}"`));
    const made = await first.post('/signup', {
      csrf: csrfOf(mismatch.body),
      name: 'olga',
      password: PASSWORD,
      confirm: PASSWORD,
      invite: token,
    });
    assert.equal(made.status, 303, made.body);
    assert.ok(await web.core.accounts.find('olga@localhost'));
    const listed = (await web.core.invites.list()).find((i) => i.usedBy === 'olga@localhost');
    assert.ok(listed);

    // The same link again, from another browser: refused.
    const second = new WebClient(web.base);
    const again = await second.get(`/signup?invite=${token}`);
    const reused = await second.post('/signup', {
      csrf: csrfOf(again.body),
      name: 'pete',
      password: PASSWORD,
      confirm: PASSWORD,
      invite: token,
    });
    assert.equal(reused.status, 403);
    assert.match(reused.body, /used already or has expired/);
    assert.equal(await web.core.accounts.find('pete@localhost'), undefined);
  });
});

describe('web pages: the admin area', () => {
  const web = serverForSuite();
  const open: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    await Promise.allSettled(open.map((c) => c.close()));
  });

  it('is refused to visitors and to accounts without the admin role', async () => {
    const visitor = await new WebClient(web.base).get('/admin');
    assert.equal(visitor.status, 303);
    assert.match(visitor.location ?? '', /\/signin\?return=%2Fadmin$/);
    await web.core.accounts.create({ handle: 'quinn@localhost', password: PASSWORD });
    const user = await signedInBrowser(web.base, 'quinn@localhost');
    for (const path of ['/admin', '/admin/users', '/admin/sessions', '/admin/user?handle=quinn@localhost']) {
      const page = await user.get(path);
      assert.equal(page.status, 403, path);
      assert.match(page.body, /Admins only/);
    }
    assert.doesNotMatch((await user.get('/account')).body, /href="\/admin"/);
    const csrf = csrfOf((await user.get('/account')).body);
    const post = await user.post('/admin/signup', { csrf, mode: 'closed' });
    assert.equal(post.status, 403);
    const kick = await user.post('/admin/users/kick', { csrf, handle: 'quinn@localhost' });
    assert.equal(kick.status, 403);
  });

  it('lets an admin see users and who is online, sign an account out, reset its password, change sign-up and make links', async () => {
    await web.core.accounts.create({ handle: 'root@localhost', password: PASSWORD });
    await web.core.roles.setAdmin('root@localhost', true);
    await web.core.accounts.create({ handle: 'rita@localhost', password: PASSWORD, displayName: 'Rita <3' });
    const msnp = await msnpSignIn(web.server, { version: 18, handle: 'rita@localhost', password: PASSWORD });
    const xmpp = await RawXmppClient.login(targetOf(web.server), {
      username: 'rita',
      password: PASSWORD,
      resource: 'desk',
    });
    open.push(msnp, xmpp);
    const admin = await signedInBrowser(web.base, 'root@localhost');

    const overview = await admin.get('/admin');
    assert.equal(overview.status, 200);
    assert.match(overview.body, /href="\/admin">Admin</);
    const users = await admin.get('/admin/users');
    assert.match(users.body, /rita@localhost<\/a><\/td>\s*<td>Rita &lt;3<\/td>/);
    assert.match(users.body, /root@localhost<\/a> <span class="tag">admin<\/span>/);
    const sessions = await admin.get('/admin/sessions');
    assert.match(sessions.body, /rita@localhost<\/a><\/td><td>MSNP18</);
    assert.match(sessions.body, /<td>XMPP<\/td>\s*<td>desk<\/td>/);

    // Sign Rita out of every app.
    const csrf = csrfOf(overview.body);
    const kicked = await admin.post('/admin/users/kick', { csrf, handle: 'rita@localhost' });
    assert.equal(kicked.status, 303);
    await signedOut(msnp);
    assert.ok((await xmpp.expectStreamError()).condition);

    // A new password: the old one stops working.
    const reset = await admin.post('/admin/users/password', {
      csrf,
      handle: 'rita@localhost',
      password: 'a brand new passphrase',
    });
    assert.equal(reset.status, 303, reset.body);
    assert.equal(await web.core.credentials.verifyPassword('rita@localhost', PASSWORD), undefined);
    assert.ok(await web.core.credentials.verifyPassword('rita@localhost', 'a brand new passphrase'));

    // Sign-up mode, live.
    assert.equal((await new WebClient(web.base).get('/signup')).status, 200);
    assert.equal((await admin.post('/admin/signup', { csrf, mode: 'closed' })).status, 303);
    assert.equal((await new WebClient(web.base).get('/signup')).status, 403);
    assert.equal((await admin.post('/admin/signup', { csrf, mode: 'invite' })).status, 303);

    // An invitation link, shown once, that works.
    const made = await admin.post('/admin/invites', { csrf, expires: String(24 * 60 * 60 * 1000) });
    assert.equal(made.status, 200);
    const url = /<code class="secret">([^<]+)<\/code>/.exec(made.body)?.[1];
    assert.ok(url, made.body);
    assert.match(url, /\/signup\?invite=[A-Za-z0-9_-]+$/);
    const invited = new WebClient(web.base);
    const form = await invited.get(new URL(url).pathname + new URL(url).search);
    assert.equal(form.status, 200);
    const token = new URL(url).searchParams.get('invite') ?? '';
    const signup = await invited.post('/signup', {
      csrf: csrfOf(form.body),
      name: 'sam',
      password: PASSWORD,
      confirm: PASSWORD,
      invite: token,
    });
    assert.equal(signup.status, 303, signup.body);

    // Delete an account: the handle must be typed.
    const unconfirmed = await admin.post('/admin/users/delete', {
      csrf,
      handle: 'sam@localhost',
      confirm: 'sam',
    });
    assert.equal(unconfirmed.status, 400);
    assert.ok(await web.core.accounts.find('sam@localhost'));
    const deleted = await admin.post('/admin/users/delete', {
      csrf,
      handle: 'sam@localhost',
      confirm: 'sam@localhost',
    });
    assert.equal(deleted.status, 303);
    assert.equal(await web.core.accounts.find('sam@localhost'), undefined);

    // Taking the role away works at once.
    await web.core.roles.setAdmin('root@localhost', false);
    assert.equal((await admin.get('/admin')).status, 403);
  });
});
