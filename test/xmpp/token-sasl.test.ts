import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalBus } from '../../src/bus/local.ts';
import { type Core, createCore } from '../../src/core/core.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { createMechanism } from '../../src/xmpp/sasl/mechanism.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { RawXmppClient, targetOf } from '../support/xmpp-raw.ts';

/** A public OAuth client of `core`'s authorization server. */
async function registerApp(core: Core, name: string) {
  const { client } = await core.oauth.registerClient({
    name,
    redirectUris: ['http://127.0.0.1:9/cb'],
    confidential: false,
    ownerId: null,
  });
  return client;
}

/**
 * Issue 5, done when: "a token without wl.messenger, an expired, revoked or unknown token
 * each fail SASL with <not-authorized/>" — with the real OAuth service behind SASL.
 */
describe('XMPP sign-in with OAuth tokens from the real authorization server', () => {
  let server: TestServer;
  let good: string;
  let noScope: string;
  let revoked: string;
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const account = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'tina@localhost',
      password: 'tina-secret',
    });
    const client = await registerApp(core, 'Test app');
    const issue = async (scopes: Parameters<typeof core.oauth.issueTokens>[0]['scopes']) =>
      (await core.oauth.issueTokens({ clientId: client.id, accountId: account.id, scopes, refresh: false }))
        .accessToken;
    good = await issue(['wl.messenger', 'wl.basic']);
    noScope = await issue(['wl.basic', 'wl.emails']);
    revoked = await issue(['wl.messenger']);
    await core.oauth.revoke(revoked);
  });
  after(() => server.stop());

  async function signIn(mechanism: 'X-MESSENGER-OAUTH2' | 'OAUTHBEARER', token: string): Promise<string> {
    const client = await RawXmppClient.connect(targetOf(server));
    try {
      await client.open();
      await client.starttls();
      const message =
        mechanism === 'OAUTHBEARER' ? Buffer.from(`n,,\x01auth=Bearer ${token}\x01\x01`) : Buffer.from(token);
      let answer = await client.saslAuth(mechanism, message);
      // RFC 7628 §3.2.3: an error challenge is answered with a single %x01.
      if (answer.name === 'challenge') {
        const reply = client.expect((el) => el.name === 'failure' || el.name === 'success');
        await client.write(
          `<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${Buffer.from('\x01').toString('base64')}</response>`,
        );
        answer = await reply;
      }
      return answer.name === 'success' ? 'success' : (answer.getChildren()[0]?.name ?? 'failure');
    } finally {
      client.destroy();
    }
  }

  for (const mechanism of ['X-MESSENGER-OAUTH2', 'OAUTHBEARER'] as const) {
    it(`${mechanism}: a wl.messenger token signs in`, async () => {
      assert.equal(await signIn(mechanism, good), 'success');
    });
    it(`${mechanism}: without wl.messenger, revoked, or unknown → not-authorized`, async () => {
      assert.equal(await signIn(mechanism, noScope), 'not-authorized');
      assert.equal(await signIn(mechanism, revoked), 'not-authorized');
      assert.equal(await signIn(mechanism, 'AAAAunknownTOKEN0000'), 'not-authorized');
    });
  }

  it('an expired token → not-authorized (service clock moved past the lifetime)', async () => {
    let now = Date.now();
    const store = await openSqliteStore(':memory:');
    await store.migrate();
    const bus = new LocalBus();
    const core = createCore(store, bus, { clock: () => now, oauthAccessTokenSeconds: 60 });
    const account = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'old@localhost',
      password: 'old-secret',
    });
    const client = await registerApp(core, 'Old app');
    const { accessToken } = await core.oauth.issueTokens({
      clientId: client.id,
      accountId: account.id,
      scopes: ['wl.messenger'],
      refresh: false,
    });
    const ctx = { core, domain: 'localhost', address: '127.0.0.1', secure: true };
    const fresh = await createMechanism('X-MESSENGER-OAUTH2', ctx)?.start(Buffer.from(accessToken));
    assert.equal(fresh?.kind, 'success');
    now += 61_000;
    const stale = await createMechanism('X-MESSENGER-OAUTH2', ctx)?.start(Buffer.from(accessToken));
    assert.deepEqual(stale?.kind === 'failure' ? stale.condition : stale?.kind, 'not-authorized');
    await bus.close();
    await store.close();
  });
});
