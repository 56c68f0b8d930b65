/**
 * End to end, in a real browser (Debian's Chromium driven by playwright-core, which
 * downloads nothing): sign up → register a public app → authorize it with PKCE →
 * consent → the code arrives at the app's loopback redirect URI → the app trades it
 * for tokens → signs in to XMPP with the access token (SASL X-MESSENGER-OAUTH2) →
 * the user takes the access back on the account page → the next XMPP sign-in fails.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp } from '../support/xmpp-client.ts';

const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'a long enough passphrase';

/**
 * X-MESSENGER-OAUTH2 for @xmpp/client (a saslmechanisms mechanism): the initial
 * response is the access token itself, and there is no challenge.
 */
class XMessengerOAuth2 {
  readonly name = 'X-MESSENGER-OAUTH2';
  readonly clientFirst = true;

  response(credentials: { password?: string }): string {
    return credentials.password ?? '';
  }

  challenge(): this {
    return this;
  }
}

function xmppWithToken(server: TestServer, handle: string, token: string) {
  return connectXmpp(server, {
    username: handle.split('@')[0] ?? handle,
    password: token,
    mechanism: 'X-MESSENGER-OAUTH2',
    extraMechanisms: [{ name: 'X-MESSENGER-OAUTH2', mechanism: XMessengerOAuth2 }],
  });
}

