import type { FastifyError, FastifyInstance } from 'fastify';
import type { Core } from '../../core/core.ts';
import { registerAccount } from './account.ts';
import { addFormParsers } from './forms.ts';
import { html } from './html.ts';
import { messagePage, page, sendPage } from './layout.ts';
import { addSecurityHeaders } from './security.ts';
import { currentSession } from './session.ts';
import { DEFAULT_WEB_SETTINGS, type WebSettings } from './settings.ts';
import { registerSignIn } from './sign-in.ts';
import { STYLESHEET, STYLESHEET_ETAG } from './style.ts';

export type { SignupMode, WebSettings } from './settings.ts';

export interface WebRoutesOptions {
  core: Core;
  settings?: WebSettings | undefined;
}

/**
 * The web pages people use (server-rendered HTML, no script):
 *
 * - `GET /` — what this is; links to sign in or to the account.
 * - `GET|POST /signin`, `GET|POST /signup`, `POST /signout`.
 * - `GET /account` and its forms: display name, personal message, picture, password,
 *   apps with access (revocable), the user's own registered apps.
 * - `GET /static/papillon.css` — the one stylesheet.
 *
 * Register with `app.register(webRoutes, { core, settings })`. Encapsulated: its form
 * parsers, security headers and error page apply to these routes only.
 */
export async function webRoutes(app: FastifyInstance, options: WebRoutesOptions): Promise<void> {
  const ctx = { core: options.core, ...(options.settings ?? DEFAULT_WEB_SETTINGS) };
  addFormParsers(app);
  addSecurityHeaders(app);

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error({ err: error }, 'web page failed');
    const text =
      status === 413
        ? 'What you sent is too large. A picture may be at most 256 KiB.'
        : status >= 500
          ? 'Something went wrong on the server. Try again in a moment.'
          : 'The server could not read that request.';
    return sendPage(
      reply,
      status,
      messagePage(status >= 500 ? 'Server error' : 'Not accepted', html`<p>${text}</p>`),
    );
  });

  app.get('/static/papillon.css', async (request, reply) => {
    reply.header('etag', STYLESHEET_ETAG).header('cache-control', 'public, max-age=3600');
    if (request.headers['if-none-match'] === STYLESHEET_ETAG) return reply.code(304).send();
    return reply.header('content-type', 'text/css; charset=utf-8').send(STYLESHEET);
  });

  app.get('/', async (request, reply) => {
    const session = await currentSession(ctx.core, request);
    const signup = ctx.signup === 'closed' ? html`` : html` or <a href="/signup">create an account</a>`;
    const body = session
      ? html`<section class="card"><p>You are signed in as <strong>${session.account.handle}</strong>.</p>
<p><a href="/account">Your account</a>: your display name, personal message, picture, password, and the apps that may use your account.</p></section>`
      : html`<section class="card"><p>Papillon is a Messenger service: MSN Messenger and XMPP apps sign in here and talk to each other.</p>
<p><a href="/signin">Sign in</a>${signup}.</p></section>`;
    return sendPage(reply, 200, page({ title: 'Papillon', body, signedIn: session }));
  });

  registerSignIn(app, ctx);
  registerAccount(app, ctx);
}
