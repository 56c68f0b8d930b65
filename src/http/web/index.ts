import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/core.ts';
import { registerAccount } from './account.ts';
import { registerAccountDelete } from './account-delete.ts';
import { registerAdmin } from './admin.ts';
import { sendCachedFile } from './cached-file.ts';
import { registerChat } from './chat.ts';
import { registerConnect } from './connect.ts';
import { registerErrorPages } from './errors.ts';
import { registerFavicon } from './favicon.ts';
import { addFormParsers } from './forms.ts';
import { html } from './html.ts';
import { page, sendPage } from './layout.ts';
import { addSecurityHeaders } from './security.ts';
import { currentSession } from './session.ts';
import { DEFAULT_WEB_SETTINGS, type WebContext, type WebSettings } from './settings.ts';
import { registerSignIn } from './sign-in.ts';
import { STYLESHEET, STYLESHEET_ETAG } from './style.ts';

export type { ConnectInfo, SignupMode, WebSettings } from './settings.ts';

export interface WebRoutesOptions {
  core: Core;
  settings?: WebSettings | undefined;
}

/**
 * The web pages people use (server-rendered HTML; no script but the chat page's):
 *
 * - `GET /` — what this is; links to sign in or to the account.
 * - `GET|POST /signin`, `GET|POST /signup`, `POST /signout`.
 * - `GET /account` and its forms: display name, personal message, picture, password,
 *   apps with access (revocable), the user's own registered apps.
 * - `GET|POST /account/delete` — users delete their own account.
 * - `GET /connect` — how to set up each client; `/connect/ca.crt` the CA to trust.
 * - `GET /chat` — chat in the browser (Converse.js over XMPP WebSocket), see chat.ts: the
 *   one page with script, all of it from files this server serves.
 * - `/admin…` — for accounts with the admin role: users, who is online, sign-up mode,
 *   invitation links, a message to everyone.
 * - `GET /static/papillon.css` — the one stylesheet; HTML 404 and error pages.
 *
 * Register with `app.register(webRoutes, { core, settings })`. Encapsulated: its form
 * parsers, security headers and error page apply to these routes only.
 */
export async function webRoutes(app: FastifyInstance, options: WebRoutesOptions): Promise<void> {
  // The settings object is read through, not copied: SIGHUP changes sign-up mode and the
  // password minimum of the running server (src/server/reload.ts).
  // The admin area writes sign-up mode to `settings` (a copy of the defaults when none is given).
  const settings = options.settings ?? { ...DEFAULT_WEB_SETTINGS };
  const ctx: WebContext = Object.create(settings, {
    core: { value: options.core, enumerable: true },
    settings: { value: settings, enumerable: true },
  });
  addFormParsers(app);
  addSecurityHeaders(app);

  registerErrorPages(app, ctx);

  registerFavicon(app);

  const stylesheet = {
    etag: STYLESHEET_ETAG,
    cacheControl: 'public, max-age=3600',
    type: 'text/css; charset=utf-8',
  };
  app.get('/static/papillon.css', async (request, reply) =>
    sendCachedFile(request, reply, stylesheet, STYLESHEET),
  );

  app.get('/', async (request, reply) => {
    const session = await currentSession(ctx.core, request);
    const signup = ctx.signup === 'closed' ? html`` : html` or <a href="/signup">create an account</a>`;
    const body = session
      ? html`<section class="card"><p>You are signed in as <strong>${session.account.handle}</strong>.</p>
<p><a href="/account">Your account</a>: your display name, personal message, picture, password, and the apps that may use your account.</p>
<p><a href="/chat">Chat</a> in this browser, with no app to install.</p>
<p><a href="/connect">Connect an app</a>: the settings for Windows Live Messenger, MSN Messenger, Pidgin and XMPP apps.</p></section>`
      : html`<section class="card"><p>Papillon is a Messenger service: MSN Messenger and XMPP apps sign in here and talk to each other.</p>
<p><a href="/signin">Sign in</a>${signup}.</p></section>`;
    return sendPage(reply, 200, page({ title: 'Papillon', body, signedIn: session }));
  });

  registerSignIn(app, ctx);
  registerAccount(app, ctx);
  registerAccountDelete(app, ctx);
  registerConnect(app, ctx);
  registerChat(app, ctx);
  registerAdmin(app, ctx);
}
