import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisBus } from '../../src/bus/redis.ts';
import type { Core } from '../../src/core/core.ts';
import type { Scope } from '../../src/core/oauth-api.ts';
import { NS } from '../../src/xmpp/namespaces.ts';
import { type Cluster, startCluster } from '../support/cluster.ts';
import { httpsRequest, type TestServer } from '../support/papillon-server.ts';
import { testPrefix, testRedisUrl } from '../support/redis.ts';
import { csrfOf, signIn, WebClient } from '../support/web-client.ts';
import { RawXmppClient, targetOf, xml } from '../support/xmpp-raw.ts';

/** An XMPP session signed in with an access token (X-MESSENGER-OAUTH2, raw as slixmpp sends it) and bound. */
async function signInWithToken(node: TestServer, token: string, resource: string): Promise<RawXmppClient> {
  const client = await RawXmppClient.connect(targetOf(node));
  try {
    await client.open();
    await client.starttls();
    const answer = client.expect((el) => el.xmlns === NS.sasl);
    await client.send(xml('auth', { xmlns: NS.sasl, mechanism: 'X-MESSENGER-OAUTH2' }, token));
    assert.equal((await answer).name, 'success');
    // RFC 6120 §6.4.6: a new stream after <success/>.
    (client as unknown as { restartAfterSasl(): void }).restartAfterSasl();
    await client.open();
    await client.bind(resource);
    return client;
  } catch (err) {
    client.destroy();
    throw err;
  }
}

/**
 * Issue 11: revoking an OAuth token ends, on every node, the XMPP sessions that signed
 * in with it, whichever node the revocation reached, and only those.
 */
describe('OAuth revocation across cluster nodes (Redis bus)', () => {
  let cluster: Cluster;
  let a: TestServer;
  let b: TestServer;
  let core: Core;
  let accountId = '';
  let appId = '';
  const open: RawXmppClient[] = [];

  const issue = async (scopes: Scope[] = ['wl.messenger'], refresh = false) =>
    core.oauth.issueTokens({ clientId: appId, accountId, scopes, refresh });
  const session = async (node: TestServer, token: string, resource: string) => {
    const client = await signInWithToken(node, token, resource);
    open.push(client);
    return client;
  };

  before(async () => {
    const prefix = testPrefix();
    const url = testRedisUrl();
    cluster = await startCluster(2, {
      busFor: (nodeId) => RedisBus.open({ url, nodeId, keyPrefix: prefix }),
    });
    [a, b] = cluster.nodes as [TestServer, TestServer];
    core = a.server.core;
    accountId = (await core.accounts.create({ handle: 'tia@localhost', password: 'tia-secret' })).id;
    const { client } = await core.oauth.registerClient({
      name: 'Bot',
      redirectUris: ['http://127.0.0.1:9/cb'],
      confidential: false,
      ownerId: null,
    });
    appId = client.id;
  });
  after(async () => {
    for (const client of open) client.destroy();
    await cluster.stop();
  });

  it('RFC 7009 revocation at node A ends the session signed in with that token on node B, only that one', async () => {
    const revoked = (await issue()).accessToken;
    const other = (await issue()).accessToken;
    const bot = await session(b, revoked, 'bot');
    const keeper = await session(b, other, 'keeper');
    const password = await RawXmppClient.login(targetOf(b), {
      username: 'tia',
      password: 'tia-secret',
      mechanism: 'PLAIN',
      resource: 'desk',
    });
    open.push(password);
    const res = await httpsRequest(a, {
      path: '/oauth/revoke',
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: revoked, client_id: appId }).toString(),
    });
    assert.equal(res.status, 200);
    const error = await bot.expectStreamError(10_000);
    assert.equal(error.condition, 'not-authorized');
    await bot.closed();
    // The sessions with another token or the password stay: each still answers.
    for (const client of [keeper, password]) {
      const pong = await client.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
      assert.equal(pong.attrs.type, 'result');
    }
  });

  it('revoking a refresh token ends the sessions of its grant’s access tokens on every node', async () => {
    const tokens = await issue(['wl.messenger', 'wl.offline_access'], true);
    assert.ok(tokens.refreshToken);
    const onA = await session(a, tokens.accessToken, 'grant-a');
    const onB = await session(b, tokens.accessToken, 'grant-b');
    await b.server.core.oauth.revoke(tokens.refreshToken ?? '');
    for (const client of [onA, onB])
      assert.equal((await client.expectStreamError(10_000)).condition, 'not-authorized');
  });

  it('the user taking the app’s access away on the account page at node A ends its sessions on node B', async () => {
    const bot = await session(b, (await issue()).accessToken, 'app');
    const browser = new WebClient(`http://127.0.0.1:${a.port('http')}`);
    assert.equal((await signIn(browser, 'tia@localhost', 'tia-secret')).status, 303);
    const csrf = csrfOf((await browser.get('/account')).body);
    assert.equal((await browser.post('/account/apps/revoke', { csrf, client_id: appId })).status, 303);
    assert.equal((await bot.expectStreamError(10_000)).condition, 'not-authorized');
  });
});
