import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.ts';
import { type OAuthClient, OAuthError, type OAuthErrorCode, type Scope } from '../../core/oauth-api.ts';
import { formOf, queryOf } from '../web/forms.ts';
import { html } from '../web/html.ts';
import { csrfField, messagePage, page, sendPage } from '../web/layout.ts';
import { csrfRejected, currentSession, sessionCsrfValid } from '../web/session.ts';
import { single } from './errors.ts';
import { soleRedirectUri, withParameters } from './redirect-uri.ts';
import { scopeWords } from './scope-words.ts';

/** The parameters of an authorization request that the consent form carries back. */
const CARRIED = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
] as const;

/** RFC 7636 §4.1/§4.2: `code_challenge` = BASE64URL(SHA256(verifier)), 43 characters for S256. */
const CODE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;

interface AuthorizationRequest {
  client: OAuthClient;
  redirectUri: string;
  responseType: 'code' | 'token';
  scopes: Scope[];
  state: string | undefined;
  codeChallenge: string | undefined;
}

/** What to do with a request: go on, show an error page, or send the error to the app. */
type Checked =
  | { kind: 'ok'; request: AuthorizationRequest }
  /** RFC 6749 §4.1.2.1: client or redirect URI invalid — tell the user, never redirect. */
  | { kind: 'page'; message: string }
  | {
      kind: 'redirect';
      redirectUri: string;
      where: 'query' | 'fragment';
      state: string | undefined;
      error: OAuthErrorCode;
      description: string;
    };

/**
 * Validates an authorization request (RFC 6749 §4.1.1, §4.2.1; RFC 7636 §4.3) in
 * the order §4.1.2.1 requires: first the client and the redirect URI — if either is
 * wrong the user is shown an error page — then everything else, whose errors go
 * back to the app at its redirect URI.
 */
async function check(core: Core, params: URLSearchParams, implicit: boolean): Promise<Checked> {
  let clientId: string | undefined;
  let givenRedirect: string | undefined;
  try {
    clientId = single(params, 'client_id');
    givenRedirect = single(params, 'redirect_uri');
  } catch (err) {
    if (err instanceof OAuthError) return { kind: 'page', message: err.description };
    throw err;
  }
  if (clientId === undefined)
    return { kind: 'page', message: 'The request names no app (client_id is missing).' };
  const client = await core.oauth.getClient(clientId);
  if (client === undefined)
    return { kind: 'page', message: 'The app asking for access is not registered here.' };
  const redirectUri = givenRedirect ?? soleRedirectUri(client);
  if (redirectUri === undefined) {
    return {
      kind: 'page',
      message: 'The request does not say where to send you back (redirect_uri is missing).',
    };
  }
  // RFC 9700 §2.1 / RFC 6749 §3.1.2.3: compared exactly with a registered URI.
  if (!client.redirectUris.includes(redirectUri)) {
    return { kind: 'page', message: 'The app asked to send you to an address it has not registered.' };
  }

  // The error goes where the response would: the fragment for the implicit grant (§4.2.2.1).
  const typeValues = params.getAll('response_type');
  const where = typeValues.length === 1 && typeValues[0] === 'token' ? 'fragment' : 'query';
  const stateValues = params.getAll('state');
  const state = stateValues.length === 1 && stateValues[0] !== '' ? stateValues[0] : undefined;
  const fail = (error: OAuthErrorCode, description: string): Checked => ({
    kind: 'redirect',
    redirectUri,
    where,
    state,
    error,
    description,
  });
  try {
    single(params, 'state');
    const responseType = single(params, 'response_type');
    if (responseType === undefined) return fail('invalid_request', 'response_type is missing');
    if (responseType !== 'code' && responseType !== 'token') {
      return fail('unsupported_response_type', `response_type ${responseType} is not supported; use code`);
    }
    if (responseType === 'token' && !implicit) {
      return fail('unsupported_response_type', 'the implicit grant is turned off here; use code with PKCE');
    }
    const scopes = core.oauth.parseScopes(single(params, 'scope'));
    if (scopes.length === 0) return fail('invalid_scope', 'no scope was requested');

    const codeChallenge = single(params, 'code_challenge');
    const method = single(params, 'code_challenge_method');
    let challenge: string | undefined;
    if (responseType === 'code') {
      if (codeChallenge === undefined) {
        if (method !== undefined)
          return fail('invalid_request', 'code_challenge_method without code_challenge');
        // RFC 7636 §4.4.1 and RFC 9700 §2.1.1: public clients must use PKCE.
        if (!client.confidential)
          return fail('invalid_request', 'code_challenge is required (PKCE with S256)');
      } else {
        // RFC 7636 §4.3: an absent method means "plain", which is refused (§4.4.1).
        if (method !== 'S256') return fail('invalid_request', 'transform algorithm not supported: use S256');
        if (!CODE_CHALLENGE.test(codeChallenge))
          return fail('invalid_request', 'code_challenge is malformed');
        challenge = codeChallenge;
      }
    }
    return {
      kind: 'ok',
      request: { client, redirectUri, responseType, scopes, state, codeChallenge: challenge },
    };
  } catch (err) {
    if (err instanceof OAuthError) return fail(err.code, err.description);
    throw err;
  }
}

function errorRedirect(checked: Extract<Checked, { kind: 'redirect' }>): string {
  return withParameters(
    checked.redirectUri,
    { error: checked.error, error_description: checked.description, state: checked.state },
    checked.where,
  );
}

