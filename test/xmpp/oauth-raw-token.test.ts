import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NS } from '../../src/xmpp/namespaces.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { RawXmppClient, targetOf, xml } from '../support/xmpp-raw.ts';

/**
 * Issue 9: slixmpp (and SleekXMPP) send X-MESSENGER-OAUTH2's access token in `<auth/>`
 * as it is, the way Windows Live Messenger's XMPP service took it, not base64.
 */
describe('X-MESSENGER-OAUTH2 with the token as slixmpp sends it', () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const account = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'sly@localhost',
      password: 'sly-secret',
    });
    const { client } = await core.oauth.registerClient({
      name: 'slixmpp bot',
      redirectUris: ['http://127.0.0.1:9/cb'],
      confidential: false,
      ownerId: null,
    });
    token = (
      await core.oauth.issueTokens({
        clientId: client.id,
        accountId: account.id,
        scopes: ['wl.messenger'],
        refresh: false,
      })
    ).accessToken;
  });
  after(() => server.stop());

  /** Sends `<auth mechanism='X-MESSENGER-OAUTH2'>text</auth>` over TLS; the answer's name, or the failure condition. */
  async function authWithText(text: string, then?: (c: RawXmppClient) => Promise<void>): Promise<string> {
    const client = await RawXmppClient.connect(targetOf(server));
    try {
      await client.open();
      await client.starttls();
      const answer = client.expect((el) => el.xmlns === NS.sasl);
      await client.send(xml('auth', { xmlns: NS.sasl, mechanism: 'X-MESSENGER-OAUTH2' }, text));
      const el = await answer;
      if (el.name === 'success' && then) await then(client);
      return el.name === 'success' ? 'success' : (el.getChildren()[0]?.name ?? el.name);
    } finally {
      client.destroy();
    }
  }

  it('the raw token signs in, and the session binds as the token’s account', async () => {
    let jid = '';
    const outcome = await authWithText(token, async (c) => {
      // RFC 6120 §6.4.6: a new stream after <success/>.
      (c as unknown as { restartAfterSasl(): void }).restartAfterSasl();
      await c.open();
      jid = await c.bind('bot');
    });
    assert.equal(outcome, 'success');
    assert.equal(jid, 'sly@localhost/bot');
  });

  it('the base64-encoded token still signs in', async () => {
    assert.equal(await authWithText(Buffer.from(token).toString('base64')), 'success');
  });

  it('garbage, raw or base64, fails with not-authorized', async () => {
    assert.equal(await authWithText('not-a-token-of-ours'), 'not-authorized');
    assert.equal(await authWithText(Buffer.from('not-a-token-of-ours').toString('base64')), 'not-authorized');
  });
});
