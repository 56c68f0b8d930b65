/**
 * End to end, in a real browser (Debian's Chromium driven by playwright-core): a person
 * signs up on the web pages, opens the chat page (Converse.js, over XMPP WebSocket, signed
 * in with the web session's token), adds an MSN Messenger 7.5 user (a raw MSNP12 client
 * made in the test), and they chat both ways through a switchboard; the MSN user's display
 * name, personal message and status changes show in the page, on a desktop and on a phone.
 * Then an XMPP user (a real @xmpp/client) is added the same way, and they chat too.
 * Signing out in another tab ends the chat. Screenshots are kept as test artifacts in
 * `$PAPILLON_SCREENSHOTS` (default `.tmp/screenshots`).
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { expectAddedBy, sync, textMessage } from '../transcripts/msnp-session.ts';

const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'a long enough passphrase';
const SHOTS = process.env.PAPILLON_SCREENSHOTS ?? path.join('.tmp', 'screenshots');
const MIA_NAME = 'Mia ✿ on MSN';
const MIA_PSM = 'Baking cookies, back at five';

/** Records every CSP violation in the page (an init script: CSP does not apply to it). */
const RECORD_VIOLATIONS = `
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) =>
    window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile }));
`;

async function violations(
  page: Page,
): Promise<Array<{ directive: string; blocked: string; source: string }>> {
  return (await page.evaluate('window.__violations')) as Array<{
    directive: string;
    blocked: string;
    source: string;
  }>;
}

/** MSNP12 `UUX`: the personal message (PSM), as MSN Messenger 7.5 sets it. */
async function setPersonalMessage(client: MsnpTestClient, text: string): Promise<void> {
  client.sendPayload('UUX', [client.trid()], `<Data><PSM>${text}</PSM><CurrentMedia></CurrentMedia></Data>`);
  await client.expect('UUX');
}

describe('browser: the chat page with an MSN Messenger user and an XMPP user', () => {
  let server: TestServer;
  let browser: Browser;
  let mia: MsnpTestClient;
  let zoe: TestXmppClient;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      assert.fail(
        `${CHROMIUM} is missing: this test drives Debian's Chromium. Install it with ` +
          '`apt-get update && apt-get install -y chromium` (.ci/run does so when it is missing).',
      );
    }
    mkdirSync(SHOTS, { recursive: true });
    server = await startTestServer();
    await server.server.core.accounts.create({
      handle: 'mia@localhost',
      password: 'mia-secret',
      displayName: MIA_NAME,
    });
    mia = await msnpSignIn(server, { version: 12, handle: 'mia@localhost', password: 'mia-secret' });
    await sync(12, mia);
    await msnpSetStatus(mia, 12, 'NLN', { first: true });
    await setPersonalMessage(mia, MIA_PSM);
    await server.server.core.accounts.create({ handle: 'zoe@localhost', password: 'zoe-secret' });
    zoe = await connectXmpp(server, { username: 'zoe', password: 'zoe-secret', resource: 'laptop' });
    await zoe.xmpp.send(xml('presence'));
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
    await mia?.close();
    await zoe?.stop();
    await server?.stop();
  });

  it('signs up, opens /chat, adds the MSN user, and they chat both ways', async () => {
    // The chat's WebSocket is wss (bearer tokens go over TLS only); the test CA is not the browser's.
    const base = `https://localhost:${server.port('https')}`;
    const context = await browser.newContext({
      viewport: { width: 1280, height: 860 },
      ignoreHTTPSErrors: true,
    });
    await context.addInitScript(RECORD_VIOLATIONS);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    try {
      await chatAllTheWay({ server, mia, zoe, base, context, page });
    } catch (err) {
      // What the page looked like when it went wrong, kept beside the other pictures.
      await page.screenshot({ path: path.join(SHOTS, 'chat-failure.png') }).catch(() => {});
      throw err;
    }
    await context.close();
  });
});

