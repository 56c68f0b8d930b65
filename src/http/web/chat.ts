import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { issueWebChatToken, WEB_CHAT_TOKEN_SECONDS } from '../../core/web-chat.ts';
import { sendCachedFile, strongEtag } from './cached-file.ts';
import { registerChatAssets } from './chat-assets.ts';
import { html } from './html.ts';
import { sendPage, siteHeader } from './layout.ts';
import { sameSecret } from './security.ts';
import { currentSession, sessionOrSignIn } from './session.ts';
import type { WebContext } from './settings.ts';
import { HEADER_STYLESHEET } from './style.ts';

/** Where the XMPP WebSocket endpoint is (RFC 7395), on this same origin. */
export const CHAT_WEBSOCKET_PATH = '/xmpp-websocket';
const TOKEN_PATH = '/chat/token';
const SIGN_IN_PATH = '/signin?return=%2Fchat';

/** The page's start-up script (chat-boot.js beside this file): a static file, never a template. */
const BOOT_SCRIPT = readFileSync(new URL('./chat-boot.js', import.meta.url));

/**
 * The chat page's stylesheet: the site header's rules (not the whole site stylesheet, whose
 * `label`, `button`, `.message`… rules would restyle Converse's markup), then the layout:
 * the header on top, Converse filling the rest of the window.
 */
const CHAT_STYLESHEET = `${HEADER_STYLESHEET}
html, body { height: 100%; margin: 0; }
body.chat { display: flex; flex-direction: column; height: 100dvh; overflow: hidden; background: var(--bg); }
body.chat > header.top { flex: none; }
body.chat > main.chat { flex: 1 1 auto; min-height: 0; position: relative; overflow: hidden; }
/* Converse's full-screen mode fills the window (position: fixed); here it fills what the header leaves. */
body.chat converse-root.converse-fullscreen {
  position: absolute; inset: 0; width: 100%; height: 100%; z-index: auto; --fullpage-chat-height: 100%;
}
body.chat converse-bg { height: 100%; width: 100%; }
body.chat converse-root converse-chats.converse-fullscreen.converse-chatboxes { position: absolute; inset: 0; }
/* Papillon has no group chats; Converse's sponsors' logos live on another site. */
body.chat #chatrooms, body.chat converse-footer { display: none; }
/* The contact's status text (chat-boot.js) in the heading's text colour; Converse gives it the heading's background colour. */
body.chat .conversejs .chatbox .chat-head .chat-head__desc { color: var(--chat-header-fg-color); }
body.chat .chat-problem { margin: 1rem; padding: 0.6rem 0.8rem; border: 1px solid var(--danger); border-radius: 0.35rem; color: var(--danger); }
/* A phone: the header on one line, the chat gets the height. */
@media (max-width: 40rem) {
  body.chat > header.top { padding: 0.4rem 0.75rem; }
  body.chat > header.top .who { display: none; }
}
`;

/**
 * The chat page's Content-Security-Policy (CSP3), as strict as the other pages' but for
 * what Converse needs. Scripts only from this origin, none inline: the page passes its
 * settings in data- attributes. Styles: `<style>` elements and stylesheets only from this
 * origin (`style-src-elem`; the one element Converse's bundle inserts is empty, its CSS is
 * in converse.min.css), but inline style attributes (`style-src-attr 'unsafe-inline'`),
 * which Converse's templates write (avatars' colour and size); an attribute holds no
 * selectors and its `url()`s still obey img-src. (Browsers without the CSP3 split read
 * `style-src`, which allows both.) `connect-src 'self'` covers the WebSocket on this host (CSP3
 * §6.7.2.3 lets 'self' match ws: and wss:), the credentials request and the lazily loaded
 * chunks; images may be data: and blob: URLs (the icons in Converse's stylesheet, avatars
 * it builds); nothing can frame the page.
 */