/** The app's redirect target: a loopback HTTP server (RFC 8252 §7.3) that records what arrives. */
async function startApp(): Promise<{ server: Server; url: string; hits: URL[] }> {
  const hits: URL[] = [];
  const server = createServer((request, response) => {
    hits.push(new URL(request.url ?? '/', 'http://127.0.0.1'));
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>App</title><p>Back in the app.</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/callback`, hits };
}

describe('browser: sign up, authorize an app, sign in to XMPP with its token, revoke', () => {
  let server: TestServer;
  let browser: Browser;
  let app: Awaited<ReturnType<typeof startApp>>;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      assert.fail(
        `${CHROMIUM} is missing: this test drives Debian's Chromium. Install it with ` +
          '`apt-get update && apt-get install -y chromium` (.ci/run does so when it is missing).',
      );
    }
    server = await startTestServer();
    app = await startApp();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => app?.server.close(resolve));
    await server?.stop();
  });

  it('goes all the way', async () => {
    const base = `http://localhost:${server.port('http')}`;
    // A phone-sized window: the pages must work there.
    const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const noHorizontalScroll = async () =>
      assert.ok(
        (await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')) === true,
        `${page.url()} scrolls sideways on a phone`,
      );

    // Sign up, finding every field by its label.
    await page.goto(`${base}/signup`);
    await noHorizontalScroll();
    await page.getByLabel('Account name').fill('nina');
    await page.getByLabel('Display name').fill('Nina <3');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${base}/account?done=welcome`);
    assert.match((await page.textContent('main')) ?? '', /nina@localhost/);
    await noHorizontalScroll();

    // Register a public app whose redirect URI is the app's loopback server.
    await page.getByLabel('Name', { exact: true }).fill('Butterfly Chat');
    await page.getByLabel('Redirect URIs').fill(app.url);
    await page.getByRole('radio', { name: /Public/ }).check();
    await page.getByRole('button', { name: 'Register app' }).click();
    await page.waitForURL(`${base}/account/clients`);
    assert.match((await page.textContent('h1')) ?? '', /App registered/);
    const clientId = (await page.locator('dd code.secret').first().textContent())?.trim() ?? '';
    assert.match(clientId, /^[0-9a-f]{32}$/);

    // Authorize with PKCE (RFC 7636): the consent page, answered from the keyboard.
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const state = randomBytes(8).toString('hex');
    const authorize = new URL('/oauth20_authorize.srf', base);
    for (const [k, v] of Object.entries({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: app.url,
      scope: 'wl.messenger wl.offline_access',
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })) {
      authorize.searchParams.set(k, v);
    }
    await page.goto(authorize.toString());
    assert.match((await page.textContent('h1')) ?? '', /Allow Butterfly Chat to use your account\?/);
    assert.match((await page.textContent('main')) ?? '', /Sign in to Messenger as you/);
    await noHorizontalScroll();
    await page.getByRole('button', { name: 'Allow' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.toString().startsWith(app.url));
    // (The browser may also ask the app for /favicon.ico.)
    const hit = app.hits.find((url) => url.pathname === '/callback');
    assert.ok(hit, 'the app received nothing');
    assert.equal(hit.searchParams.get('state'), state);
    const code = hit.searchParams.get('code');
    assert.ok(code);

    // The app trades the code for tokens, as curl would.
    const response = await fetch(`${base}/oauth20_token.srf`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: app.url,
        client_id: clientId,
        code_verifier: verifier,
      }),
    });
    assert.equal(response.status, 200);
    const tokens = (await response.json()) as { access_token: string; refresh_token?: string; scope: string };
    assert.equal(tokens.scope, 'wl.messenger wl.offline_access');
    assert.ok(tokens.refresh_token);

    // XMPP sign-in with the token (X-MESSENGER-OAUTH2 over STARTTLS).
    const xmpp = await xmppWithToken(server, 'nina@localhost', tokens.access_token);
    assert.match(xmpp.jid, /^nina@localhost\//);
    await xmpp.stop();

    // The user takes the access back on the account page.
    await page.goto(`${base}/account`);
    assert.match((await page.textContent('main')) ?? '', /Butterfly Chat/);
    await page.getByRole('button', { name: 'Remove access for Butterfly Chat' }).click();
    await page.waitForURL(`${base}/account?done=revoked`);
    assert.match((await page.textContent('main')) ?? '', /no longer has access/);

    // The next XMPP sign-in with that token fails, and so does refreshing it.
    await assert.rejects(xmppWithToken(server, 'nina@localhost', tokens.access_token), /not-authorized/);
    const refreshed = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
        client_id: clientId,
      }),
    });
    assert.equal(refreshed.status, 400);
    await context.close();
  });

  /** Set PAPILLON_SCREENSHOTS=<dir> to keep a picture of each page at each width. */
  const shots = process.env.PAPILLON_SCREENSHOTS;

  for (const [device, viewport] of [
    ['phone', { width: 375, height: 740 }],
    ['desktop', { width: 1280, height: 900 }],
  ] as const) {
    it(`shows the connect page, the admin area and a 404 page that fit a ${device}`, async () => {
      const base = `http://localhost:${server.port('http')}`;
      const handle = `admin-${device}@localhost`;
      if (!(await server.server.core.accounts.find(handle))) {
        await server.server.core.accounts.create({ handle, password: PASSWORD, displayName: 'The Admin' });
        await server.server.core.roles.setAdmin(handle, true);
      }
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const look = async (name: string) => {
        assert.ok(
          (await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')) === true,
          `${page.url()} scrolls sideways on a ${device}`,
        );
        if (shots) await page.screenshot({ path: `${shots}/${name}-${device}.png`, fullPage: true });
      };

      await page.goto(`${base}/signin?return=%2Fconnect`);
      await page.getByRole('textbox', { name: 'Account' }).fill(handle);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${base}/connect`);
      assert.match((await page.textContent('header')) ?? '', new RegExp(`Signed in as\\s*${handle}`));
      assert.match((await page.textContent('main')) ?? '', new RegExp(`/connect ${handle} server localhost`));
      await look('connect');

      // Controls are outlined, and focus shows, at 3:1 or more against the page (WCAG 1.4.11).
      await page.goto(`${base}/account/delete`);
      const password = page.getByLabel('Your password');
      await password.focus();
      // A string run in the page (this project's TypeScript has no DOM types): the focused field's style.
      const style = (await page.evaluate(
        '(() => { const s = getComputedStyle(document.activeElement); return { border: s.borderTopColor, outline: s.outlineStyle, width: s.outlineWidth }; })()',
      )) as { border: string; outline: string; width: string };
      assert.notEqual(style.border, 'rgb(207, 214, 228)', 'input border too faint');
      assert.equal(style.outline, 'solid');
      assert.equal(style.width, '3px');

      await page.goto(`${base}/admin`);
      assert.match((await page.textContent('h1')) ?? '', /Admin/);
      await page.getByRole('button', { name: 'Make an invitation link' }).click();
      assert.match((await page.locator('code.secret').textContent()) ?? '', /\/signup\?invite=/);
      await look('admin');
      await page.getByRole('link', { name: 'Users' }).click();
      await page.waitForURL(`${base}/admin/users`);
      await look('admin-users');
      await page.locator('main').getByRole('link', { name: handle }).click();
      await look('admin-user');
      await page.goto(`${base}/admin/sessions`);
      await look('admin-sessions');

      const missing = await page.goto(`${base}/nowhere`);
      assert.equal(missing?.status(), 404);
      assert.match((await page.textContent('h1')) ?? '', /Page not found/);
      assert.match((await page.textContent('header')) ?? '', /Signed in as/);
      await look('not-found');
      await context.close();
    });
  }
});
