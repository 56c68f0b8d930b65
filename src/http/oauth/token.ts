import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.ts';
import type { ThrottledAttempt } from '../../core/login-throttle.ts';
import { recordSignIn } from '../../core/metrics.ts';
import { type OAuthClient, OAuthError, type TokenSet } from '../../core/oauth-api.ts';
import { formOf } from '../web/forms.ts';
import { allowAnyOrigin, answeringOAuthErrors, noStore, sendJson, sendPreflight, single } from './errors.ts';
import { soleRedirectUri } from './redirect-uri.ts';

/** RFC 6749 §2.3.1: `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`. */
function basicCredentials(
  header: string | undefined,
): { id: string; secret: string } | undefined | 'malformed' {
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (match?.[1] === undefined) return /^Basic(\s|$)/i.test(header) ? 'malformed' : undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  // Each half is application/x-www-form-urlencoded (Appendix B).
  const formDecode = (s: string) => decodeURIComponent(s.replaceAll('+', ' '));
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

/**
 * Client authentication for the token, revocation and introspection endpoints
 * (RFC 6749 §2.3): `client_secret_basic` (the Authorization header) or
 * `client_secret_post` (client_id and client_secret in the body), never both (§2.3.1).
 * Confidential clients must prove their secret; a public client only names itself
 * with client_id (§3.2.1) and may not present a secret, having none.
 */
async function authenticate(
  core: Core,
  request: FastifyRequest,
  reply: FastifyReply,
  form: URLSearchParams,
): Promise<OAuthClient> {
  const basic = basicCredentials(request.headers.authorization);
  if (basic === 'malformed') throw new OAuthError('invalid_client', 'the Basic credentials are malformed');
  const bodyId = single(form, 'client_id');
  const bodySecret = single(form, 'client_secret');
  if (basic !== undefined && bodySecret !== undefined) {
    throw new OAuthError('invalid_request', 'use one client authentication method, not two');
  }
  if (basic !== undefined && bodyId !== undefined && bodyId !== basic.id) {
    throw new OAuthError('invalid_request', 'client_id differs from the authenticated client');
  }
  const id = basic?.id ?? bodyId;
  const secret = basic !== undefined ? basic.secret : bodySecret;
  if (id === undefined || id === '') throw new OAuthError('invalid_client', 'the client is not identified');
  // The one check of the client, whether throttled or not: an invalid_client refusal is
  // a failed attempt (kept to be thrown); any other error is the server's and propagates.
  let refusal: OAuthError | undefined;
  const verify = async (): Promise<OAuthClient | undefined> => {
    try {
      return await core.oauth.authenticateClient(id, secret);
    } catch (err) {
      if (!(err instanceof OAuthError && err.code === 'invalid_client')) throw err;
      refusal = err;
      return undefined;
    }
  };
  let result: ThrottledAttempt<OAuthClient>;
  if (secret === undefined || secret === '') {
    // A public client names itself: there is nothing to guess, so nothing to throttle.
    const client = await verify();
    result = client === undefined ? { status: 'failed' } : { status: 'ok', value: client };
  } else {
    // RFC 6749 §2.3.1: guessing must be prevented. The same limits as passwords: per
    // (address, client) and per address, only failures counting, in the shared rate store.
    result = await core.loginGuard.attempt(request.ip, `oauth-client:${id}`, verify);
  }
  // A client secret is a password: its failures are logged for fail2ban like the others.
  recordSignIn(core.metrics, request.log, {
    path: 'oauth',
    address: request.ip,
    handle: id,
    result: result.status,
  });
  if (result.status === 'ok') return result.value;
  if (result.status === 'failed')
    throw refusal ?? new OAuthError('invalid_client', 'client authentication failed');
  // Still invalid_client (§5.2), with when to try again (RFC 9110 §10.2.3).
  reply.header('retry-after', String(Math.ceil(core.loginGuard.perAccount.lockoutMs / 1000)));
  throw new OAuthError('invalid_client', 'too many failed client authentications; try again later');
}

/** The request body as a form, or an invalid_request for anything else (RFC 6749 §4.1.3). */
function requireForm(request: FastifyRequest): URLSearchParams {
  const form = formOf(request);
  if (form === undefined) {
    throw new OAuthError('invalid_request', 'send the parameters as application/x-www-form-urlencoded');
  }
  return form;
}

/** RFC 6749 §5.1 successful response. */
function tokenResponse(tokens: TokenSet): Record<string, unknown> {
  return {
    access_token: tokens.accessToken,
    token_type: tokens.tokenType,
    expires_in: tokens.expiresIn,
    ...(tokens.refreshToken === undefined ? {} : { refresh_token: tokens.refreshToken }),
    scope: tokens.scopes.join(' '),
    // COMPAT: Live Connect's token response named the user too.
    user_id: tokens.accountId,
  };
}

/**
 * The token endpoint (RFC 6749 §3.2) at Live's path and the standard one, with
 * the revocation (RFC 7009) and introspection (RFC 7662) endpoints.
 */
export function registerTokenEndpoints(app: FastifyInstance, core: Core): void {
  const token = async (request: FastifyRequest, reply: FastifyReply) =>
    answeringOAuthErrors(allowAnyOrigin(reply), async () => {
      const form = requireForm(request);
      const client = await authenticate(core, request, reply, form);
      const grantType = single(form, 'grant_type');
      if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is missing');
      if (grantType === 'authorization_code') {
        // §4.1.3; the code is bound to this client and redirect URI, and PKCE is checked (RFC 7636 §4.6).
        const code = single(form, 'code');
        if (code === undefined) throw new OAuthError('invalid_request', 'code is missing');
        // §4.1.3: required if the authorization request had it; with one registered URI it may have been left out.
        const redirectUri = single(form, 'redirect_uri') ?? soleRedirectUri(client);
        if (redirectUri === undefined) throw new OAuthError('invalid_request', 'redirect_uri is missing');
        const codeVerifier = single(form, 'code_verifier');
        const tokens = await core.oauth.redeemCode({
          code,
          clientId: client.id,
          redirectUri,
          ...(codeVerifier === undefined ? {} : { codeVerifier }),
        });
        request.log.info({ clientId: client.id, accountId: tokens.accountId }, 'oauth: code redeemed');
        return sendJson(reply, tokenResponse(tokens));
      }
      if (grantType === 'refresh_token') {
        // §6, with rotation (RFC 9700 §4.14.2): the response carries the next refresh token.
        const refreshToken = single(form, 'refresh_token');
        if (refreshToken === undefined) throw new OAuthError('invalid_request', 'refresh_token is missing');
        const scopeText = single(form, 'scope');
        const scopes = scopeText === undefined ? undefined : core.oauth.parseScopes(scopeText);
        const tokens = await core.oauth.refresh({
          refreshToken,
          clientId: client.id,
          ...(scopes === undefined ? {} : { scopes }),
        });
        return sendJson(reply, tokenResponse(tokens));
      }
      throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported`);
    });

  // RFC 7009 §2.1: the client authenticates; an unknown or foreign token is no error (§2.2).
  const revoke = async (request: FastifyRequest, reply: FastifyReply) =>
    answeringOAuthErrors(allowAnyOrigin(reply), async () => {
      const form = requireForm(request);
      const client = await authenticate(core, request, reply, form);
      const value = single(form, 'token');
      single(form, 'token_type_hint'); // a hint only: both kinds are looked up.
      if (value === undefined) throw new OAuthError('invalid_request', 'token is missing');
      await core.oauth.revoke(value, client.id);
      request.log.info({ clientId: client.id }, 'oauth: token revoked');
      return noStore(reply).code(200).send();
    });

  // RFC 7662 §2.1: only an authenticated (confidential) client may ask, against token scanning (§4).
  const introspect = async (request: FastifyRequest, reply: FastifyReply) =>
    answeringOAuthErrors(reply, async () => {
      const form = requireForm(request);
      const client = await authenticate(core, request, reply, form);
      if (!client.confidential) {
        throw new OAuthError('invalid_client', 'introspection needs a confidential client and its secret');
      }
      const value = single(form, 'token');
      single(form, 'token_type_hint');
      if (value === undefined) throw new OAuthError('invalid_request', 'token is missing');
      const found = await core.oauth.introspect(value);
      if (!found.active) return sendJson(reply, { active: false });
      // §2.2 member names; token_type is the RFC 6749 §7.1 type, which only access tokens have.
      return sendJson(reply, {
        active: true,
        scope: found.scope,
        client_id: found.clientId,
        username: found.username,
        sub: found.sub,
        exp: found.exp,
        iat: found.iat,
        ...(found.tokenType === 'access_token' ? { token_type: 'Bearer' } : {}),
      });
    });

  // Browsers preflight a cross-origin POST with an Authorization header (Fetch §3.2.2).
  const preflight = async (_request: FastifyRequest, reply: FastifyReply) =>
    sendPreflight(reply, 'POST', 'Authorization, Content-Type');

  const methodNotAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    sendJson(reply.code(405).header('allow', 'POST'), {
      error: 'invalid_request',
      error_description: 'use POST',
    });

  for (const [url, handler] of [
    ['/oauth/token', token],
    ['/oauth20_token.srf', token],
    ['/oauth/revoke', revoke],
    ['/oauth/introspect', introspect],
  ] as const) {
    app.post(url, handler);
    app.get(url, methodNotAllowed);
    if (handler !== introspect) app.options(url, preflight);
  }
}