export const CHAT_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "style-src-elem 'self'",
  "style-src-attr 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * The chat page (issue 12): Converse.js, a browser XMPP client, signed in with the web
 * session — no password typed again, none kept in the browser.
 *
 * - `GET /chat` — the page (sign-in first); `GET /chat/boot.js` and `/chat/chat.css` — ours.
 * - `POST /chat/token` — a short-lived OAuth token for SASL OAUTHBEARER (core/web-chat.ts),
 *   for a request carrying the session's CSRF token in `X-CSRF-Token`.
 * - `GET /chat/assets/<version>/…` — Converse itself, from node_modules (chat-assets.ts).
 */
export function registerChat(app: FastifyInstance, ctx: WebContext): void {
  const assets = registerChatAssets(app);

  app.get('/chat', async (request, reply) => {
    const session = await sessionOrSignIn(ctx.core, request, reply, '/chat');
    if (session === undefined) return reply;
    reply.header('content-security-policy', CHAT_CSP);
    return sendPage(
      reply,
      200,
      html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat · Papillon</title>
<link rel="stylesheet" href="${assets.base}/converse.min.css">
<link rel="stylesheet" href="/chat/chat.css">
<script type="module" src="/chat/boot.js"></script>
</head>
<body class="chat">
<a class="skip" href="#papillon-chat">Skip to the chat</a>
${siteHeader(session)}
<main class="chat" id="papillon-chat" data-assets="${assets.base}" data-websocket="${CHAT_WEBSOCKET_PATH}" data-credentials="${TOKEN_PATH}" data-csrf="${session.csrf}" data-signin="${SIGN_IN_PATH}">
<h1 class="visually-hidden">Chat</h1>
<noscript><p class="chat-problem">The chat runs in the browser and needs JavaScript.</p></noscript>
<p id="papillon-chat-problem" class="chat-problem" role="alert" hidden></p>
<converse-root></converse-root>
</main>
</body>
</html>
`,
    );
  });

  serveOwnFile(app, '/chat/boot.js', 'text/javascript; charset=utf-8', BOOT_SCRIPT);
  serveOwnFile(app, '/chat/chat.css', 'text/css; charset=utf-8', Buffer.from(CHAT_STYLESHEET));

  app.post(TOKEN_PATH, async (request, reply) => chatToken(ctx, request, reply));
}

/** One of our own files, revalidated at each use (RFC 9111 §5.2.2.4 `no-cache`) by its ETag. */
function serveOwnFile(app: FastifyInstance, url: string, type: string, body: Buffer): void {
  const file = { etag: strongEtag(body), cacheControl: 'no-cache', type };
  app.get(url, async (request, reply) => sendCachedFile(request, reply, file, body));
}

/**
 * Converse's `credentials_url` answer, `{ jid, password }`, the password being an access
 * token (RFC 6750) for `wl.messenger` that lives WEB_CHAT_TOKEN_SECONDS. The CSRF token
 * comes in a header: another site can neither read it nor send a custom header here
 * without a CORS preflight, which this server never grants.
 */
async function chatToken(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  reply.header('cache-control', 'no-store');
  const session = await currentSession(ctx.core, request);
  if (session === undefined) return reply.code(401).send({ error: 'not signed in' });
  const header = request.headers['x-csrf-token'];
  if (!sameSecret(session.csrf, typeof header === 'string' ? header : undefined)) {
    return reply.code(403).send({ error: 'missing or wrong X-CSRF-Token' });
  }
  const issued = await issueWebChatToken(ctx.core, session.token, session.account.id);
  if (issued === undefined) {
    return reply
      .code(429)
      .header('retry-after', String(WEB_CHAT_TOKEN_SECONDS))
      .send({ error: 'too many tokens; try again later' });
  }
  request.log.info({ accountId: session.account.id }, 'chat page: token issued');
  return reply.send({
    jid: session.account.handle,
    password: issued.token,
    expires_in: Math.floor((issued.expiresAt - Date.now()) / 1000),
  });
}