function errorPage(reply: FastifyReply, message: string): FastifyReply {
  return sendPage(
    reply,
    400,
    messagePage(
      'This sign-in link does not work',
      html`<p>${message}</p><p>Nothing was shared with the app. Go back to the app and try again, or tell its makers.</p>`,
    ),
  );
}

/** `GET`-style URL of the request, to come back to after signing in. */
function authorizeUrl(path: string, params: URLSearchParams): string {
  const carried = new URLSearchParams();
  for (const name of CARRIED) for (const value of params.getAll(name)) carried.append(name, value);
  return `${path}?${carried.toString()}`;
}

/**
 * The authorization endpoint (RFC 6749 §3.1), at Live's path and the standard one:
 * GET shows the consent page (after sign-in); the page's form POSTs the answer back
 * here. RFC 6749 §4.1 (code, with PKCE — RFC 7636 — for public clients) and §4.2
 * (token, the implicit grant, unless `oauthImplicit` is off).
 */
export function registerAuthorize(app: FastifyInstance, core: Core, implicit: boolean): void {
  const get = async (request: FastifyRequest, reply: FastifyReply) => {
    // The route's own path (Live's or the standard one), never anything the client sent.
    const path = request.routeOptions.url ?? '/oauth/authorize';
    const params = queryOf(request);
    const checked = await check(core, params, implicit);
    if (checked.kind === 'page') return errorPage(reply, checked.message);
    if (checked.kind === 'redirect') return reply.redirect(errorRedirect(checked), 302);
    const session = await currentSession(core, request);
    if (session === undefined) {
      return reply.redirect(`/signin?return=${encodeURIComponent(authorizeUrl(path, params))}`, 302);
    }
    const { client, scopes, redirectUri } = checked.request;
    const hidden = CARRIED.flatMap((name) => {
      const value = params.get(name);
      return value === null ? [] : [html`<input type="hidden" name="${name}" value="${value}">`];
    });
    let destination = redirectUri;
    try {
      const url = new URL(redirectUri);
      destination = url.origin === 'null' ? `${url.protocol}${url.pathname}` : url.origin;
    } catch {}
    return sendPage(
      reply,
      200,
      page({
        title: `Allow ${client.name} to use your account?`,
        signedIn: session,
        body: html`<section class="card">
<p><strong>${client.name}</strong> would like to:</p>
<ul class="scopes">${scopes.map((s) => html`<li>${scopeWords(s)}</li>`)}</ul>
<p class="hint">You are signed in as ${session.account.handle}. After you answer, you go back to <code>${destination}</code>. You can take this access back at any time on your account page.</p>
<form method="post" action="${path}">
  ${csrfField(session.csrf)}${hidden}
  <div class="actions">
    <button type="submit" name="decision" value="allow">Allow</button>
    <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
  </div>
</form>
</section>`,
      }),
    );
  };

  const post = async (request: FastifyRequest, reply: FastifyReply) => {
    // The route's own path (Live's or the standard one), never anything the client sent.
    const path = request.routeOptions.url ?? '/oauth/authorize';
    const form = formOf(request);
    if (form === undefined) return errorPage(reply, 'The answer could not be read.');
    const session = await currentSession(core, request);
    if (session === undefined) {
      return reply.redirect(`/signin?return=${encodeURIComponent(authorizeUrl(path, form))}`, 303);
    }
    if (!sessionCsrfValid(session, form)) return csrfRejected(reply, session);
    const checked = await check(core, form, implicit);
    if (checked.kind === 'page') return errorPage(reply, checked.message);
    // RFC 9700 §4.11: 303 so the browser does not send this form on to the app.
    if (checked.kind === 'redirect') return reply.redirect(errorRedirect(checked), 303);
    const { client, redirectUri, responseType, scopes, state, codeChallenge } = checked.request;
    const decision = form.get('decision');
    if (decision !== 'allow') {
      request.log.info({ handle: session.account.handle, clientId: client.id }, 'oauth: access denied');
      const where = responseType === 'token' ? 'fragment' : 'query';
      const denied = { error: 'access_denied', error_description: 'the user did not allow access', state };
      return reply.redirect(withParameters(redirectUri, denied, where), 303);
    }
    const accountId = session.account.id;
    if (responseType === 'code') {
      const code = await core.oauth.issueCode({
        clientId: client.id,
        accountId,
        redirectUri,
        scopes,
        ...(codeChallenge === undefined ? {} : { codeChallenge, codeChallengeMethod: 'S256' as const }),
      });
      request.log.info({ handle: session.account.handle, clientId: client.id, scopes }, 'oauth: code issued');
      return reply.redirect(withParameters(redirectUri, { code, state }, 'query'), 303);
    }
    // §4.2.2: the implicit grant never issues a refresh token.
    const tokens = await core.oauth.issueTokens({ clientId: client.id, accountId, scopes, refresh: false });
    request.log.info(
      { handle: session.account.handle, clientId: client.id, scopes },
      'oauth: implicit token issued',
    );
    const response = {
      access_token: tokens.accessToken,
      token_type: tokens.tokenType,
      expires_in: String(tokens.expiresIn),
      scope: tokens.scopes.join(' '),
      state,
    };
    return reply.redirect(withParameters(redirectUri, response, 'fragment'), 303);
  };

  for (const url of ['/oauth/authorize', '/oauth20_authorize.srf']) {
    app.get(url, get);
    app.post(url, post);
  }
}
