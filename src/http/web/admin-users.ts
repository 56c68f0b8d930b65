import type { FastifyInstance, FastifyReply } from 'fastify';
import { kickAccount, resetPassword } from '../../core/operator-actions.ts';
import { isShorterThanPolicy } from '../../core/password-policy.ts';
import type { AccountRow } from '../../store/types.ts';
import { isPapillonError } from '../../util/errors.ts';
import { ADMIN_NAV, adminPost, adminSession, when } from './admin-guard.ts';
import { field, queryOf } from './forms.ts';
import { html, type SafeHtml } from './html.ts';
import { csrfField, notice, page, sendPage } from './layout.ts';
import type { SignedIn } from './session.ts';
import type { WebContext } from './settings.ts';

const DONE: Readonly<Record<string, string>> = {
  password: 'The password is set, and the account is signed out everywhere.',
  kicked: 'The account is signed out of every app.',
  deleted: 'The account is deleted.',
  admin: 'The account is an admin now.',
  'not-admin': 'The account is no longer an admin.',
};

function userUrl(handle: string, done?: string): string {
  return `/admin/user?handle=${encodeURIComponent(handle)}${done ? `&done=${done}` : ''}`;
}

async function usersPage(ctx: WebContext, session: SignedIn, ok: string | undefined): Promise<SafeHtml> {
  const accounts = await ctx.core.accounts.list();
  const roles = await ctx.core.roles.roles();
  const online = ctx.core.liveSessions.accountIds();
  return page({
    title: 'Users',
    signedIn: session,
    body: html`${ADMIN_NAV}${notice('ok', ok)}
<section class="card" aria-labelledby="users-h">
<h2 id="users-h">${accounts.length} account${accounts.length === 1 ? '' : 's'}</h2>
<div class="table"><table>
<thead><tr><th scope="col">Account</th><th scope="col">Display name</th><th scope="col" class="wide">Created (UTC)</th><th scope="col">Now</th></tr></thead>
<tbody>${accounts.map(
      (
        a,
      ) => html`<tr><td><a href="${userUrl(a.handle)}">${a.handle}</a>${roles.has(a.id) ? html` <span class="tag">admin</span>` : ''}</td>
<td>${a.displayName}</td><td class="wide">${when(a.createdAt)}</td><td>${online.has(a.id) ? 'online' : ''}</td></tr>`,
    )}</tbody>
</table></div>
</section>`,
  });
}

async function userPage(
  ctx: WebContext,
  session: SignedIn,
  account: AccountRow,
  messages: { ok?: string | undefined; error?: string | undefined },
): Promise<SafeHtml> {
  const { core } = ctx;
  const csrf = csrfField(session.csrf);
  const hidden = html`${csrf}<input type="hidden" name="handle" value="${account.handle}">`;
  const admin = await core.roles.isAdmin(account.id);
  const sessions = core.liveSessions.list().filter((s) => s.accountId === account.id);
  const self = account.id === session.account.id;
  return page({
    title: account.handle,
    signedIn: session,
    body: html`${ADMIN_NAV}${notice('ok', messages.ok)}${notice('error', messages.error)}
<section class="card" aria-labelledby="facts-h">
<h2 id="facts-h">Account</h2>
<dl class="facts">
<dt>Display name</dt><dd>${account.displayName}</dd>
<dt>Created</dt><dd>${when(account.createdAt)} UTC</dd>
<dt>Role</dt><dd>${admin ? 'admin' : 'user'}</dd>
<dt>Online</dt><dd>${sessions.length ? sessions.map((s) => html`${s.protocol === 'msnp' ? s.detail : `XMPP (${s.detail})`} from ${s.address} since ${when(s.since)} UTC<br>`) : 'no (on this node)'}</dd>
</dl>
<form method="post" action="/admin/users/kick">${hidden}
<div class="actions"><button type="submit" class="secondary">Sign out of every app</button></div></form>
<form method="post" action="/admin/users/role">${hidden}<input type="hidden" name="admin" value="${admin ? 'no' : 'yes'}">
<div class="actions"><button type="submit" class="secondary">${admin ? 'Take the admin role away' : 'Make admin'}</button></div></form>
</section>
<section class="card" aria-labelledby="reset-h">
<h2 id="reset-h">Reset the password</h2>
<form method="post" action="/admin/users/password">${hidden}
<label for="reset-password">New password</label>
<input type="password" id="reset-password" name="password" autocomplete="new-password" required minlength="${ctx.passwordMinLength}" aria-describedby="reset-hint">
<p class="hint" id="reset-hint">At least ${ctx.passwordMinLength} characters. Give it to the person; every app and web page they are signed in to is signed out.</p>
<div class="actions"><button type="submit">Set password</button></div>
</form>
</section>
<section class="card" aria-labelledby="delete-h">
<h2 id="delete-h">Delete the account</h2>
${
  self
    ? html`<p class="hint">This is your own account: delete it from <a href="/account/delete">your account page</a>.</p>`
    : html`<form method="post" action="/admin/users/delete">${hidden}
<label for="confirm-handle">Type the account's address to confirm</label>
<input type="text" id="confirm-handle" name="confirm" autocomplete="off" autocapitalize="none" spellcheck="false" required>
<p class="hint">Its contacts, groups and offline messages go too; its apps are signed out now.</p>
<div class="actions"><button type="submit" class="danger">Delete ${account.handle}</button></div>
</form>`
}
</section>`,
  });
}

