import type { FastifyInstance } from 'fastify';
import { field, formOf } from './forms.ts';
import { html, type SafeHtml } from './html.ts';
import { csrfField, messagePage, notice, page, sendPage } from './layout.ts';
import {
  csrfRejected,
  currentSession,
  endSession,
  type SignedIn,
  sessionCsrfValid,
  sessionOrSignIn,
} from './session.ts';
import type { WebContext } from './settings.ts';

function confirmPage(session: SignedIn, error?: string): SafeHtml {
  const handle = session.account.handle;
  return page({
    title: 'Delete your account',
    signedIn: session,
    body: html`${notice('error', error)}<section class="card">
<p>This deletes <strong>${handle}</strong> for good: your contacts, groups, offline messages, picture and the apps you allowed. Every MSN and XMPP app signed in with it is signed out now, and the name may be taken by someone else later.</p>
<form method="post" action="/account/delete">${csrfField(session.csrf)}
  <input type="text" name="username" value="${handle}" autocomplete="username" hidden>
  <label for="delete-password">Your password</label>
  <input type="password" id="delete-password" name="password" autocomplete="current-password" required aria-describedby="delete-hint">
  <p class="hint" id="delete-hint">To be sure it is you.</p>
  <div class="actions"><button type="submit" class="danger">Delete my account</button> <a class="button secondary" href="/account">Keep it</a></div>
</form>
</section>`,
  });
}

/** `GET|POST /account/delete`: users delete their own account, confirmed with the password. */
export function registerAccountDelete(app: FastifyInstance, ctx: WebContext): void {
  const { core } = ctx;

  app.get('/account/delete', async (request, reply) => {
    const session = await sessionOrSignIn(core, request, reply, '/account/delete');
    if (session === undefined) return reply;
    return sendPage(reply, 200, confirmPage(session));
  });

  app.post('/account/delete', async (request, reply) => {
    const session = await currentSession(core, request);
    if (session === undefined) return reply.redirect('/signin', 303);
    const form = formOf(request);
    if (form === undefined || !sessionCsrfValid(session, form)) return csrfRejected(reply, session);
    const handle = session.account.handle;
    // Under the sign-in guard: a stolen session cannot guess the password quickly.
    const result = await core.verifyPasswordGuarded(request.ip, handle, field(form, 'password'));
    if (result.status === 'throttled') {
      reply.header('retry-after', '60');
      return sendPage(reply, 429, confirmPage(session, 'Too many attempts. Wait a minute, then try again.'));
    }
    if (result.status === 'failed')
      return sendPage(reply, 403, confirmPage(session, 'That password is not right.'));
    // Publishes `sign-out` (account-deleted) to every endpoint first; web sessions go with the rows.
    await core.accounts.delete(handle);
    await endSession(core, request, reply);
    request.log.info({ ip: request.ip, handle }, 'web account self-deleted');
    return sendPage(
      reply,
      200,
      messagePage(
        'Account deleted',
        html`<p><strong>${handle}</strong> is deleted, and every app that was signed in with it is signed out.</p>
<p><a href="/">Home</a></p>`,
      ),
    );
  });
}
