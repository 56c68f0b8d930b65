import type { FastifyInstance } from 'fastify';
import { DEFAULT_INVITE_MS } from '../../core/invites.ts';
import { noticeEveryone } from '../../core/operator-actions.ts';
import { ADMIN_NAV, adminPost, adminSession, when } from './admin-guard.ts';
import { registerAdminUsers } from './admin-users.ts';
import { field, queryOf } from './forms.ts';
import { html, type SafeHtml } from './html.ts';
import { csrfField, notice, page, sendPage } from './layout.ts';
import { requestOrigin } from './security.ts';
import type { SignedIn } from './session.ts';
import type { SignupMode, WebContext } from './settings.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const EXPIRY_CHOICES: readonly [string, number][] = [
  ['1 day', DAY_MS],
  ['7 days', DEFAULT_INVITE_MS],
  ['30 days', 30 * DAY_MS],
];
/** An MSN system message and an XMPP headline both stay readable at this length. */
const MAX_BROADCAST_CHARS = 500;

const DONE: Readonly<Record<string, string>> = {
  signup: 'Sign-up mode changed.',
  withdrawn: 'The invitation is withdrawn.',
  broadcast: 'The message is sent to everyone online.',
};

const MODE_WORDS: Readonly<Record<SignupMode, string>> = {
  open: 'Open: anyone can create an account',
  invite: 'By invitation: a one-time link or the invitation code',
  closed: 'Closed: only operators create accounts',
};

interface Shown {
  ok?: string | undefined;
  error?: string | undefined;
  /** A link just made: shown this once. */
  link?: { url: string; expiresAt: number } | undefined;
}

async function overviewPage(ctx: WebContext, session: SignedIn, shown: Shown): Promise<SafeHtml> {
  const { core } = ctx;
  const csrf = csrfField(session.csrf);
  const accounts = await core.accounts.list();
  const online = core.liveSessions.list();
  const invites = await core.invites.list();
  const open = invites.filter((i) => core.invites.isOpen(i));
  const used = invites.filter((i) => i.usedAt !== null).slice(0, 10);

  const modes = (Object.keys(MODE_WORDS) as SignupMode[]).map(
    (mode) =>
      html`<label class="inline"><input type="radio" name="mode" value="${mode}"${ctx.signup === mode ? html` checked` : ''}> ${MODE_WORDS[mode]}</label>`,
  );
  const link = shown.link
    ? html`<div class="message ok" role="status"><p>New invitation link (shown once; it makes one account until ${when(shown.link.expiresAt)} UTC):</p>
<p><code class="secret">${shown.link.url}</code></p></div>`
    : html``;
  const openList = open.length
    ? html`<ul class="items">${open.map(
        (
          i,
        ) => html`<li><strong>${i.id}</strong> · made ${when(i.createdAt)}${i.createdBy ? html` by ${i.createdBy}` : ' on the command line'} · expires ${when(i.expiresAt)} UTC
<form method="post" action="/admin/invites/withdraw">${csrf}<input type="hidden" name="id" value="${i.id}">
<button type="submit" class="danger" aria-label="Withdraw invitation ${i.id}">Withdraw</button></form></li>`,
      )}</ul>`
    : html`<p class="hint">No open invitations.</p>`;
  const usedList = used.length
    ? html`<h3>Used lately</h3><ul class="items">${used.map(
        (i) => html`<li><strong>${i.id}</strong> → ${i.usedBy} (${when(i.usedAt)} UTC)</li>`,
      )}</ul>`
    : html``;

  return page({
    title: 'Admin',
    signedIn: session,
    body: html`${ADMIN_NAV}${notice('ok', shown.ok)}${notice('error', shown.error)}
<section class="card" aria-labelledby="server-h">
<h2 id="server-h">This server</h2>
<dl class="facts">
<dt>Accounts</dt><dd><a href="/admin/users">${accounts.length}</a></dd>
<dt>Online now</dt><dd><a href="/admin/sessions">${online.length} session${online.length === 1 ? '' : 's'}</a> on this node</dd>
<dt>Sign-up</dt><dd>${MODE_WORDS[ctx.signup]}</dd>
</dl>
</section>
<section class="card" aria-labelledby="signup-h">
<h2 id="signup-h">Sign-up mode</h2>
<form method="post" action="/admin/signup">${csrf}
<fieldset><legend>Who may create an account on the web</legend>${modes}</fieldset>
<p class="hint">Applies now, until the server restarts or reloads its configuration; set <code>signup</code> in the configuration to keep it.</p>
<div class="actions"><button type="submit">Change sign-up mode</button></div>
</form>
</section>
<section class="card" aria-labelledby="invites-h">
<h2 id="invites-h">Invitations</h2>
${link}
<form method="post" action="/admin/invites">${csrf}
<label for="expires">The link works for</label>
<select id="expires" name="expires">${EXPIRY_CHOICES.map(
      ([words, ms]) =>
        html`<option value="${ms}"${ms === DEFAULT_INVITE_MS ? html` selected` : ''}>${words}</option>`,
    )}</select>
<p class="hint">Each link makes one account, when sign-up is by invitation.</p>
<div class="actions"><button type="submit">Make an invitation link</button></div>
</form>
<h3>Open</h3>
${openList}
${usedList}
</section>
<section class="card" aria-labelledby="broadcast-h">
<h2 id="broadcast-h">Message to everyone online</h2>
<form method="post" action="/admin/broadcast">${csrf}
<label for="broadcast">Message</label>
<textarea id="broadcast" name="text" maxlength="${MAX_BROADCAST_CHARS}" required aria-describedby="broadcast-hint"></textarea>
<p class="hint" id="broadcast-hint">MSN users see it as a message from the server, XMPP users as a headline.</p>
<div class="actions"><button type="submit">Send to everyone</button></div>
</form>
</section>`,
  });
}