async function sessionsPage(ctx: WebContext, session: SignedIn): Promise<SafeHtml> {
  const sessions = ctx.core.liveSessions
    .list()
    .sort((a, b) => a.handle.localeCompare(b.handle) || a.since - b.since);
  const csrf = csrfField(session.csrf);
  const rows = sessions.map(
    (
      s,
    ) => html`<tr><td><a href="${userUrl(s.handle)}">${s.handle}</a></td><td>${s.protocol === 'msnp' ? s.detail : 'XMPP'}</td>
<td>${s.protocol === 'xmpp' ? s.detail : ''}</td><td>${s.address}</td><td class="wide">${when(s.since)}</td>
<td><form method="post" action="/admin/users/kick">${csrf}<input type="hidden" name="handle" value="${s.handle}"><input type="hidden" name="from" value="sessions">
<button type="submit" class="danger" aria-label="Sign ${s.handle} out">Sign out</button></form></td></tr>`,
  );
  return page({
    title: 'Who is online',
    signedIn: session,
    body: html`${ADMIN_NAV}
<section class="card" aria-labelledby="sessions-h">
<h2 id="sessions-h">${sessions.length} session${sessions.length === 1 ? '' : 's'} on this node</h2>
${
  sessions.length
    ? html`<div class="table"><table>
<thead><tr><th scope="col">Account</th><th scope="col">Protocol</th><th scope="col">Resource</th><th scope="col">Address</th><th scope="col" class="wide">Since (UTC)</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>${rows}</tbody></table></div>`
    : html`<p class="hint">Nobody is signed in.</p>`
}
</section>`,
  });
}

/** Users (list, one user: sign out, role, password, delete) and who is online. */
export function registerAdminUsers(app: FastifyInstance, ctx: WebContext): void {
  const { core } = ctx;

  app.get('/admin/users', async (request, reply) => {
    const session = await adminSession(ctx, request, reply);
    if (session === undefined) return reply;
    return sendPage(reply, 200, await usersPage(ctx, session, DONE[queryOf(request).get('done') ?? '']));
  });

  app.get('/admin/sessions', async (request, reply) => {
    const session = await adminSession(ctx, request, reply);
    if (session === undefined) return reply;
    return sendPage(reply, 200, await sessionsPage(ctx, session));
  });

  app.get('/admin/user', async (request, reply) => {
    const session = await adminSession(ctx, request, reply);
    if (session === undefined) return reply;
    const query = queryOf(request);
    const account = await core.accounts.find(query.get('handle') ?? '');
    if (account === undefined) return reply.callNotFound();
    return sendPage(reply, 200, await userPage(ctx, session, account, { ok: DONE[query.get('done') ?? ''] }));
  });

  /** The account a form names, or a 404 page. */
  const target = async (form: URLSearchParams, reply: FastifyReply): Promise<AccountRow | undefined> => {
    const account = await core.accounts.find(field(form, 'handle'));
    if (account === undefined) reply.callNotFound();
    return account;
  };

  adminPost(app, ctx, '/admin/users/kick', async (session, form, request, reply) => {
    const account = await target(form, reply);
    if (account === undefined) return reply;
    const sessions = await kickAccount(core, account.id);
    request.log.info(
      { admin: session.account.handle, handle: account.handle, sessions },
      'kicked on the admin page',
    );
    if (field(form, 'from') === 'sessions') return reply.redirect('/admin/sessions', 303);
    return reply.redirect(userUrl(account.handle, 'kicked'), 303);
  });

  adminPost(app, ctx, '/admin/users/role', async (session, form, request, reply) => {
    const account = await target(form, reply);
    if (account === undefined) return reply;
    const admin = field(form, 'admin') === 'yes';
    await core.roles.setAdmin(account.handle, admin);
    request.log.info(
      { admin: session.account.handle, handle: account.handle, role: admin ? 'admin' : 'user' },
      'role changed',
    );
    return reply.redirect(userUrl(account.handle, admin ? 'admin' : 'not-admin'), 303);
  });

  adminPost(app, ctx, '/admin/users/password', async (session, form, request, reply) => {
    const account = await target(form, reply);
    if (account === undefined) return reply;
    const password = field(form, 'password');
    const again = async (error: string) =>
      sendPage(reply, 400, await userPage(ctx, session, account, { error }));
    if (isShorterThanPolicy(password, ctx.passwordMinLength)) {
      return again(`Choose a password of at least ${ctx.passwordMinLength} characters.`);
    }
    try {
      await resetPassword(core, account.handle, password);
    } catch (err) {
      if (isPapillonError(err, 'weak-password')) {
        return again(`Choose another password: ${err.message.replace(/^password rejected: /, '')}.`);
      }
      throw err;
    }
    request.log.info(
      { admin: session.account.handle, handle: account.handle },
      'password reset on the admin page',
    );
    return reply.redirect(userUrl(account.handle, 'password'), 303);
  });

  adminPost(app, ctx, '/admin/users/delete', async (session, form, request, reply) => {
    const account = await target(form, reply);
    if (account === undefined) return reply;
    if (account.id === session.account.id) {
      return sendPage(
        reply,
        400,
        await userPage(ctx, session, account, { error: 'Delete your own account from your account page.' }),
      );
    }
    if (field(form, 'confirm').trim().toLowerCase() !== account.handle) {
      return sendPage(
        reply,
        400,
        await userPage(ctx, session, account, { error: `Type ${account.handle} to confirm the deletion.` }),
      );
    }
    // Publishes `sign-out` (account-deleted) to its endpoints before the rows go.
    await core.accounts.delete(account.handle);
    request.log.info(
      { admin: session.account.handle, handle: account.handle },
      'account deleted on the admin page',
    );
    return reply.redirect('/admin/users?done=deleted', 303);
  });
}
