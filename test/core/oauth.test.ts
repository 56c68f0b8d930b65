import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { OAuthService } from '../../src/core/oauth.ts';
import { type OAuthClient, OAuthError, type OAuthErrorCode, type Scope } from '../../src/core/oauth-api.ts';
import { CODE_LIFETIME_MS } from '../../src/core/oauth-codes.ts';
import { REFRESH_TOKEN_LIFETIME_MS } from '../../src/core/oauth-tokens.ts';
import { hashToken } from '../../src/core/tickets.ts';
import { WEB_SESSION_LIFETIME_MS, WebSessions } from '../../src/core/web-sessions.ts';
import type { AccountRow } from '../../src/store/types.ts';
import { type CoreFixture, coreFixture } from '../support/core-fixture.ts';

/** RFC 7636 Appendix B's example pair. */
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const CB = 'https://app.example/cb';
const APP_CB = 'com.example.app:/oauth';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const CLIENT_ID = /^[0-9a-f]{32}$/;

function rejectsWith(code: OAuthErrorCode, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof OAuthError, `expected an OAuthError, got ${String(err)}`);
    assert.equal(err.code, code, err.description);
    if (pattern !== undefined) assert.match(err.description, pattern);
    return true;
  };
}

describe('OAuth service', () => {
  let fx: CoreFixture;
  let alice: AccountRow;
  let bob: AccountRow;
  let now: number;
  let oauth: OAuthService;
  /** A confidential client with its secret, and a public one (PKCE required). */
  let web: OAuthClient;
  let webSecret: string;
  let mobile: OAuthClient;

  before(async () => {
    fx = await coreFixture();
    alice = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'alice@localhost',
      password: 'correct horse 1',
    });
    bob = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'bob@localhost',
      password: 'correct horse 2',
    });
  });
  after(() => fx.close());

  beforeEach(async () => {
    now = 1_700_000_000_000;
    oauth = new OAuthService(fx.core.store, { clock: () => now });
    const registered = await oauth.registerClient({
      name: 'Web App',
      redirectUris: [CB, 'http://localhost:8080/cb'],
      confidential: true,
      ownerId: null,
    });
    web = registered.client;
    webSecret = registered.secret ?? '';
    mobile = (
      await oauth.registerClient({
        name: 'Phone',
        redirectUris: [APP_CB],
        confidential: false,
        ownerId: null,
      })
    ).client;
  });

  /** Authorizes `scopes` for alice on the public client and redeems the code. */
  async function mobileTokens(scopes: Scope[] = ['wl.messenger', 'wl.offline_access'], account = alice) {
    const code = await oauth.issueCode({
      clientId: mobile.id,
      accountId: account.id,
      redirectUri: APP_CB,
      scopes,
      codeChallenge: CHALLENGE,
      codeChallengeMethod: 'S256',
    });
    return oauth.redeemCode({ code, clientId: mobile.id, redirectUri: APP_CB, codeVerifier: VERIFIER });
  }

  describe('scopes', () => {
    it('parses space- and comma-separated scopes, deduplicated, in the order of SCOPES', () => {
      assert.deepEqual(oauth.parseScopes('wl.offline_access wl.messenger'), [
        'wl.messenger',
        'wl.offline_access',
      ]);
      assert.deepEqual(oauth.parseScopes('wl.basic,wl.signin, wl.basic  wl.messenger'), [
        'wl.messenger',
        'wl.signin',
        'wl.basic',
      ]);
      assert.deepEqual(oauth.parseScopes(undefined), []);
      assert.deepEqual(oauth.parseScopes(' , '), []);
    });

    it('refuses an unknown scope with invalid_scope', () => {
      assert.throws(
        () => oauth.parseScopes('wl.messenger wl.skydrive'),
        rejectsWith('invalid_scope', /wl\.skydrive/),
      );
      assert.throws(() => oauth.parseScopes('WL.MESSENGER'), rejectsWith('invalid_scope'));
    });
  });

  describe('clients', () => {
    it('gives a confidential client a secret, kept only as its SHA-256', async () => {
      assert.match(web.id, CLIENT_ID);
      assert.match(webSecret, TOKEN);
      assert.equal(web.confidential, true);
      assert.deepEqual(web.redirectUris, [CB, 'http://localhost:8080/cb']);
      const row = await fx.core.store.getOAuthClient(web.id);
      assert.equal(row?.secretHash, hashToken(webSecret));
      assert.equal(mobile.confidential, false);
      assert.equal((await fx.core.store.getOAuthClient(mobile.id))?.secretHash, null);
      assert.deepEqual(await oauth.getClient(web.id), web);
      assert.equal(await oauth.getClient('nope'), undefined);
    });

    it('makes client ids a command line can take: hex, never a leading "-"', async () => {
      // `papillon app delete <client_id>` once failed in CI on an id that began with "-".
      for (let i = 0; i < 20; i++) {
        const { client } = await oauth.registerClient({
          name: `App ${i}`,
          redirectUris: [CB],
          confidential: false,
          ownerId: null,
        });
        assert.match(client.id, CLIENT_ID);
      }
    });

    it('accepts https, loopback http and reverse-domain app schemes as redirect URIs', async () => {
      const { client } = await oauth.registerClient({
        name: '  Many  ',
        redirectUris: [
          'https://example.org/a?x=1',
          'http://127.0.0.1:53682/',
          'http://[::1]/cb',
          'com.example.app:/cb',
          'com.example.app:/cb',
        ],
        confidential: false,
        ownerId: alice.id,
      });
      assert.equal(client.name, 'Many');
      assert.equal(client.redirectUris.length, 4, 'duplicates dropped');
      assert.equal(client.ownerId, alice.id);
    });

    const badUris: Array<[string, RegExp]> = [
      ['http://app.example/cb', /https/],
      ['https://app.example/cb#frag', /fragment/],
      ['/relative/cb', /absolute/],
      ['javascript:alert(1)', /app scheme/],
      ['myapp:/cb', /app scheme/],
      ['data:text/html,hi', /app scheme/],
      ['https://user:pw@app.example/cb', /user name/],
    ];
    for (const [uri, message] of badUris) {
      it(`refuses the redirect URI ${uri}`, async () => {
        await assert.rejects(
          oauth.registerClient({ name: 'Bad', redirectUris: [CB, uri], confidential: true, ownerId: null }),
          rejectsWith('invalid_request', message),
        );
      });
    }

    it('refuses an unknown owner, and codes or tokens for an unknown account', async () => {
      await assert.rejects(
        oauth.registerClient({ name: 'X', redirectUris: [CB], confidential: true, ownerId: 'nobody' }),
        rejectsWith('invalid_request', /no such account/),
      );
      await assert.rejects(
        oauth.issueCode({ clientId: web.id, accountId: 'nobody', redirectUri: CB, scopes: ['wl.signin'] }),
        rejectsWith('invalid_request', /no such account/),
      );
      await assert.rejects(
        oauth.issueTokens({ clientId: web.id, accountId: 'nobody', scopes: ['wl.signin'], refresh: false }),
        rejectsWith('invalid_request', /no such account/),
      );
    });

    it('refuses a client without a name or without redirect URIs', async () => {
      await assert.rejects(
        oauth.registerClient({ name: ' ', redirectUris: [CB], confidential: true, ownerId: null }),
        rejectsWith('invalid_request', /name/),
      );
      await assert.rejects(
        oauth.registerClient({ name: 'X', redirectUris: [], confidential: true, ownerId: null }),
        rejectsWith('invalid_request', /redirect/),
      );
    });

    it('authenticates a confidential client by its secret; a public one has none', async () => {
      assert.equal((await oauth.authenticateClient(web.id, webSecret)).id, web.id);
      await assert.rejects(oauth.authenticateClient(web.id, `${webSecret}x`), rejectsWith('invalid_client'));
      await assert.rejects(oauth.authenticateClient(web.id, undefined), rejectsWith('invalid_client'));
      await assert.rejects(oauth.authenticateClient(web.id, ''), rejectsWith('invalid_client'));
      await assert.rejects(oauth.authenticateClient('unknown', webSecret), rejectsWith('invalid_client'));
      assert.equal((await oauth.authenticateClient(mobile.id, undefined)).id, mobile.id);
      await assert.rejects(oauth.authenticateClient(mobile.id, 'guess'), rejectsWith('invalid_client'));
    });

    it('lists clients, per owner; an owner deletes only its own', async () => {
      const { client: owned } = await oauth.registerClient({
        name: 'Owned',
        redirectUris: [CB],
        confidential: true,
        ownerId: bob.id,
      });
      assert.deepEqual(await oauth.listClients(bob.id), [owned]);
      const all = (await oauth.listClients()).map((c) => c.id);
      assert.ok(all.includes(owned.id) && all.includes(web.id));
      assert.equal(await oauth.deleteClient(owned.id, alice.id), false);
      assert.equal(await oauth.deleteClient(owned.id, bob.id), true);
      assert.deepEqual(await oauth.listClients(bob.id), []);
    });

    it('deleting a client revokes its tokens and codes', async () => {
      const tokens = await mobileTokens();
      const code = await oauth.issueCode({
        clientId: mobile.id,
        accountId: alice.id,
        redirectUri: APP_CB,
        scopes: ['wl.messenger'],
        codeChallenge: CHALLENGE,
        codeChallengeMethod: 'S256',
      });
      assert.ok(await oauth.validate(tokens.accessToken));
      assert.equal(await oauth.deleteClient(mobile.id), true);
      assert.equal(await oauth.validate(tokens.accessToken), undefined);
      await assert.rejects(
        oauth.refresh({ refreshToken: tokens.refreshToken ?? '', clientId: mobile.id }),
        rejectsWith('invalid_grant'),
      );
      await assert.rejects(
        oauth.redeemCode({ code, clientId: mobile.id, redirectUri: APP_CB, codeVerifier: VERIFIER }),
        rejectsWith('invalid_grant'),
      );
    });
  });

  describe('authorization codes and PKCE', () => {
    it('redeems a public client’s code with the right verifier (RFC 7636 Appendix B)', async () => {
      const tokens = await mobileTokens(['wl.offline_access', 'wl.messenger', 'wl.basic']);
      assert.match(tokens.accessToken, TOKEN);
      assert.match(tokens.refreshToken ?? '', TOKEN);
      assert.equal(tokens.tokenType, 'Bearer');
      assert.equal(tokens.expiresIn, 3600);
      assert.deepEqual(tokens.scopes, ['wl.messenger', 'wl.basic', 'wl.offline_access']);
      assert.equal(tokens.accountId, alice.id);
      // Only hashes are stored.
      const row = await fx.core.store.getOAuthToken(hashToken(tokens.accessToken));
      assert.equal(row?.kind, 'access');
      assert.equal(await fx.core.store.getOAuthToken(tokens.accessToken), undefined);
    });

    it('requires PKCE of a public client, and refuses `plain`', async () => {
      const base = {
        clientId: mobile.id,
        accountId: alice.id,
        redirectUri: APP_CB,
        scopes: ['wl.messenger'] as Scope[],
      };
      await assert.rejects(oauth.issueCode(base), rejectsWith('invalid_request', /PKCE/));
      await assert.rejects(
        oauth.issueCode({ ...base, codeChallenge: VERIFIER, codeChallengeMethod: 'plain' as 'S256' }),
        rejectsWith('invalid_request', /S256/),
      );
      // RFC 7636 §4.3: no method means plain.
      await assert.rejects(
        oauth.issueCode({ ...base, codeChallenge: CHALLENGE }),
        rejectsWith('invalid_request'),
      );
      await assert.rejects(
        oauth.issueCode({ ...base, codeChallenge: 'short', codeChallengeMethod: 'S256' }),
        rejectsWith('invalid_request', /code_challenge/),
      );
    });

    it('refuses a wrong, missing or malformed verifier with invalid_grant', async () => {
      const issue = () =>
        oauth.issueCode({
          clientId: mobile.id,
          accountId: alice.id,
          redirectUri: APP_CB,
          scopes: ['wl.messenger'],
          codeChallenge: CHALLENGE,
          codeChallengeMethod: 'S256',
        });
      const wrong = `${VERIFIER.slice(0, -1)}Y`;
      for (const codeVerifier of [wrong, undefined, '', 'too-short', CHALLENGE]) {
        const code = await issue();
        await assert.rejects(
          oauth.redeemCode({
            code,
            clientId: mobile.id,
            redirectUri: APP_CB,
            ...(codeVerifier === undefined ? {} : { codeVerifier }),
          }),
          rejectsWith('invalid_grant'),
          String(codeVerifier),
        );
        // A failed check does not spend the code.
        const tokens = await oauth.redeemCode({
          code,
          clientId: mobile.id,
          redirectUri: APP_CB,
          codeVerifier: VERIFIER,
        });
        assert.ok(tokens.accessToken);
      }
    });

    it('lets a confidential client go without PKCE, but refuses a verifier nobody challenged (downgrade)', async () => {
      const issue = () =>
        oauth.issueCode({ clientId: web.id, accountId: alice.id, redirectUri: CB, scopes: ['wl.signin'] });
      const plainCode = await issue();
      const tokens = await oauth.redeemCode({ code: plainCode, clientId: web.id, redirectUri: CB });
      assert.deepEqual(tokens.scopes, ['wl.signin']);
      assert.equal(tokens.refreshToken, undefined, 'no refresh token without wl.offline_access');
      await assert.rejects(
        oauth.redeemCode({ code: await issue(), clientId: web.id, redirectUri: CB, codeVerifier: VERIFIER }),
        rejectsWith('invalid_grant', /code_verifier/),
      );
      // With PKCE anyway: checked like a public client's.
      const pkce = await oauth.issueCode({
        clientId: web.id,
        accountId: alice.id,
        redirectUri: CB,
        scopes: ['wl.signin'],
        codeChallenge: createHash('sha256').update('v'.repeat(50)).digest('base64url'),
        codeChallengeMethod: 'S256',
      });
      await assert.rejects(
        oauth.redeemCode({ code: pkce, clientId: web.id, redirectUri: CB }),
        rejectsWith('invalid_grant'),
      );
      assert.ok(
        await oauth.redeemCode({
          code: pkce,
          clientId: web.id,
          redirectUri: CB,
          codeVerifier: 'v'.repeat(50),
        }),
      );
    });

    it('matches redirect URIs exactly, when issuing and when redeeming', async () => {
      for (const redirectUri of [
        `${CB}/`,
        'https://APP.example/cb',
        `${CB}?x=1`,
        'http://localhost:8081/cb',
      ]) {
        await assert.rejects(
          oauth.issueCode({ clientId: web.id, accountId: alice.id, redirectUri, scopes: ['wl.signin'] }),
          rejectsWith('invalid_request', /redirect/),
          redirectUri,
        );
      }
      const code = await oauth.issueCode({
        clientId: web.id,
        accountId: alice.id,
        redirectUri: 'http://localhost:8080/cb',
        scopes: ['wl.signin'],
      });
      await assert.rejects(
        oauth.redeemCode({ code, clientId: web.id, redirectUri: CB }),
        rejectsWith('invalid_grant'),
      );
      assert.ok(await oauth.redeemCode({ code, clientId: web.id, redirectUri: 'http://localhost:8080/cb' }));
    });

    it('refuses a code presented by another client, an unknown client or no scope', async () => {
      const code = await oauth.issueCode({
        clientId: web.id,
        accountId: alice.id,
        redirectUri: CB,
        scopes: ['wl.signin'],
      });
      await assert.rejects(
        oauth.redeemCode({ code, clientId: mobile.id, redirectUri: CB }),
        rejectsWith('invalid_grant'),
      );
      await assert.rejects(
        oauth.issueCode({ clientId: 'unknown', accountId: alice.id, redirectUri: CB, scopes: ['wl.signin'] }),
        rejectsWith('invalid_client'),
      );
      await assert.rejects(
        oauth.issueCode({ clientId: web.id, accountId: alice.id, redirectUri: CB, scopes: [] }),
        rejectsWith('invalid_scope'),
      );
      await assert.rejects(
        oauth.issueCode({
          clientId: web.id,
          accountId: alice.id,
          redirectUri: CB,
          scopes: ['wl.photos' as Scope],
        }),
        rejectsWith('invalid_scope'),
      );
    });

    it('expires codes after 10 minutes', async () => {
      const issue = () =>
        oauth.issueCode({ clientId: web.id, accountId: alice.id, redirectUri: CB, scopes: ['wl.signin'] });
      const onTime = await issue();
      const late = await issue();
      now += CODE_LIFETIME_MS - 1;
      assert.ok(await oauth.redeemCode({ code: onTime, clientId: web.id, redirectUri: CB }));
      now += 1;
      await assert.rejects(
        oauth.redeemCode({ code: late, clientId: web.id, redirectUri: CB }),
        rejectsWith('invalid_grant', /expired/),
      );
    });

    it('redeems a code once; a replay revokes every token it issued (RFC 6749 §4.1.2)', async () => {
      const code = await oauth.issueCode({
        clientId: mobile.id,
        accountId: alice.id,
        redirectUri: APP_CB,
        scopes: ['wl.messenger', 'wl.offline_access'],
        codeChallenge: CHALLENGE,
        codeChallengeMethod: 'S256',
      });
      const redeem = () =>
        oauth.redeemCode({ code, clientId: mobile.id, redirectUri: APP_CB, codeVerifier: VERIFIER });
      const first = await redeem();
      // The refresh token was rotated once already: the rotation is revoked too.
      const rotated = await oauth.refresh({ refreshToken: first.refreshToken ?? '', clientId: mobile.id });
      const unrelated = await mobileTokens();
      await assert.rejects(redeem(), rejectsWith('invalid_grant', /already used/));
      for (const token of [first.accessToken, rotated.accessToken])
        assert.equal(await oauth.validate(token), undefined);
      assert.equal((await oauth.introspect(rotated.refreshToken ?? '')).active, false);
      assert.ok(await oauth.validate(unrelated.accessToken), 'other grants are untouched');
    });

    it('lets one of concurrent redemptions win, and then revokes what it got', async () => {
      const code = await oauth.issueCode({
        clientId: web.id,
        accountId: alice.id,
        redirectUri: CB,
        scopes: ['wl.messenger'],
      });
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, () => oauth.redeemCode({ code, clientId: web.id, redirectUri: CB })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') rejectsWith('invalid_grant')(r.reason);
      const [winner] = won;
      assert.ok(winner?.status === 'fulfilled');
      assert.equal(await oauth.validate(winner.value.accessToken), undefined);
    });

    it('refuses garbage and unknown codes', async () => {
      for (const code of ['', 'x', 'A'.repeat(43), 'A'.repeat(10_000)]) {
        await assert.rejects(
          oauth.redeemCode({ code, clientId: web.id, redirectUri: CB }),
          rejectsWith('invalid_grant'),
        );
      }
    });
  });

  describe('access and refresh tokens', () => {
    it('gives access tokens the configured lifetime', async () => {
      oauth = new OAuthService(fx.core.store, { clock: () => now, accessTokenSeconds: 120 });
      const tokens = await mobileTokens(['wl.messenger']);
      assert.equal(tokens.expiresIn, 120);
      assert.equal(tokens.refreshToken, undefined);
      now += 119_999;
      assert.ok(await oauth.validate(tokens.accessToken));
      now += 1;
      assert.equal(await oauth.validate(tokens.accessToken), undefined);
      assert.throws(() => new OAuthService(fx.core.store, { accessTokenSeconds: 0 }), RangeError);
    });

    it('issues tokens directly (implicit grant): a refresh token only when asked and offline access is granted', async () => {
      const implicit = await oauth.issueTokens({
        clientId: mobile.id,
        accountId: alice.id,
        scopes: ['wl.messenger', 'wl.offline_access'],
        refresh: false,
      });
      assert.equal(implicit.refreshToken, undefined);
      const withRefresh = await oauth.issueTokens({
        clientId: mobile.id,
        accountId: alice.id,
        scopes: ['wl.offline_access'],
        refresh: true,
      });
      assert.match(withRefresh.refreshToken ?? '', TOKEN);
      const withoutOffline = await oauth.issueTokens({
        clientId: mobile.id,
        accountId: alice.id,
        scopes: ['wl.basic'],
        refresh: true,
      });
      assert.equal(withoutOffline.refreshToken, undefined);
      await assert.rejects(
        oauth.issueTokens({ clientId: 'unknown', accountId: alice.id, scopes: ['wl.basic'], refresh: false }),
        rejectsWith('invalid_client'),
      );
    });

    it('rotates refresh tokens; reusing an old one revokes the whole family (RFC 9700 §4.14.2)', async () => {
      const first = await mobileTokens();
      now += 1000;
      const second = await oauth.refresh({ refreshToken: first.refreshToken ?? '', clientId: mobile.id });
      assert.notEqual(second.refreshToken, first.refreshToken);
      assert.match(second.refreshToken ?? '', TOKEN);
      assert.deepEqual(second.scopes, ['wl.messenger', 'wl.offline_access']);
      assert.equal(
        (await oauth.introspect(first.refreshToken ?? '')).active,
        false,
        'the old one is revoked',
      );
      assert.ok(await oauth.validate(first.accessToken), 'access tokens already out keep working');
      const third = await oauth.refresh({ refreshToken: second.refreshToken ?? '', clientId: mobile.id });

      // The first refresh token comes back: stolen. Everything of the family dies.
      await assert.rejects(
        oauth.refresh({ refreshToken: first.refreshToken ?? '', clientId: mobile.id }),
        rejectsWith('invalid_grant'),
      );
      for (const t of [first.accessToken, second.accessToken, third.accessToken]) {
        assert.equal(await oauth.validate(t), undefined);
      }
      await assert.rejects(
        oauth.refresh({ refreshToken: third.refreshToken ?? '', clientId: mobile.id }),
        rejectsWith('invalid_grant'),
      );
    });

    it('refuses a refresh token of another client, an access token, or an expired one', async () => {
      const tokens = await mobileTokens();
      await assert.rejects(
        oauth.refresh({ refreshToken: tokens.refreshToken ?? '', clientId: web.id }),
        rejectsWith('invalid_grant', /another client/),
      );
      await assert.rejects(
        oauth.refresh({ refreshToken: tokens.accessToken, clientId: mobile.id }),
        rejectsWith('invalid_grant'),
      );
      await assert.rejects(
        oauth.refresh({ refreshToken: 'nonsense', clientId: mobile.id }),
        rejectsWith('invalid_grant'),
      );
      now += REFRESH_TOKEN_LIFETIME_MS;
      await assert.rejects(
        oauth.refresh({ refreshToken: tokens.refreshToken ?? '', clientId: mobile.id }),
        rejectsWith('invalid_grant', /expired/),
      );
    });

    it('lets a refresh narrow the scopes but not widen them', async () => {
      const tokens = await mobileTokens(['wl.messenger', 'wl.basic', 'wl.offline_access']);
      const narrow = await oauth.refresh({
        refreshToken: tokens.refreshToken ?? '',
        clientId: mobile.id,
        scopes: ['wl.basic'],
      });
      assert.deepEqual(narrow.scopes, ['wl.basic']);
      const grant = await oauth.validate(narrow.accessToken);
      assert.deepEqual(grant?.scopes, ['wl.basic']);
      // The new refresh token keeps the original grant (RFC 6749 §6), so the next refresh may ask for all of it.
      const full = await oauth.refresh({ refreshToken: narrow.refreshToken ?? '', clientId: mobile.id });
      assert.deepEqual(full.scopes, ['wl.messenger', 'wl.basic', 'wl.offline_access']);
      await assert.rejects(
        oauth.refresh({
          refreshToken: full.refreshToken ?? '',
          clientId: mobile.id,
          scopes: ['wl.messenger', 'wl.contacts'],
        }),
        rejectsWith('invalid_scope', /wl\.contacts/),
      );
      // A refused widening does not spend the token.
      assert.ok(await oauth.refresh({ refreshToken: full.refreshToken ?? '', clientId: mobile.id }));
    });

    it('validates for XMPP: a live access token with its scopes; expired, revoked, unknown → undefined', async () => {
      const tokens = await mobileTokens(['wl.messenger']);
      const valid = await oauth.validate(tokens.accessToken);
      // The grant (token family) names what revoking it ends: sessions signed in with any of its tokens.
      assert.match(valid?.grantId ?? '', /^[A-Za-z0-9_-]{16,}$/);
      assert.deepEqual(valid, {
        accountId: alice.id,
        handle: 'alice@localhost',
        scopes: ['wl.messenger'],
        expiresAt: now + 3600_000,
        grantId: valid?.grantId,
      });
      const info = await oauth.validateAccessToken(tokens.accessToken);
      assert.equal(info?.account.id, alice.id);
      assert.equal(info?.clientId, mobile.id);
      for (const bad of ['', 'garbage', 'A'.repeat(43), 'x'.repeat(100_000)]) {
        assert.equal(await oauth.validate(bad), undefined);
      }
      const refreshOnly = await mobileTokens();
      assert.equal(
        await oauth.validate(refreshOnly.refreshToken ?? ''),
        undefined,
        'a refresh token is no bearer token',
      );
      await oauth.revoke(tokens.accessToken);
      assert.equal(await oauth.validate(tokens.accessToken), undefined);
      now += 3600_000;
      assert.equal(await oauth.validate(refreshOnly.accessToken), undefined);
    });

    it('is the core’s token validator', async () => {
      assert.equal(fx.core.tokens, fx.core.oauth);
      const { client } = await fx.core.oauth.registerClient({
        name: 'Core',
        redirectUris: [CB],
        confidential: true,
        ownerId: null,
      });
      const tokens = await fx.core.oauth.issueTokens({
        clientId: client.id,
        accountId: bob.id,
        scopes: ['wl.messenger'],
        refresh: false,
      });
      assert.equal((await fx.core.tokens.validate(tokens.accessToken))?.handle, 'bob@localhost');
    });
  });

  describe('revocation and introspection', () => {
    it('revokes an access token alone (RFC 7009); the refresh token lives on', async () => {
      const tokens = await mobileTokens();
      await oauth.revoke(tokens.accessToken, mobile.id);
      assert.equal(await oauth.validate(tokens.accessToken), undefined);
      assert.ok(await oauth.refresh({ refreshToken: tokens.refreshToken ?? '', clientId: mobile.id }));
    });

    it('revokes a refresh token with the access tokens of its grant', async () => {
      const tokens = await mobileTokens();
      await oauth.revoke(tokens.refreshToken ?? '');
      assert.equal(await oauth.validate(tokens.accessToken), undefined);
      await assert.rejects(
        oauth.refresh({ refreshToken: tokens.refreshToken ?? '', clientId: mobile.id }),
        rejectsWith('invalid_grant'),
      );
    });

    it('ignores unknown tokens, and lets a client revoke only its own', async () => {
      await oauth.revoke('unknown-token');
      await oauth.revoke('', mobile.id);
      const tokens = await mobileTokens();
      await assert.rejects(oauth.revoke(tokens.accessToken, web.id), rejectsWith('invalid_grant'));
      assert.ok(await oauth.validate(tokens.accessToken));
      await oauth.revoke(tokens.accessToken, mobile.id);
      await oauth.revoke(tokens.accessToken, mobile.id);
      assert.equal(await oauth.validate(tokens.accessToken), undefined);
    });

    it('introspects live tokens (RFC 7662 §2.2), and anything else is inactive', async () => {
      const tokens = await mobileTokens(['wl.offline_access', 'wl.messenger']);
      assert.deepEqual(await oauth.introspect(tokens.accessToken), {
        active: true,
        scope: 'wl.messenger wl.offline_access',
        clientId: mobile.id,
        username: 'alice@localhost',
        sub: alice.id,
        exp: Math.floor(now / 1000) + 3600,
        iat: Math.floor(now / 1000),
        tokenType: 'access_token',
      });
      const refresh = await oauth.introspect(tokens.refreshToken ?? '');
      assert.equal(refresh.tokenType, 'refresh_token');
      assert.equal(refresh.exp, Math.floor((now + REFRESH_TOKEN_LIFETIME_MS) / 1000));
      assert.deepEqual(await oauth.introspect('unknown'), { active: false });
      await oauth.revoke(tokens.accessToken);
      assert.deepEqual(await oauth.introspect(tokens.accessToken), { active: false });
      now += 3600_000;
      const expired = await mobileTokens(['wl.messenger']);
      now += 3600_000;
      assert.deepEqual(await oauth.introspect(expired.accessToken), { active: false });
    });
  });

  describe('authorized apps', () => {
    it('lists the apps with live tokens for an account, and takes their access away', async () => {
      const { client: solo } = await oauth.registerClient({
        name: 'Solo',
        redirectUris: [CB],
        confidential: true,
        ownerId: null,
      });
      const soloTokens = await oauth.issueTokens({
        clientId: solo.id,
        accountId: bob.id,
        scopes: ['wl.basic'],
        refresh: false,
      });
      now += 1000;
      const mobileFirst = await mobileTokens(['wl.messenger'], bob);
      now += 1000;
      const mobileSecond = await mobileTokens(['wl.contacts', 'wl.offline_access'], bob);
      now += 70_000;
      await oauth.validate(mobileFirst.accessToken);

      const apps = await oauth.authorizedApps(bob.id);
      const mine = apps.filter((a) => a.client.id === solo.id || a.client.id === mobile.id);
      assert.deepEqual(
        mine.map((a) => [a.client.name, a.scopes, a.grantedAt, a.lastUsedAt]),
        [
          ['Solo', ['wl.basic'], now - 72_000, null],
          ['Phone', ['wl.messenger', 'wl.offline_access', 'wl.contacts'], now - 71_000, now],
        ],
      );

      const code = await oauth.issueCode({
        clientId: mobile.id,
        accountId: bob.id,
        redirectUri: APP_CB,
        scopes: ['wl.messenger'],
        codeChallenge: CHALLENGE,
        codeChallengeMethod: 'S256',
      });
      await oauth.revokeApp(bob.id, mobile.id);
      assert.deepEqual(
        (await oauth.authorizedApps(bob.id)).filter((a) => a.client.id === mobile.id),
        [],
      );
      for (const t of [mobileFirst.accessToken, mobileSecond.accessToken])
        assert.equal(await oauth.validate(t), undefined);
      await assert.rejects(
        oauth.refresh({ refreshToken: mobileSecond.refreshToken ?? '', clientId: mobile.id }),
        rejectsWith('invalid_grant'),
      );
      await assert.rejects(
        oauth.redeemCode({ code, clientId: mobile.id, redirectUri: APP_CB, codeVerifier: VERIFIER }),
        rejectsWith('invalid_grant'),
        'a code issued before the revocation is spent too',
      );
      assert.ok(await oauth.validate(soloTokens.accessToken), 'other apps keep access');

      // Once expired, an app drops off the list.
      now += 3600_000;
      assert.deepEqual(
        (await oauth.authorizedApps(bob.id)).filter((a) => a.client.id === solo.id),
        [],
      );
    });
  });
});

