/**
 * The OAuth 2.0 authorization server over real HTTP, against a running server:
 * authorization endpoint (RFC 6749 §4.1, §4.2, RFC 7636 PKCE), token endpoint
 * (§4.1.3, §6, §5.2), revocation (RFC 7009), introspection (RFC 7662), metadata
 * (RFC 8414), Live Connect's `/v5.0/me` (RFC 6750 errors), at the standard paths and
 * Windows Live's.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { OAuthClient } from '../../src/core/oauth-api.ts';
import { csrfOf, serverForSuite, signIn, WebClient, type WebResponse } from '../support/web-client.ts';

const PASSWORD = 'correct horse battery';
const REDIRECT = 'https://app.example/callback';
const SECOND_REDIRECT = 'https://app.example/other?keep=1';

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** The parameters the app receives at its redirect URI (query or fragment). */
function received(location: string | undefined, where: 'query' | 'fragment' = 'query'): URLSearchParams {
  assert.ok(location, 'expected a redirect');
  const url = new URL(location);
  return new URLSearchParams(where === 'query' ? url.search : url.hash.slice(1));
}

function authorizePath(params: Record<string, string | undefined>, path = '/oauth/authorize'): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.append(k, v);
  return `${path}?${q.toString()}`;
}

describe('OAuth 2.0 authorization server', () => {
  const web = serverForSuite();
  let browser: WebClient;
  let api: WebClient;
  let pub: OAuthClient;
  let conf: OAuthClient;
  let confSecret: string;
  let otherConf: OAuthClient;
  let otherConfSecret: string;

  before(async () => {
    const { core, base } = web;
    await core.accounts.create({
      privacy: 'allow-all',
      handle: 'alice@localhost',
      password: PASSWORD,
      displayName: 'Alice',
    });
    pub = (
      await core.oauth.registerClient({
        name: 'Desktop <Messenger>',
        redirectUris: [REDIRECT, SECOND_REDIRECT, `${base}/oauth20_desktop.srf`],
        confidential: false,
        ownerId: null,
      })
    ).client;
    const c = await core.oauth.registerClient({
      name: 'Web app',
      redirectUris: [REDIRECT],
      confidential: true,
      ownerId: null,
    });
    conf = c.client;
    confSecret = c.secret ?? '';
    const o = await core.oauth.registerClient({
      name: 'Resource server',
      redirectUris: ['https://rs.example/cb'],
      confidential: true,
      ownerId: null,
    });
    otherConf = o.client;
    otherConfSecret = o.secret ?? '';
    browser = new WebClient(base);
    api = new WebClient(base);
    const signedIn = await signIn(browser, 'alice@localhost', PASSWORD);
    assert.equal(signedIn.status, 303);
  });

  /** Runs GET authorize → consent → Allow, and returns where the browser was sent. */
  async function consent(
    params: Record<string, string | undefined>,
    decision: 'allow' | 'deny' = 'allow',
    path = '/oauth/authorize',
  ): Promise<WebResponse> {
    const page = await browser.get(authorizePath(params, path));
    assert.equal(page.status, 200, page.body);
    const form = new URLSearchParams();
    for (const [, name, value] of page.body.matchAll(
      /<input type="hidden" name="([^"]+)" value="([^"]*)">/g,
    )) {
      form.append(
        name ?? '',
        (value ?? '').replaceAll('&amp;', '&').replaceAll('&#39;', "'").replaceAll('&quot;', '"'),
      );
    }
    form.append('decision', decision);
    return browser.post(path, form);
  }

  async function codeFor(client: OAuthClient, scope: string, challenge?: string, redirectUri = REDIRECT) {
    const answer = await consent({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: redirectUri,
      scope,
      state: 'xyz',
      ...(challenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
    });
    assert.equal(answer.status, 303);
    const params = received(answer.location);
    assert.equal(params.get('state'), 'xyz');
    const code = params.get('code');
    assert.ok(code, `no code in ${answer.location}`);
    return code;
  }

  async function publicTokens(scope = 'wl.messenger wl.offline_access wl.emails') {
    const { verifier, challenge } = pkce();
    const code = await codeFor(pub, scope, challenge);
    const res = await api.post('/oauth/token', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: pub.id,
      code_verifier: verifier,
    });
    assert.equal(res.status, 200, res.body);
    return res.json as { access_token: string; refresh_token?: string; scope: string; expires_in: number };
  }

  describe('metadata (RFC 8414)', () => {
    it('names this origin as issuer and lists the endpoints and methods', async () => {
      const res = await api.get('/.well-known/oauth-authorization-server');
      assert.equal(res.status, 200);
      const meta = res.json as Record<string, unknown>;
      assert.equal(meta.issuer, web.base);
      assert.equal(meta.authorization_endpoint, `${web.base}/oauth/authorize`);
      assert.equal(meta.token_endpoint, `${web.base}/oauth/token`);
      assert.equal(meta.revocation_endpoint, `${web.base}/oauth/revoke`);
      assert.equal(meta.introspection_endpoint, `${web.base}/oauth/introspect`);
      assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(meta.response_types_supported, ['code', 'token']);
      assert.ok((meta.scopes_supported as string[]).includes('wl.messenger'));
      assert.ok((meta.token_endpoint_auth_methods_supported as string[]).includes('client_secret_basic'));
      const other = await api.get('/.well-known/oauth-authorization-server', {
        host: `localhost:${web.server.port('http')}`,
      });
      assert.equal((other.json as { issuer: string }).issuer, `http://localhost:${web.server.port('http')}`);
    });
  });

  describe('authorization endpoint', () => {
    it('shows an error page, never a redirect, for a bad client or redirect URI (§4.1.2.1)', async () => {
      const cases = [
        { response_type: 'code', redirect_uri: REDIRECT, scope: 'wl.messenger' },
        { response_type: 'code', client_id: 'no-such-client', redirect_uri: REDIRECT, scope: 'wl.messenger' },
        {
          response_type: 'code',
          client_id: pub.id,
          redirect_uri: 'https://evil.example/cb',
          scope: 'wl.messenger',
        },
        // a prefix or a variant of a registered URI is not it (exact match)
        { response_type: 'code', client_id: pub.id, redirect_uri: `${REDIRECT}/x`, scope: 'wl.messenger' },
        {
          response_type: 'code',
          client_id: pub.id,
          redirect_uri: 'https://APP.example/callback',
          scope: 'wl.messenger',
        },
        // two registered URIs and none given
        { response_type: 'code', client_id: pub.id, scope: 'wl.messenger' },
      ];
      for (const params of cases) {
        const res = await browser.get(authorizePath(params));
        assert.equal(res.status, 400, JSON.stringify(params));
        assert.equal(res.location, undefined);
        assert.match(res.headers['content-type'] ?? '', /text\/html/);
      }
      // A repeated client_id is an error page too.
      const twice = await browser.get(
        `/oauth/authorize?client_id=${pub.id}&client_id=${pub.id}&redirect_uri=${REDIRECT}`,
      );
      assert.equal(twice.status, 400);
      assert.equal(twice.location, undefined);
    });

    it('redirects other errors to the app with error and state', async () => {
      const base = { client_id: pub.id, redirect_uri: REDIRECT, state: 's1' };
      const expect = async (
        params: Record<string, string | undefined>,
        error: string,
        description?: RegExp,
      ) => {
        const res = await browser.get(authorizePath({ ...base, ...params }));
        assert.equal(res.status, 302, JSON.stringify(params));
        assert.ok(res.location?.startsWith(REDIRECT), res.location);
        const got = received(res.location);
        assert.equal(got.get('error'), error);
        assert.equal(got.get('state'), 's1');
        if (description) assert.match(got.get('error_description') ?? '', description);
      };
      const { challenge } = pkce();
      const s256 = { code_challenge: challenge, code_challenge_method: 'S256' };
      await expect({ scope: 'wl.messenger', ...s256 }, 'invalid_request', /response_type/);
      await expect({ response_type: 'id_token', scope: 'wl.messenger' }, 'unsupported_response_type');
      await expect({ response_type: 'code', scope: 'wl.messenger wl.everything', ...s256 }, 'invalid_scope');
      await expect({ response_type: 'code', ...s256 }, 'invalid_scope');
      // A public client must use PKCE, with S256.
      await expect({ response_type: 'code', scope: 'wl.messenger' }, 'invalid_request', /code_challenge/);
      await expect(
        { response_type: 'code', scope: 'wl.messenger', code_challenge: challenge },
        'invalid_request',
        /S256/,
      );
      await expect(
        {
          response_type: 'code',
          scope: 'wl.messenger',
          code_challenge: challenge,
          code_challenge_method: 'plain',
        },
        'invalid_request',
        /S256/,
      );
    });

    it('sends a signed-out browser to the sign-in page, and back afterwards', async () => {
      const stranger = new WebClient(web.base);
      const { challenge } = pkce();
      const path = authorizePath({
        response_type: 'code',
        client_id: pub.id,
        redirect_uri: REDIRECT,
        scope: 'wl.messenger',
        state: 'back',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const res = await stranger.get(path);
      assert.equal(res.status, 302);
      const signin = new URL(res.location ?? '');
      assert.equal(signin.pathname, '/signin');
      const back = signin.searchParams.get('return') ?? '';
      assert.equal(new URLSearchParams(back.split('?')[1]).get('state'), 'back');
      const form = await stranger.get(`${signin.pathname}${signin.search}`);
      assert.match(form.body, /name="return"/);
      const done = await stranger.post('/signin', {
        csrf: csrfOf(form.body),
        handle: 'alice',
        password: PASSWORD,
        return: back,
      });
      assert.equal(done.status, 303);
      assert.equal(done.location, `${web.base}${back}`);
      const consentPage = await stranger.get(back);
      assert.equal(consentPage.status, 200);
    });

    it('shows a consent page listing the scopes in words, with Allow and Deny, unframeable', async () => {
      const { challenge } = pkce();
      const res = await browser.get(
        authorizePath({
          response_type: 'code',
          client_id: pub.id,
          redirect_uri: REDIRECT,
          scope: 'wl.messenger,wl.emails',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
      );
      assert.equal(res.status, 200);
      assert.match(res.body, /Desktop &lt;Messenger&gt;/);
      assert.doesNotMatch(res.body, /Desktop <Messenger>/);
      assert.match(res.body, /Sign in to Messenger as you/);
      assert.match(res.body, /See your account address/);
      assert.match(res.body, /<button type="submit" name="decision" value="allow">Allow<\/button>/);
      assert.match(res.body, /name="decision" value="deny"/);
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
      assert.equal(res.headers['cache-control'], 'no-store');
    });

    it('refuses a consent answer without the CSRF token', async () => {
      const { challenge } = pkce();
      const res = await browser.post('/oauth/authorize', {
        response_type: 'code',
        client_id: pub.id,
        redirect_uri: REDIRECT,
        scope: 'wl.messenger',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        decision: 'allow',
        csrf: 'forged',
      });
      assert.equal(res.status, 403);
      assert.equal(res.location, undefined);
    });

    it('answers Deny with access_denied', async () => {
      const { challenge } = pkce();
      const res = await consent(
        {
          response_type: 'code',
          client_id: pub.id,
          redirect_uri: REDIRECT,
          scope: 'wl.messenger',
          state: 'no',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        'deny',
      );
      assert.equal(res.status, 303);
      const got = received(res.location);
      assert.equal(got.get('error'), 'access_denied');
      assert.equal(got.get('state'), 'no');
      assert.equal(got.get('code'), null);
    });

    it('keeps the query of a registered redirect URI', async () => {
      const { challenge } = pkce();
      const res = await consent({
        response_type: 'code',
        client_id: pub.id,
        redirect_uri: SECOND_REDIRECT,
        scope: 'wl.messenger',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      assert.ok(res.location?.startsWith(`${SECOND_REDIRECT}&code=`), res.location);
    });
  });

  describe('token endpoint', () => {
    it('redeems a code with PKCE for tokens, no-store, with a refresh token for wl.offline_access', async () => {
      const { verifier, challenge } = pkce();
      const code = await codeFor(pub, 'wl.messenger wl.offline_access', challenge);
      const res = await api.post('/oauth/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        client_id: pub.id,
        code_verifier: verifier,
      });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers.pragma, 'no-cache');
      assert.match(String(res.headers['content-type']), /application\/json/);
      const body = res.json as Record<string, unknown>;
      assert.equal(body.token_type, 'Bearer');
      assert.equal(typeof body.access_token, 'string');
      assert.equal(typeof body.refresh_token, 'string');
      assert.equal(body.expires_in, 3600);
      assert.equal(body.scope, 'wl.messenger wl.offline_access');

      const noOffline = await publicTokens('wl.messenger');
      assert.equal(noOffline.refresh_token, undefined);
    });

    it('refuses a wrong or missing verifier, and a replayed code (which revokes its tokens)', async () => {
      const { verifier, challenge } = pkce();
      const code = await codeFor(pub, 'wl.messenger', challenge);
      const wrong = await api.post('/oauth/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        client_id: pub.id,
        code_verifier: pkce().verifier,
      });
      assert.equal(wrong.status, 400);
      assert.equal((wrong.json as { error: string }).error, 'invalid_grant');

      const second = await codeFor(pub, 'wl.messenger', challenge);
      const missing = await api.post('/oauth/token', {
        grant_type: 'authorization_code',
        code: second,
        redirect_uri: REDIRECT,
        client_id: pub.id,
      });
      assert.equal((missing.json as { error: string }).error, 'invalid_grant');

      const third = await codeFor(pub, 'wl.messenger', challenge);
      const redeem = () =>
        api.post('/oauth/token', {
          grant_type: 'authorization_code',
          code: third,
          redirect_uri: REDIRECT,
          client_id: pub.id,
          code_verifier: verifier,
        });
      const first = await redeem();
      assert.equal(first.status, 200);
      const token = (first.json as { access_token: string }).access_token;
      assert.equal((await api.get('/v5.0/me', { authorization: `Bearer ${token}` })).status, 200);
      const replay = await redeem();
      assert.equal(replay.status, 400);
      assert.equal((replay.json as { error: string }).error, 'invalid_grant');
      assert.equal((await api.get('/v5.0/me', { authorization: `Bearer ${token}` })).status, 401);
    });

    it('refuses a code at another redirect URI or for another client', async () => {
      const { verifier, challenge } = pkce();
      const code = await codeFor(pub, 'wl.messenger', challenge);
      const elsewhere = await api.post('/oauth/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: SECOND_REDIRECT,
        client_id: pub.id,
        code_verifier: verifier,
      });
      assert.equal((elsewhere.json as { error: string }).error, 'invalid_grant');
      const code2 = await codeFor(pub, 'wl.messenger', challenge);
      const thief = await api.post(
        '/oauth/token',
        { grant_type: 'authorization_code', code: code2, redirect_uri: REDIRECT, code_verifier: verifier },
        { authorization: basic(conf.id, confSecret) },
      );
      assert.equal((thief.json as { error: string }).error, 'invalid_grant');
    });

    it('authenticates confidential clients by client_secret_basic or client_secret_post', async () => {
      const viaBasic = await codeFor(conf, 'wl.basic wl.emails');
      const a = await api.post(
        '/oauth/token',
        { grant_type: 'authorization_code', code: viaBasic, redirect_uri: REDIRECT },
        { authorization: basic(conf.id, confSecret) },
      );
      assert.equal(a.status, 200, a.body);
      const viaPost = await codeFor(conf, 'wl.basic');
      const b = await api.post('/oauth/token', {
        grant_type: 'authorization_code',
        code: viaPost,
        redirect_uri: REDIRECT,
        client_id: conf.id,
        client_secret: confSecret,
      });
      assert.equal(b.status, 200, b.body);
    });

    it('answers invalid_client with 401 and WWW-Authenticate', async () => {
      const tries: Array<[Record<string, string>, Record<string, string>]> = [
        [{ grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic(conf.id, 'wrong') }],
        [{ grant_type: 'refresh_token', refresh_token: 'x', client_id: conf.id, client_secret: 'wrong' }, {}],
        [{ grant_type: 'refresh_token', refresh_token: 'x', client_id: conf.id }, {}],
        [{ grant_type: 'refresh_token', refresh_token: 'x', client_id: 'nobody' }, {}],
        [{ grant_type: 'refresh_token', refresh_token: 'x' }, {}],
        [
          { grant_type: 'refresh_token', refresh_token: 'x', client_id: pub.id, client_secret: 'invented' },
          {},
        ],
        [{ grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: 'Basic !!!' }],
      ];
      for (const [form, headers] of tries) {
        const res = await api.post('/oauth/token', form, headers);
        assert.equal(res.status, 401, JSON.stringify(form));
        assert.equal((res.json as { error: string }).error, 'invalid_client');
        assert.match(String(res.headers['www-authenticate']), /^Basic realm="papillon"/);
        assert.equal(res.headers['cache-control'], 'no-store');
      }
    });

    it('answers malformed requests per §5.2', async () => {
      const both = await api.post(
        '/oauth/token',
        { grant_type: 'authorization_code', code: 'x', client_secret: confSecret },
        { authorization: basic(conf.id, confSecret) },
      );
      assert.equal(both.status, 400);
      assert.equal((both.json as { error: string }).error, 'invalid_request');
      const noGrant = await api.post('/oauth/token', { client_id: pub.id });
      assert.equal((noGrant.json as { error: string }).error, 'invalid_request');
      const password = await api.post('/oauth/token', { grant_type: 'password', client_id: pub.id });
      assert.equal(password.status, 400);
      assert.equal((password.json as { error: string }).error, 'unsupported_grant_type');
      const json = await api.request('POST', '/oauth/token', {
        body: JSON.stringify({ grant_type: 'authorization_code', client_id: pub.id }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(json.status, 400);
      assert.equal((json.json as { error: string }).error, 'invalid_request');
      const repeated = await api.post(
        '/oauth/token',
        new URLSearchParams(`grant_type=a&grant_type=b&client_id=${pub.id}`),
      );
      assert.equal((repeated.json as { error: string }).error, 'invalid_request');
      const get = await api.get('/oauth/token');
      assert.equal(get.status, 405);
    });

    it('rotates refresh tokens; reusing an old one revokes the family', async () => {
      const first = await publicTokens('wl.messenger wl.offline_access');
      const refresh = (token: string, extra: Record<string, string> = {}) =>
        api.post('/oauth/token', {
          grant_type: 'refresh_token',
          refresh_token: token,
          client_id: pub.id,
          ...extra,
        });
      const second = await refresh(first.refresh_token ?? '');
      assert.equal(second.status, 200, second.body);
      const next = second.json as { access_token: string; refresh_token: string; scope: string };
      assert.notEqual(next.refresh_token, first.refresh_token);
      assert.notEqual(next.access_token, first.access_token);
      // Narrower scope is fine; wider is not.
      const wider = await refresh(next.refresh_token, { scope: 'wl.messenger wl.contacts' });
      assert.equal((wider.json as { error: string }).error, 'invalid_scope');
      // The old one again: refused, and the new one dies with it (RFC 9700 §4.14.2).
      const reuse = await refresh(first.refresh_token ?? '');
      assert.equal(reuse.status, 400);
      assert.equal((reuse.json as { error: string }).error, 'invalid_grant');
      const after = await refresh(next.refresh_token);
      assert.equal((after.json as { error: string }).error, 'invalid_grant');
      // Another client cannot use it either.
      const fresh = await publicTokens('wl.messenger wl.offline_access');
      const stolen = await api.post(
        '/oauth/token',
        { grant_type: 'refresh_token', refresh_token: fresh.refresh_token ?? '' },
        { authorization: basic(conf.id, confSecret) },
      );
      assert.equal((stolen.json as { error: string }).error, 'invalid_grant');
    });

    it('works at Live paths: oauth20_authorize.srf, oauth20_token.srf, oauth20_desktop.srf', async () => {
      const { verifier, challenge } = pkce();
      const desktop = `${web.base}/oauth20_desktop.srf`;
      const answer = await consent(
        {
          response_type: 'code',
          client_id: pub.id,
          redirect_uri: desktop,
          scope: 'wl.messenger,wl.offline_access',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        },
        'allow',
        '/oauth20_authorize.srf',
      );
      assert.ok(answer.location?.startsWith(`${desktop}?code=`), answer.location);
      const page = await browser.get(answer.location ?? '');
      assert.equal(page.status, 200);
      assert.match(page.body, /You are signed in/);
      assert.equal(page.headers['referrer-policy'], 'no-referrer');
      const code = received(answer.location).get('code') ?? '';
      const res = await api.post('/oauth20_token.srf', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: desktop,
        client_id: pub.id,
        code_verifier: verifier,
      });
      assert.equal(res.status, 200, res.body);
      assert.equal((res.json as { scope: string }).scope, 'wl.messenger wl.offline_access');
    });
  });

  describe('implicit grant', () => {
    it('puts the token in the fragment, with no refresh token', async () => {
      const res = await consent({
        response_type: 'token',
        client_id: pub.id,
        redirect_uri: REDIRECT,
        scope: 'wl.basic wl.offline_access',
        state: 'imp',
      });
      assert.equal(res.status, 303);
      assert.equal(new URL(res.location ?? '').search, '');
      const got = received(res.location, 'fragment');
      assert.equal(got.get('state'), 'imp');
      assert.equal(got.get('token_type'), 'Bearer');
      assert.equal(got.get('expires_in'), '3600');
      assert.equal(got.get('refresh_token'), null);
      const me = await api.get('/v5.0/me', { authorization: `Bearer ${got.get('access_token')}` });
      assert.equal(me.status, 200);
    });

    it('sends errors in the fragment too', async () => {
      const res = await browser.get(
        authorizePath({
          response_type: 'token',
          client_id: pub.id,
          redirect_uri: REDIRECT,
          scope: 'wl.nope',
          state: 'e',
        }),
      );
      assert.equal(res.status, 302);
      const got = received(res.location, 'fragment');
      assert.equal(got.get('error'), 'invalid_scope');
      assert.equal(got.get('state'), 'e');
    });
  });

  describe('revocation (RFC 7009)', () => {
    it('revokes access tokens and refresh tokens; unknown tokens are no error', async () => {
      const tokens = await publicTokens();
      const me = () => api.get('/v5.0/me', { authorization: `Bearer ${tokens.access_token}` });
      assert.equal((await me()).status, 200);
      const res = await api.post('/oauth/revoke', {
        token: tokens.access_token,
        token_type_hint: 'access_token',
        client_id: pub.id,
      });
      assert.equal(res.status, 200);
      assert.equal(res.body, '');
      assert.equal((await me()).status, 401);
      // A refresh token takes its access tokens with it.
      const more = await publicTokens();
      const revoked = await api.post('/oauth/revoke', { token: more.refresh_token ?? '', client_id: pub.id });
      assert.equal(revoked.status, 200);
      assert.equal((await api.get('/v5.0/me', { authorization: `Bearer ${more.access_token}` })).status, 401);
      const refreshed = await api.post('/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: more.refresh_token ?? '',
        client_id: pub.id,
      });
      assert.equal((refreshed.json as { error: string }).error, 'invalid_grant');

      const unknown = await api.post('/oauth/revoke', { token: 'never-issued', client_id: pub.id });
      assert.equal(unknown.status, 200);
    });

    it('authenticates the client and needs a token', async () => {
      const wrong = await api.post(
        '/oauth/revoke',
        { token: 'x' },
        { authorization: basic(conf.id, 'nope') },
      );
      assert.equal(wrong.status, 401);
      assert.equal((wrong.json as { error: string }).error, 'invalid_client');
      const nobody = await api.post('/oauth/revoke', { token: 'x' });
      assert.equal(nobody.status, 401);
      const missing = await api.post('/oauth/revoke', { client_id: pub.id });
      assert.equal(missing.status, 400);
      assert.equal((missing.json as { error: string }).error, 'invalid_request');
      // Another client's token stays valid.
      const tokens = await publicTokens('wl.basic');
      const foreign = await api.post(
        '/oauth/revoke',
        { token: tokens.access_token },
        { authorization: basic(conf.id, confSecret) },
      );
      assert.equal(foreign.status, 400);
      assert.equal(
        (await api.get('/v5.0/me', { authorization: `Bearer ${tokens.access_token}` })).status,
        200,
      );
    });
  });

  describe('introspection (RFC 7662)', () => {
    it('describes a live token to an authenticated confidential client', async () => {
      const tokens = await publicTokens('wl.messenger wl.offline_access');
      const res = await api.post(
        '/oauth/introspect',
        { token: tokens.access_token },
        { authorization: basic(otherConf.id, otherConfSecret) },
      );
      assert.equal(res.status, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.json as Record<string, unknown>;
      assert.equal(body.active, true);
      assert.equal(body.scope, 'wl.messenger wl.offline_access');
      assert.equal(body.client_id, pub.id);
      assert.equal(body.username, 'alice@localhost');
      assert.equal(body.token_type, 'Bearer');
      assert.equal(typeof body.exp, 'number');
      assert.ok((body.exp as number) > Date.now() / 1000 && (body.exp as number) < Date.now() / 1000 + 7200);

      const refresh = await api.post('/oauth/introspect', {
        token: tokens.refresh_token ?? '',
        client_id: otherConf.id,
        client_secret: otherConfSecret,
      });
      assert.equal((refresh.json as { active: boolean }).active, true);

      await api.post('/oauth/revoke', { token: tokens.access_token, client_id: pub.id });
      const dead = await api.post(
        '/oauth/introspect',
        { token: tokens.access_token },
        { authorization: basic(otherConf.id, otherConfSecret) },
      );
      assert.deepEqual(dead.json, { active: false });
      const unknown = await api.post(
        '/oauth/introspect',
        { token: 'made-up' },
        { authorization: basic(otherConf.id, otherConfSecret) },
      );
      assert.deepEqual(unknown.json, { active: false });
    });

    it('requires client authentication by a confidential client', async () => {
      const tokens = await publicTokens('wl.basic');
      for (const [form, headers] of [
        [{ token: tokens.access_token }, {}],
        [{ token: tokens.access_token, client_id: pub.id }, {}],
        [{ token: tokens.access_token }, { authorization: basic(conf.id, 'wrong') }],
      ] as Array<[Record<string, string>, Record<string, string>]>) {
        const res = await api.post('/oauth/introspect', form, headers);
        assert.equal(res.status, 401);
        assert.equal((res.json as { error: string }).error, 'invalid_client');
        assert.ok(res.headers['www-authenticate']);
      }
    });
  });

  describe('GET /v5.0/me', () => {
    it('answers the profile for a Bearer header or an access_token parameter', async () => {
      const tokens = await publicTokens('wl.messenger wl.emails');
      const alice = await web.core.accounts.get('alice@localhost');
      const viaHeader = await api.get('/v5.0/me', { authorization: `Bearer ${tokens.access_token}` });
      assert.equal(viaHeader.status, 200);
      assert.deepEqual(viaHeader.json, {
        id: alice.id,
        name: 'Alice',
        emails: { preferred: 'alice@localhost', account: 'alice@localhost' },
      });
      const viaQuery = await api.get(`/v5.0/me?access_token=${encodeURIComponent(tokens.access_token)}`);
      assert.deepEqual(viaQuery.json, viaHeader.json);
      // Without wl.emails, no addresses.
      const basicOnly = await publicTokens('wl.basic');
      const me = await api.get('/v5.0/me', { authorization: `Bearer ${basicOnly.access_token}` });
      assert.deepEqual(me.json, { id: alice.id, name: 'Alice' });
    });

    it('answers 401 with a Bearer challenge (RFC 6750 §3)', async () => {
      const none = await api.get('/v5.0/me');
      assert.equal(none.status, 401);
      assert.equal(none.headers['www-authenticate'], 'Bearer realm="papillon"');
      const bad = await api.get('/v5.0/me', { authorization: 'Bearer not-a-token' });
      assert.equal(bad.status, 401);
      assert.match(
        String(bad.headers['www-authenticate']),
        /^Bearer realm="papillon", error="invalid_token"/,
      );
      const tokens = await publicTokens('wl.basic');
      const twice = await api.get(`/v5.0/me?access_token=${tokens.access_token}`, {
        authorization: `Bearer ${tokens.access_token}`,
      });
      assert.equal(twice.status, 400);
      assert.match(String(twice.headers['www-authenticate']), /error="invalid_request"/);
    });
  });
});

describe('OAuth with the implicit grant turned off (oauthImplicit=false)', () => {
  const web = serverForSuite({ PAPILLON_OAUTH_IMPLICIT: 'false' });
  let browser: WebClient;
  let client: OAuthClient;

  before(async () => {
    const core = web.core;
    await core.accounts.create({ privacy: 'allow-all', handle: 'bob@localhost', password: PASSWORD });
    client = (
      await core.oauth.registerClient({
        name: 'Old app',
        redirectUris: [REDIRECT],
        confidential: false,
        ownerId: null,
      })
    ).client;
    browser = new WebClient(web.base);
    await signIn(browser, 'bob@localhost', PASSWORD);
  });

  it('refuses response_type=token with unsupported_response_type, and leaves it out of the metadata', async () => {
    const res = await browser.get(
      authorizePath({
        response_type: 'token',
        client_id: client.id,
        redirect_uri: REDIRECT,
        scope: 'wl.basic',
        state: 'q',
      }),
    );
    assert.equal(res.status, 302);
    const got = received(res.location, 'fragment');
    assert.equal(got.get('error'), 'unsupported_response_type');
    assert.equal(got.get('state'), 'q');
    assert.equal(got.get('access_token'), null);
    const meta = (await browser.get('/.well-known/oauth-authorization-server')).json as Record<
      string,
      unknown
    >;
    assert.deepEqual(meta.response_types_supported, ['code']);
    // Forging the consent answer does not get around it.
    const page = await browser.get('/account');
    const forged = await browser.post('/oauth/authorize', {
      csrf: csrfOf(page.body),
      response_type: 'token',
      client_id: client.id,
      redirect_uri: REDIRECT,
      scope: 'wl.basic',
      decision: 'allow',
    });
    assert.equal(received(forged.location, 'fragment').get('error'), 'unsupported_response_type');
  });
});
