import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { signIn, WebClient } from '../support/web-client.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';

/** Debian's python3-slixmpp (installed by .ci/run) goes here, not into a pyenv python3 that may come first on PATH. */
const PYTHON = '/usr/bin/python3';
const BOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'slixmpp-bot.py');

interface BotEvent {
  event: string;
  jid?: string;
  sender?: string;
  body?: string;
}

/**
 * Runs the slixmpp bot (support/slixmpp-bot.py) with `token` against the STARTTLS port;
 * `onEvent` sees each event as the bot reports it. Resolves with all of them once it exits.
 */
function runBot(
  server: TestServer,
  caFile: string,
  jid: string,
  token: string,
  onEvent: (e: BotEvent) => void = () => {},
): Promise<BotEvent[]> {
  const child = spawn(PYTHON, [BOT, jid, '127.0.0.1', String(server.port('xmpp')), caFile, 'eve@localhost'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(`${token}\n`);
  const events: BotEvent[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as BotEvent;
    events.push(event);
    onEvent(event);
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(killer);
      if (!events.some((e) => e.event === 'disconnected')) {
        reject(new Error(`slixmpp bot ended without disconnecting: ${stderr.slice(-2000)}`));
      } else resolve(events);
    });
  });
}

const REDIRECT = 'https://bot.example/callback';

/**
 * An access token the way a bot's owner gets one: signed in on the web pages, consents on
 * the authorization page (RFC 6749 §4.1 with PKCE, RFC 7636), and the bot redeems the code.
 */
async function tokenFromOAuthServer(server: TestServer, clientId: string): Promise<string> {
  const browser = new WebClient(`http://127.0.0.1:${server.port('http')}`);
  assert.equal((await signIn(browser, 'sly@localhost', 'sly-secret')).status, 303);
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: 'wl.messenger',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const page = await browser.get(`/oauth/authorize?${query}`);
  assert.equal(page.status, 200, page.body);
  const form = new URLSearchParams();
  for (const [, name, value] of page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.append(
      name ?? '',
      (value ?? '').replaceAll('&amp;', '&').replaceAll('&#39;', "'").replaceAll('&quot;', '"'),
    );
  }
  form.append('decision', 'allow');
  const allowed = await browser.post('/oauth/authorize', form);
  const code = new URL(allowed.location ?? 'x:').searchParams.get('code');
  assert.ok(code, `no code in ${allowed.location}`);
  const redeemed = await new WebClient(browser.base).post('/oauth/token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    client_id: clientId,
    code_verifier: verifier,
  });
  assert.equal(redeemed.status, 200, redeemed.body);
  return (redeemed.json as { access_token: string }).access_token;
}

/**
 * Issue 9: slixmpp — a real third-party XMPP library, the one bots are written with —
 * signs in with X-MESSENGER-OAUTH2 (the token as it is, Windows Live Messenger's form),
 * with a token from Papillon's OAuth server, and chats with an @xmpp/client user.
 */
describe('slixmpp signs in with X-MESSENGER-OAUTH2', () => {
  let server: TestServer;
  let token: string;
  let caFile: string;
  let eve: TestXmppClient;

  before(async () => {
    server = await startTestServer();
    caFile = path.join(server.dataDir, 'test-ca.crt');
    writeFileSync(caFile, server.ca);
    const core = server.server.core;
    await core.accounts.create({
      privacy: 'allow-all',
      handle: 'sly@localhost',
      password: 'sly-secret',
    });
    await core.accounts.create({ privacy: 'allow-all', handle: 'eve@localhost', password: 'eve-secret' });
    const { client } = await core.oauth.registerClient({
      name: 'slixmpp bot',
      redirectUris: [REDIRECT],
      confidential: false,
      ownerId: null,
    });
    token = await tokenFromOAuthServer(server, client.id);
    eve = await connectXmpp(server, { username: 'eve', password: 'eve-secret', resource: 'desk' });
    await eve.xmpp.send(xml('presence'));
  });
  after(async () => {
    await eve?.stop();
    await server?.stop();
  });

  it('binds, says hello to an @xmpp/client user and reads the answer', async () => {
    const done = runBot(server, caFile, 'sly@localhost/bot', token, (e) => {
      if (e.event === 'session_start') {
        eve
          .waitFor((el) => el.is('message') && el.getChildText('body') === 'hello from slixmpp', 20_000)
          .then((hello) =>
            eve.xmpp.send(xml('message', { to: hello.attrs.from, type: 'chat' }, xml('body', {}, 'hi bot'))),
          )
          .catch(() => {});
      }
    });
    const events = await done;
    const start = events.find((e) => e.event === 'session_start');
    assert.ok(start, `no session: ${JSON.stringify(events)}`);
    assert.equal(start.jid, 'sly@localhost/bot');
    const reply = events.find((e) => e.event === 'message');
    assert.equal(reply?.body, 'hi bot');
    assert.match(reply?.sender ?? '', /^eve@localhost\/desk$/);
  });

  it('a token that is not ours fails authentication, as slixmpp reports it', async () => {
    const events = await runBot(server, caFile, 'sly@localhost/bot', 'not-a-token-of-ours');
    assert.ok(
      events.some((e) => e.event === 'failed_auth'),
      JSON.stringify(events),
    );
    assert.ok(!events.some((e) => e.event === 'session_start'));
  });
});