describe('web sessions', () => {
  let fx: CoreFixture;
  let alice: AccountRow;
  let now: number;
  let sessions: WebSessions;

  before(async () => {
    fx = await coreFixture();
    alice = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'alice@localhost',
      password: 'correct horse 1',
    });
  });
  after(() => fx.close());
  beforeEach(() => {
    now = 1_700_000_000_000;
    sessions = new WebSessions(fx.core.store, () => now);
  });

  it('creates a session for 30 days; the token is stored hashed', async () => {
    const created = await sessions.create(alice.id);
    assert.match(created.token, TOKEN);
    assert.match(created.csrf, TOKEN);
    assert.notEqual(created.token, created.csrf);
    assert.equal(created.expiresAt, now + WEB_SESSION_LIFETIME_MS);
    assert.equal(WEB_SESSION_LIFETIME_MS, 30 * 24 * 3600_000);
    assert.ok(await fx.core.store.getWebSession(hashToken(created.token)));
    assert.equal(await fx.core.store.getWebSession(created.token), undefined);

    const got = await sessions.get(created.token);
    assert.equal(got?.account.id, alice.id);
    assert.equal(got?.csrf, created.csrf);
    assert.equal(got?.expiresAt, created.expiresAt);
  });

  it('expires sessions', async () => {
    const created = await sessions.create(alice.id);
    now += WEB_SESSION_LIFETIME_MS - 1;
    assert.ok(await sessions.get(created.token));
    now += 1;
    assert.equal(await sessions.get(created.token), undefined);
  });

  it('destroys a session, and ignores missing or unknown tokens', async () => {
    const created = await sessions.create(alice.id);
    const other = await sessions.create(alice.id);
    await sessions.destroy(created.token);
    assert.equal(await sessions.get(created.token), undefined);
    assert.ok(await sessions.get(other.token), 'other sessions stay');
    await sessions.destroy(undefined);
    await sessions.destroy('unknown');
    assert.equal(await sessions.get(undefined), undefined);
    assert.equal(await sessions.get(''), undefined);
    assert.equal(await sessions.get('x'.repeat(10_000)), undefined);
  });

  it('is on the core, and a session goes with its account', async () => {
    const bob = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'bob@localhost',
      password: 'correct horse 2',
    });
    const created = await fx.core.webSessions.create(bob.id);
    assert.equal((await fx.core.webSessions.get(created.token))?.account.handle, 'bob@localhost');
    await fx.core.accounts.delete('bob@localhost');
    assert.equal(await fx.core.webSessions.get(created.token), undefined);
  });
});
