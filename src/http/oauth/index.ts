import type { FastifyError, FastifyInstance } from 'fastify';
import type { Core } from '../../core/core.ts';
import { SCOPES } from '../../core/oauth-api.ts';
import { addFormParsers, queryOf } from '../web/forms.ts';
import { html } from '../web/html.ts';
import { messagePage, sendPage } from '../web/layout.ts';
import { addSecurityHeaders, requestOrigin } from '../web/security.ts';
import { registerAuthorize } from './authorize.ts';
import { noStore, sendOAuthError } from './errors.ts';
import { registerMe } from './me.ts';
import { registerTokenEndpoints } from './token.ts';

export interface OAuthRoutesOptions {
  core: Core;
  /** Whether `response_type=token` (RFC 6749 §4.2) is served: config `oauthImplicit`. */
  implicit?: boolean | undefined;
}

/** Pages (authorize, desktop) answer errors as HTML; the JSON endpoints as RFC 6749 §5.2 errors. */
const PAGES = /^\/(oauth\/authorize|oauth20_authorize\.srf|oauth20_desktop\.srf)(\?|$)/;

/**
 * The OAuth 2.0 authorization server, at Windows Live's paths (what Live Connect
 * and Messenger apps were written against) and the standard ones:
 *
 * - `GET|POST /oauth20_authorize.srf`, `/oauth/authorize` — RFC 6749 §3.1 (consent page).
 * - `POST /oauth20_token.srf`, `/oauth/token` — RFC 6749 §3.2.
 * - `GET /oauth20_desktop.srf` — the desktop redirect target: a page saying sign-in
 *   finished; desktop apps read the code (or token) from its URL.
 * - `POST /oauth/revoke` — RFC 7009. `POST /oauth/introspect` — RFC 7662.
 * - `GET /.well-known/oauth-authorization-server` — RFC 8414 metadata.
 * - `GET /v5.0/me` — Live Connect's profile of the token's user.
 *
 * Register with `app.register(oauthRoutes, { core, implicit })`.
 */
export async function oauthRoutes(app: FastifyInstance, options: OAuthRoutesOptions): Promise<void> {
  const core = options.core;
  const implicit = options.implicit ?? true;
  addFormParsers(app);
  addSecurityHeaders(app);

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error({ err: error }, 'oauth request failed');
    if (PAGES.test(request.url)) {
      const text =
        status >= 500
          ? 'Something went wrong on the server. Try again in a moment.'
          : 'The request could not be read.';
      return sendPage(reply, status >= 500 ? 500 : 400, messagePage('Sign-in failed', html`<p>${text}</p>`));
    }
    if (status >= 500) return sendOAuthError(reply, 'server_error', 'the server failed; try again');
    return sendOAuthError(reply, 'invalid_request', error.message);
  });

  registerAuthorize(app, core, implicit);
  registerTokenEndpoints(app, core);
  registerMe(app, core);

  app.get('/oauth20_desktop.srf', async (request, reply) => {
    const query = queryOf(request);
    const error = query.get('error');
    const body =
      error === null
        ? html`<p>You are signed in. You can close this window and go back to the app.</p>`
        : html`<p>Sign-in did not finish: ${query.get('error_description') ?? error}.</p><p>Close this window and try again from the app.</p>`;
    return sendPage(reply, 200, messagePage(error === null ? 'Signed in' : 'Not signed in', body));
  });

  // RFC 8414 §3: the metadata of the issuer this request reached (its scheme and host).
  app.get('/.well-known/oauth-authorization-server', async (request, reply) => {
    const issuer = requestOrigin(request);
    if (issuer === undefined)
      return sendOAuthError(reply, 'invalid_request', 'the Host header is not usable');
    return noStore(reply).send({
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      scopes_supported: [...SCOPES],
      response_types_supported: implicit ? ['code', 'token'] : ['code'],
      response_modes_supported: implicit ? ['query', 'fragment'] : ['query'],
      grant_types_supported: implicit
        ? ['authorization_code', 'refresh_token', 'implicit']
        : ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      service_documentation: `${issuer}/`,
    });
  });
}
