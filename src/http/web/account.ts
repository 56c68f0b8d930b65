import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../../core/oauth-api.ts';
import { MAX_CLIENT_NAME_LENGTH } from '../../core/oauth-clients.ts';
import { checkPassword, isShorterThanPolicy } from '../../core/password-policy.ts';
import {
  MAX_PERSONAL_MESSAGE_CHARS as MAX_PERSONAL_MESSAGE,
  PERSONAL_MESSAGE_PROPERTY as PERSONAL_MESSAGE,
  setPersonalMessage,
} from '../../core/personal-message.ts';
import { isPapillonError } from '../../util/errors.ts';
import { scopeWords } from '../oauth/scope-words.ts';
import { field, formOf, MultipartBody, parseMultipart, queryOf } from './forms.ts';
import { html, type SafeHtml } from './html.ts';
import { csrfField, notice, page, sendPage } from './layout.ts';
import { sameSecret } from './security.ts';
import { csrfRejected, type SignedIn, sessionCsrfValid, sessionOrSignIn } from './session.ts';
import type { WebContext } from './settings.ts';

/** Confirmations after a change (Post/Redirect/Get: `/account?done=…`). */
const DONE: Readonly<Record<string, string>> = {
  welcome: 'Welcome! Your account is ready: sign in to MSN Messenger or an XMPP app with it.',
  name: 'Your display name is changed.',
  message: 'Your personal message is changed.',
  avatar: 'Your picture is changed.',
  'avatar-removed': 'Your picture is removed.',
  password: 'Your password is changed.',
  revoked: 'That app no longer has access to your account.',
  deleted: 'The app is deleted, and every token it had is revoked.',
};