/** `/admin`: for accounts with the admin role only (core/roles.ts). */
export function registerAdmin(app: FastifyInstance, ctx: WebContext): void {
  const { core } = ctx;
  const show = async (
    reply: Parameters<typeof sendPage>[0],
    session: SignedIn,
    status: number,
    shown: Shown,
  ) => sendPage(reply, status, await overviewPage(ctx, session, shown));

  app.get('/admin', async (request, reply) => {
    const session = await adminSession(ctx, request, reply);
    if (session === undefined) return reply;
    return show(reply, session, 200, { ok: DONE[queryOf(request).get('done') ?? ''] });
  });

  adminPost(app, ctx, '/admin/signup', async (session, form, request, reply) => {
    const mode = field(form, 'mode');
    if (mode !== 'open' && mode !== 'closed' && mode !== 'invite') {
      return show(reply, session, 400, { error: 'Choose a sign-up mode.' });
    }
    // The live settings object: both HTTP and HTTPS apps read it at each request.
    ctx.settings.signup = mode;
    request.log.info(
      { admin: session.account.handle, signup: mode },
      'sign-up mode changed on the admin page',
    );
    return reply.redirect('/admin?done=signup', 303);
  });

  adminPost(app, ctx, '/admin/invites', async (session, form, request, reply) => {
    const expiresInMs = Number(field(form, 'expires'));
    if (!EXPIRY_CHOICES.some(([, ms]) => ms === expiresInMs)) {
      return show(reply, session, 400, { error: 'Choose how long the link works.' });
    }
    const { token, invite } = await core.invites.create({ expiresInMs, createdBy: session.account.handle });
    request.log.info({ admin: session.account.handle, invite: invite.id }, 'invitation link made');
    const url = `${requestOrigin(request) ?? ''}/signup?invite=${encodeURIComponent(token)}`;
    const shown: Shown = { link: { url, expiresAt: invite.expiresAt } };
    if (ctx.signup !== 'invite')
      shown.error = `Sign-up is “${ctx.signup}” now: links are asked for only when it is by invitation.`;
    return show(reply, session, 200, shown);
  });

  adminPost(app, ctx, '/admin/invites/withdraw', async (session, form, _request, reply) => {
    if (!(await core.invites.withdraw(field(form, 'id')))) {
      return show(reply, session, 404, { error: 'There is no such invitation.' });
    }
    return reply.redirect('/admin?done=withdrawn', 303);
  });

  adminPost(app, ctx, '/admin/broadcast', async (session, form, request, reply) => {
    const text = field(form, 'text').trim();
    if (text === '' || [...text].length > MAX_BROADCAST_CHARS) {
      return show(reply, session, 400, {
        error: `Write a message of 1 to ${MAX_BROADCAST_CHARS} characters.`,
      });
    }
    const reached = await noticeEveryone(core, text);
    request.log.info({ admin: session.account.handle, ...reached }, 'broadcast from the admin page');
    return reply.redirect('/admin?done=broadcast', 303);
  });

  registerAdminUsers(app, ctx);
}