/** The whole story, in one browser context: see the file's comment. */
async function chatAllTheWay(t: {
  server: TestServer;
  mia: MsnpTestClient;
  zoe: TestXmppClient;
  base: string;
  context: BrowserContext;
  page: Page;
}): Promise<void> {
  const { server, mia, zoe, base, context, page } = t;
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));

  await page.goto(`${base}/signup`);
  await page.getByLabel('Account name').fill('nina');
  await page.getByLabel('Display name').fill('Nina');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Password again').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${base}/account?done=welcome`);
  await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Chat' }).click();
  await page.waitForURL(`${base}/chat`);

  // Signed in to XMPP without a password: the roster appears.
  const roster = page.locator('converse-roster');
  await roster.getByText('Contacts', { exact: false }).first().waitFor();
  const nina = (await server.server.core.accounts.get('nina@localhost')).id;
  assert.ok((await server.server.core.bus.listEndpoints(nina)).length > 0, 'an XMPP endpoint is online');
  // Nothing of the password is kept in the browser: not in storage, not in a cookie.
  const stored = (await page.evaluate(
    'JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])',
  )) as string;
  assert.ok(!stored.includes(PASSWORD));
  assert.ok(!(await context.cookies()).some((c) => c.value.includes(PASSWORD)));

  // Add the MSN user from Converse's own menu.
  await roster.locator('converse-dropdown button').first().click();
  await page.locator('a.add-contact').click();
  const modal = page.locator('converse-add-contact-modal');
  await modal.locator('input[name="jid"]').fill('mia@localhost');
  await modal.getByRole('button', { name: 'Add' }).click();

  // MSN Messenger hears "nina has added you" (RL), and adds her back: allow and forward list.
  await expectAddedBy(12, mia, 'nina@localhost');
  mia.send(`ADC ${mia.trid()} AL N=nina@localhost`);
  await mia.expect('ADC');
  mia.send(`ADC ${mia.trid()} FL N=nina@localhost F=nina@localhost`);
  await mia.expect('ADC');
  // The add-back is a subscription request, which Converse approves itself: Nina asked first.
  // Once Nina shows online to Mia, the subscriptions are mutual.
  await mia.expect('NLN', 20_000);

  // The MSN user in the roster: her MSN display name, online.
  const contact = roster.locator('a.open-chat[data-jid="mia@localhost"]');
  await contact.getByText(MIA_NAME).waitFor();
  await contact.locator('converse-icon[title="This contact is online"]').waitFor();
  await contact.click();

  // The chat: her name and her personal message (PSM) in the heading.
  const chat = page.locator('converse-chat[jid="mia@localhost"], .chatbox[jid="mia@localhost"]').first();
  await chat.locator('.chatbox-title__text').getByText(MIA_NAME).waitFor();
  await chat.locator('.chat-head__desc').getByText(MIA_PSM).waitFor();

  // The browser → MSN: Enter sends; MSN Messenger is rung into a switchboard.
  const box = chat.locator('textarea.chat-textarea');
  await box.fill('Hello from the browser ☺');
  await box.press('Enter');
  const rng = await mia.expect('RNG', 20_000);
  assert.equal(rng.args[4], 'nina@localhost');
  const [host, port] = (rng.args[1] ?? '').split(':');
  const sb = await MsnpTestClient.connect(Number(port), host);
  sb.send(`ANS ${sb.trid()} mia@localhost ${rng.args[3]} ${rng.args[0]}`);
  await sb.expect('ANS');
  const msg = await sb.expect('MSG');
  assert.equal(msg.args[0], 'nina@localhost');
  assert.match(msg.payload?.toString() ?? '', /\r\n\r\nHello from the browser ☺$/);

  // MSN → the browser.
  const trid = sb.trid();
  sb.sendPayload('MSG', [trid, 'A'], textMessage('Hi Nina, from MSN Messenger 7.5'));
  await sb.expect('ACK');
  await chat.locator('.chat-msg__text').getByText('Hi Nina, from MSN Messenger 7.5').waitFor();

  // Presence: MSN Messenger goes Busy; the page shows it.
  await msnpSetStatus(mia, 12, 'BSY');
  await contact.locator('converse-icon[title="This contact is busy"]').waitFor();

  // An XMPP user too: Nina adds Zoe from the same menu; Zoe's client is asked (RFC 6121
  // §3.1.3), approves and asks back, which Converse approves itself (Nina asked first).
  await roster.locator('converse-dropdown button').first().click();
  await page.locator('a.add-contact').click();
  await modal.locator('input[name="jid"]').fill('zoe@localhost');
  await modal.getByRole('button', { name: 'Add' }).click();
  await zoe.waitFor(
    (el) => el.is('presence') && el.attrs.type === 'subscribe' && el.attrs.from === 'nina@localhost',
    20_000,
  );
  await zoe.xmpp.send(xml('presence', { to: 'nina@localhost', type: 'subscribed' }));
  await zoe.xmpp.send(xml('presence', { to: 'nina@localhost', type: 'subscribe' }));
  const zoeContact = roster.locator('a.open-chat[data-jid="zoe@localhost"]');
  await zoeContact.locator('converse-icon[title="This contact is online"]').waitFor();
  await zoeContact.click();
  const zoeChat = page.locator('converse-chat[jid="zoe@localhost"], .chatbox[jid="zoe@localhost"]').first();
  const zoeBox = zoeChat.locator('textarea.chat-textarea');
  await zoeBox.fill('Hello Zoe, from the browser');
  await zoeBox.press('Enter');
  const hello = await zoe.waitFor(
    (el) => el.is('message') && el.getChildText('body') === 'Hello Zoe, from the browser',
    20_000,
  );
  assert.match(hello.attrs.from ?? '', /^nina@localhost\//);
  await zoe.xmpp.send(
    xml('message', { to: hello.attrs.from, type: 'chat' }, xml('body', {}, 'Hi Nina, from an XMPP client')),
  );
  await zoeChat.locator('.chat-msg__text').getByText('Hi Nina, from an XMPP client').waitFor();

  // Back to Mia's chat for the pictures.
  await contact.click();
  await chat.locator('.chat-msg__text').getByText('Hi Nina, from MSN Messenger 7.5').waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'chat-desktop.png') });

  // A phone-sized window: the chat fills it, nothing scrolls sideways.
  await page.setViewportSize({ width: 375, height: 740 });
  await chat.locator('.chat-msg__text').getByText('Hi Nina, from MSN Messenger 7.5').waitFor();
  assert.equal(
    await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'),
    true,
    '/chat scrolls sideways on a phone',
  );
  await page.screenshot({ path: path.join(SHOTS, 'chat-phone.png') });

  // The page's CSP held. Refused, and harmless: Converse's sponsors' logos (another site),
  // and the one <style> element its bundle inserts, which is empty (its CSS is in
  // converse.min.css).
  for (const v of await violations(page)) {
    const expected =
      (v.directive === 'img-src' && v.blocked.startsWith('https://conversejs.org/')) ||
      (v.directive === 'style-src-elem' && v.blocked === 'inline' && /\/converse\.min\.js$/.test(v.source));
    assert.ok(expected, JSON.stringify(v));
  }
  assert.deepEqual(errors, []);

  // Signing out in another tab ends the chat: Mia sees Nina go offline, and the chat tab
  // goes to the sign-in page (which brings her back to /chat).
  const other = await context.newPage();
  await other.goto(`${base}/account`);
  await other.getByRole('button', { name: 'Sign out' }).click();
  await other.waitForURL(`${base}/signin`);
  const fln = await mia.expect('FLN', 20_000);
  assert.equal(fln.args[0], 'nina@localhost');
  await page.waitForURL(`${base}/signin?return=%2Fchat`, { timeout: 30_000 });
  assert.equal((await server.server.core.bus.listEndpoints(nina)).length, 0);
  await sb.close();
}