function date(ms: number | null): string {
  return ms === null ? 'never' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

interface Messages {
  ok?: string | undefined;
  error?: string | undefined;
  /** What the registration form had, to show again with the error. */
  app?: { name: string; redirectUris: string; confidential: boolean };
}

async function accountPage(ctx: WebContext, session: SignedIn, messages: Messages): Promise<SafeHtml> {
  const { core } = ctx;
  // Fresh: the session lookup read it in this request, and a change that succeeds redirects instead.
  const account = session.account;
  const properties = await core.accounts.properties(account.id, [PERSONAL_MESSAGE]);
  const avatar = account.picture;
  const authorized = await core.oauth.authorizedApps(account.id);
  const own = await core.oauth.listClients(account.id);
  const csrf = csrfField(session.csrf);

  const picture = avatar
    ? html`<img class="avatar" src="/account/avatar?v=${avatar.sha1.slice(0, 12)}" alt="Your picture">
<dl class="facts"><dt>Avatar hash (SHA-1)</dt><dd><code>${avatar.sha1}</code></dd>
<dt>Type, size</dt><dd>${avatar.type}, ${Math.ceil(avatar.size / 1024)} KiB</dd></dl>
<form method="post" action="/account/avatar/remove">${csrf}<button type="submit" class="danger">Remove picture</button></form>`
    : html`<p class="hint">No picture yet.</p>`;

  const apps = authorized.length
    ? html`<ul class="items">${authorized.map(
        (a) => html`<li><strong>${a.client.name}</strong>
<ul class="scopes">${a.scopes.map((s) => html`<li>${scopeWords(s)}</li>`)}</ul>
<p class="hint">Allowed ${date(a.grantedAt)} UTC; last used ${date(a.lastUsedAt)}${a.lastUsedAt === null ? '' : ' UTC'}.</p>
<form method="post" action="/account/apps/revoke">${csrf}<input type="hidden" name="client_id" value="${a.client.id}">
<button type="submit" class="danger" aria-label="Remove access for ${a.client.name}">Remove access</button></form></li>`,
      )}</ul>`
    : html`<p class="hint">No app has access to your account.</p>`;

  const clients = own.length
    ? html`<ul class="items">${own.map(
        (c) => html`<li><strong>${c.name}</strong>
<dl class="facts"><dt>client_id</dt><dd><code>${c.id}</code></dd>
<dt>Type</dt><dd>${c.confidential ? 'confidential (has a secret)' : 'public (PKCE)'}</dd>
<dt>Redirect URIs</dt><dd>${c.redirectUris.map((u) => html`<code>${u}</code><br>`)}</dd></dl>
<form method="post" action="/account/clients/delete">${csrf}<input type="hidden" name="client_id" value="${c.id}">
<button type="submit" class="danger" aria-label="Delete ${c.name}">Delete app</button></form></li>`,
      )}</ul>`
    : html`<p class="hint">You have not registered an app.</p>`;

  const draft = messages.app;
  return page({
    title: 'Your account',
    signedIn: session,
    body: html`${notice('ok', messages.ok)}${notice('error', messages.error)}
<section class="card" aria-labelledby="profile-h">
<h2 id="profile-h">Profile</h2>
<dl class="facts"><dt>Account</dt><dd>${account.handle}</dd></dl>
<form method="post" action="/account/name">${csrf}
  <label for="display-name">Display name</label>
  <input type="text" id="display-name" name="displayName" value="${account.displayName}" maxlength="129" required>
  <div class="actions"><button type="submit">Save display name</button></div>
</form>
<form method="post" action="/account/message">${csrf}
  <label for="personal-message">Personal message</label>
  <input type="text" id="personal-message" name="message" value="${properties[PERSONAL_MESSAGE] ?? ''}"
    maxlength="${MAX_PERSONAL_MESSAGE}" aria-describedby="message-hint">
  <p class="hint" id="message-hint">Shown beside your name to MSN and XMPP contacts while you are signed in.</p>
  <div class="actions"><button type="submit">Save personal message</button></div>
</form>
</section>
<section class="card" aria-labelledby="picture-h">
<h2 id="picture-h">Picture</h2>
${picture}
<form method="post" action="/account/avatar" enctype="multipart/form-data">${csrf}
  <label for="avatar">New picture</label>
  <input type="file" id="avatar" name="avatar" accept="image/png,image/jpeg,image/gif" required aria-describedby="avatar-hint">
  <p class="hint" id="avatar-hint">PNG, JPEG or GIF, at most 256 KiB.</p>
  <div class="actions"><button type="submit">Upload picture</button></div>
</form>
</section>
<section class="card" aria-labelledby="password-h">
<h2 id="password-h">Password</h2>
<form method="post" action="/account/password">${csrf}
  <input type="text" name="username" value="${account.handle}" autocomplete="username" hidden>
  <label for="current">Current password</label>
  <input type="password" id="current" name="current" autocomplete="current-password" required>
  <label for="new-password">New password</label>
  <input type="password" id="new-password" name="password" autocomplete="new-password" required
    minlength="${ctx.passwordMinLength}" aria-describedby="new-hint">
  <p class="hint" id="new-hint">At least ${ctx.passwordMinLength} characters.</p>
  <label for="confirm">New password again</label>
  <input type="password" id="confirm" name="confirm" autocomplete="new-password" required>
  <div class="actions"><button type="submit">Change password</button></div>
</form>
</section>
<section class="card" aria-labelledby="apps-h">
<h2 id="apps-h">Apps with access to your account</h2>
${apps}
</section>
<section class="card" aria-labelledby="dev-h">
<h2 id="dev-h">Your apps (for developers)</h2>
${clients}
<h3>Register an app</h3>
<form method="post" action="/account/clients">${csrf}
  <label for="app-name">Name</label>
  <input type="text" id="app-name" name="name" value="${draft?.name ?? ''}" maxlength="${MAX_CLIENT_NAME_LENGTH}" required>
  <label for="redirect-uris">Redirect URIs</label>
  <textarea id="redirect-uris" name="redirect_uris" required aria-describedby="uris-hint">${draft?.redirectUris ?? ''}</textarea>
  <p class="hint" id="uris-hint">One per line, matched exactly: https://…, http://127.0.0.1:PORT/… for apps on this computer, or an app's own scheme (com.example.app:/callback).</p>
  <fieldset><legend>Type</legend>
    <label class="inline"><input type="radio" name="type" value="public"${draft?.confidential ? '' : ' checked'}> Public: desktop, phone or browser app (uses PKCE, no secret)</label>
    <label class="inline"><input type="radio" name="type" value="confidential"${draft?.confidential ? ' checked' : ''}> Confidential: runs on a server that keeps a secret</label>
  </fieldset>
  <div class="actions"><button type="submit">Register app</button></div>
</form>
</section>
<section class="card" aria-labelledby="delete-h">
<h2 id="delete-h">Delete your account</h2>
<p>Deletes your account, contacts and messages, and signs out every app using it.</p>
<p><a class="button danger" href="/account/delete">Delete account…</a></p>
</section>`,
  });
}

/** The account page and its forms; every POST checks the session's CSRF token. */
export function registerAccount(app: FastifyInstance, ctx: WebContext): void {
  const { core } = ctx;

  /** The signed-in session, or a redirect to the sign-in page (undefined: the reply is sent). */
  const signedIn = (request: FastifyRequest, reply: FastifyReply) =>
    sessionOrSignIn(core, request, reply, '/account');

  const show = async (reply: FastifyReply, session: SignedIn, status: number, messages: Messages) =>
    sendPage(reply, status, await accountPage(ctx, session, messages));

  /** A POST handler with the session and CSRF checked: answers with an error message or a `done` key. */
  function post(
    url: string,
    handler: (
      session: SignedIn,
      form: URLSearchParams,
      request: FastifyRequest,
    ) => Promise<string | Messages>,
  ): void {
    app.post(url, async (request, reply) => {
      const session = await signedIn(request, reply);
      if (session === undefined) return reply;
      const form = formOf(request);
      if (form === undefined || !sessionCsrfValid(session, form)) return csrfRejected(reply, session);
      const outcome = await handler(session, form, request);
      if (typeof outcome === 'string') return reply.redirect(`/account?done=${outcome}`, 303);
      return show(reply, session, 400, outcome);
    });
  }

  app.get('/account', async (request, reply) => {
    const session = await signedIn(request, reply);
    if (session === undefined) return reply;
    return show(reply, session, 200, { ok: DONE[queryOf(request).get('done') ?? ''] });
  });

  post('/account/name', async (session, form) => {
    try {
      await core.accounts.setDisplayName(session.account.id, field(form, 'displayName'));
      return 'name';
    } catch (err) {
      if (isPapillonError(err, 'bad-display-name'))
        return { error: `That display name cannot be used: ${err.message}.` };
      throw err;
    }
  });

  post('/account/message', async (session, form) => {
    try {
      await setPersonalMessage(core, session.account.id, field(form, 'message'));
      return 'message';
    } catch (err) {
      if (isPapillonError(err, 'conflict'))
        return { error: `That personal message cannot be used: ${err.message}.` };
      throw err;
    }
  });

  post('/account/password', async (session, form, request) => {
    const password = field(form, 'password');
    if (password !== field(form, 'confirm')) return { error: 'The two new passwords are not the same.' };
    if (isShorterThanPolicy(password, ctx.passwordMinLength)) {
      return { error: `Choose a password of at least ${ctx.passwordMinLength} characters.` };
    }
    try {
      checkPassword(password, session.account.handle);
    } catch (err) {
      if (isPapillonError(err, 'weak-password')) {
        return { error: `Choose another password: ${err.message.replace(/^password rejected: /, '')}.` };
      }
      throw err;
    }
    // The current password is checked under the same guard as a sign-in, so a stolen
    // session cannot be used to guess it quickly.
    const handle = session.account.handle;
    const current = field(form, 'current');
    const result = await core.verifyPasswordGuarded(request.ip, handle, current);
    if (result.status === 'throttled') return { error: 'Too many attempts. Wait a minute, then try again.' };
    if (result.status === 'failed') return { error: 'Your current password is not right.' };
    await core.accounts.changePassword(handle, password);
    // Whoever knew the old password is signed out of the pages; this browser stays in.
    const ended = await core.webSessions.endOthers(session.account.id, session.token);
    request.log.info({ ip: request.ip, handle, endedWebSessions: ended }, 'web password change');
    return 'password';
  });

  app.post('/account/avatar', async (request, reply) => {
    const session = await signedIn(request, reply);
    if (session === undefined) return reply;
    const parts = request.body instanceof MultipartBody ? parseMultipart(request.body) : undefined;
    const csrf = parts?.get('csrf')?.data.toString('utf8');
    if (parts === undefined || !sameSecret(session.csrf, csrf)) return csrfRejected(reply, session);
    try {
      const data = parts.get('avatar')?.data;
      if (!data?.length)
        return show(reply, session, 400, { error: 'Picture not changed: choose a picture to upload.' });
      await core.pictures.set(session.account.id, data);
    } catch (err) {
      if (isPapillonError(err, 'conflict'))
        return show(reply, session, 400, { error: `Picture not changed: ${err.message}.` });
      throw err;
    }
    return reply.redirect('/account?done=avatar', 303);
  });

  post('/account/avatar/remove', async (session) => {
    await core.pictures.remove(session.account.id);
    return 'avatar-removed';
  });

  app.get('/account/avatar', async (request, reply) => {
    const session = await signedIn(request, reply);
    if (session === undefined) return reply;
    const avatar = await core.pictures.get(session.account.id);
    if (avatar === undefined) return reply.code(404).header('cache-control', 'no-store').send();
    return reply
      .header('content-type', avatar.type)
      .header('cache-control', 'private, no-cache')
      .header('etag', `"${avatar.sha1}"`)
      .send(avatar.data);
  });

  post('/account/apps/revoke', async (session, form) => {
    await core.oauth.revokeApp(session.account.id, field(form, 'client_id'));
    return 'revoked';
  });

  post('/account/clients/delete', async (session, form) => {
    const deleted = await core.oauth.deleteClient(field(form, 'client_id'), session.account.id);
    return deleted ? 'deleted' : { error: 'That app is not one of yours.' };
  });

  app.post('/account/clients', async (request, reply) => {
    const session = await signedIn(request, reply);
    if (session === undefined) return reply;
    const form = formOf(request);
    if (form === undefined || !sessionCsrfValid(session, form)) return csrfRejected(reply, session);
    const name = field(form, 'name').trim();
    const uriText = field(form, 'redirect_uris');
    const confidential = field(form, 'type') === 'confidential';
    const again = (error: string) =>
      show(reply, session, 400, { error, app: { name, redirectUris: uriText, confidential } });
    const redirectUris = uriText
      .split(/\r?\n/)
      .map((u) => u.trim())
      .filter((u) => u !== '');
    // Core checks the name and URIs and drops repeats (RFC 6749 §3.1.2, RFC 8252 §7); its words are shown.
    let registered: Awaited<ReturnType<typeof core.oauth.registerClient>>;
    try {
      registered = await core.oauth.registerClient({
        name,
        redirectUris,
        confidential,
        ownerId: session.account.id,
      });
    } catch (err) {
      if (err instanceof OAuthError || isPapillonError(err))
        return again(`The app was not registered: ${err.message}.`);
      throw err;
    }
    const { client, secret } = registered;
    request.log.info({ handle: session.account.handle, clientId: client.id }, 'web: app registered');
    const secretPart = secret
      ? html`<dt>client_secret</dt><dd><code class="secret">${secret}</code></dd>`
      : html`<dt>client_secret</dt><dd>none: a public app proves itself with PKCE (S256)</dd>`;
    return sendPage(
      reply,
      201,
      page({
        title: 'App registered',
        signedIn: session,
        body: html`<section class="card">
<p><strong>${client.name}</strong> can now ask people to sign in with Papillon.</p>
<dl class="facts"><dt>client_id</dt><dd><code class="secret">${client.id}</code></dd>${secretPart}</dl>
${secret ? html`<p class="message error" role="alert">Copy the secret now: it is shown only this once, and Papillon keeps only its hash.</p>` : html``}
<p><a href="/account">Back to your account</a></p>
</section>`,
      }),
    );
  });
}
