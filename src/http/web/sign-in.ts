import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addressKey } from '../../core/login-throttle.ts';
import { recordSignIn } from '../../core/metrics.ts';
import { isShorterThanPolicy } from '../../core/password-policy.ts';
import { isPapillonError } from '../../util/errors.ts';
import { handleDomain } from '../../util/handle.ts';
import { field, formOf, queryOf } from './forms.ts';
import { html, type SafeHtml } from './html.ts';
import { csrfField, messagePage, notice, page, sendPage } from './layout.ts';
import { localReturnPath, sameSecret } from './security.ts';
import {
  anonymousCsrf,
  anonymousCsrfValid,
  csrfRejected,
  currentSession,
  endSession,
  sessionCsrfValid,
  startSession,
} from './session.ts';
import { handleFromInput, type WebContext } from './settings.ts';

/** Where to go after signing in: the page that sent the browser here, or the account page. */
function returnPath(value: string | undefined | null): string {
  return localReturnPath(value ?? undefined) ?? '/account';
}

function returnField(target: string): SafeHtml {
  return target === '/account' ? html`` : html`<input type="hidden" name="return" value="${target}">`;
}

/** The sign-in and sign-up links keep the return path, so the OAuth flow resumes afterwards. */
function withReturn(path: string, target: string): string {
  return target === '/account' ? path : `${path}?return=${encodeURIComponent(target)}`;
}

interface SignInForm {
  handle?: string;
  error?: string;
  target: string;
}

function signInPage(ctx: WebContext, csrf: string, form: SignInForm): SafeHtml {
  const signupLink =
    ctx.signup === 'closed'
      ? html``
      : html`<p>No account yet? <a href="${withReturn('/signup', form.target)}">Sign up</a>.</p>`;
  return page({
    title: 'Sign in',
    body: html`${notice('error', form.error)}
<section class="card">
<form method="post" action="/signin">
  ${csrfField(csrf)}${returnField(form.target)}
  <label for="handle">Account</label>
  <input type="text" id="handle" name="handle" value="${form.handle ?? ''}" autocomplete="username"
    autocapitalize="none" spellcheck="false" required autofocus>
  <p class="hint" id="handle-hint">Your Messenger address, such as name@${ctx.domain}.</p>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required>
  <div class="actions"><button type="submit">Sign in</button></div>
</form>
</section>
${signupLink}`,
  });
}

interface SignUpForm {
  name?: string;
  displayName?: string;
  error?: string;
  target: string;
  /** The token of the invitation link that brought the browser here. */
  link?: string | undefined;
}

/** With a link, its token rides along hidden; without one, the shared code is asked for. */
function inviteField(ctx: WebContext, link: string | undefined): SafeHtml {
  if (ctx.signup !== 'invite') return html``;
  if (link) {
    return html`<input type="hidden" name="invite" value="${link}">
  <p class="hint">You were invited: this link makes one account.</p>`;
  }
  return html`<label for="invite">Invitation code</label>
  <input type="text" id="invite" name="invite" autocomplete="off" autocapitalize="none" spellcheck="false" required>
  <p class="hint">This server takes new members by invitation; its operator gives out the code.</p>`;
}

function signUpPage(ctx: WebContext, csrf: string, form: SignUpForm): SafeHtml {
  const invite = inviteField(ctx, form.link);
  return page({
    title: 'Create an account',
    body: html`${notice('error', form.error)}
<section class="card">
<form method="post" action="/signup">
  ${csrfField(csrf)}${returnField(form.target)}
  <label for="name">Account name</label>
  <input type="text" id="name" name="name" value="${form.name ?? ''}" autocomplete="username"
    autocapitalize="none" spellcheck="false" required aria-describedby="name-hint" autofocus>
  <p class="hint" id="name-hint">Your address will be <em>name</em>@${ctx.domain}: letters, digits and . _ - +</p>
  <label for="display-name">Display name</label>
  <input type="text" id="display-name" name="displayName" value="${form.displayName ?? ''}" autocomplete="nickname"
    maxlength="129" aria-describedby="display-hint">
  <p class="hint" id="display-hint">What your contacts see. You can change it later.</p>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="new-password" required
    minlength="${ctx.passwordMinLength}" aria-describedby="password-hint">
  <p class="hint" id="password-hint">At least ${ctx.passwordMinLength} characters.</p>
  <label for="confirm">Password again</label>
  <input type="password" id="confirm" name="confirm" autocomplete="new-password" required>
  ${invite}
  <div class="actions"><button type="submit">Create account</button></div>
</form>
</section>
<p>Already have an account? <a href="${withReturn('/signin', form.target)}">Sign in</a>.</p>`,
  });
}

const CLOSED = html`<p>This server does not take sign-ups on the web. Ask its operator for an account.</p>`;
const INVITE_ONLY = html`<p>This server takes new members by invitation only: ask its operator for an invitation link.</p>`;

/** Sign in, sign up, sign out. */
export function registerSignIn(app: FastifyInstance, ctx: WebContext): void {
  const { core } = ctx;

  app.get('/signin', async (request, reply) => {
    const target = returnPath(queryOf(request).get('return'));
    if (await currentSession(core, request)) return reply.redirect(target, 303);
    return sendPage(reply, 200, signInPage(ctx, anonymousCsrf(request, reply), { target }));
  });

  app.post('/signin', async (request, reply) => {
    const form = formOf(request);
    if (!anonymousCsrfValid(request, form)) return csrfRejected(reply);
    const target = returnPath(form?.get('return'));
    const typed = field(form, 'handle').trim();
    const password = field(form, 'password');
    const again = (status: number, error: string) =>
      sendPage(
        reply,
        status,
        signInPage(ctx, anonymousCsrf(request, reply), { handle: typed, error, target }),
      );
    if (typed === '' || password === '') return again(400, 'Enter your account and your password.');
    const handle = handleFromInput(typed, ctx.domain);
    // The same limits as every protocol's password check: per (address, handle) and per address.
    const result = await core.verifyPasswordGuarded(request.ip, handle, password);
    recordSignIn(core.metrics, request.log, {
      path: 'web',
      result: result.status,
      address: request.ip,
      handle,
    });
    if (result.status === 'throttled') {
      reply.header('retry-after', '60');
      return again(429, 'Too many attempts. Wait a minute, then try again.');
    }
    if (result.status === 'failed') {
      return again(400, 'That account name or password is not right.');
    }
    await startSession(core, request, reply, result.value.id);
    return reply.redirect(target, 303);
  });

  app.post('/signout', async (request, reply) => {
    const session = await currentSession(core, request);
    if (session !== undefined && !sessionCsrfValid(session, formOf(request)))
      return csrfRejected(reply, session);
    await endSession(core, request, reply);
    return reply.redirect('/signin', 303);
  });

  app.get('/signup', async (request, reply) => {
    const target = returnPath(queryOf(request).get('return'));
    if (ctx.signup === 'closed') return sendPage(reply, 403, messagePage('Sign-up is closed', CLOSED));
    if (await currentSession(core, request)) return reply.redirect(target, 303);
    const link = queryOf(request).get('invite')?.trim() || undefined;
    if (ctx.signup === 'invite' && link === undefined && ctx.signupInviteCode === undefined) {
      return sendPage(reply, 403, messagePage('Sign-up by invitation', INVITE_ONLY));
    }
    return sendPage(reply, 200, signUpPage(ctx, anonymousCsrf(request, reply), { target, link }));
  });

  app.post('/signup', async (request, reply) => signUp(ctx, request, reply));
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * `signupsPerHour`: accounts one address may create in an hour, so open sign-up does not
 * mint accounts by the thousand for one bot. Counted in `core.rates`, so once per address
 * whichever listener (HTTP or HTTPS) and whichever node the request reached. A sign-up in
 * progress holds its place (a burst from one address stops at the limit) and gives it back
 * if the account is not made. The hour starts at the address's first account.
 */
async function reserveSignUp(
  ctx: WebContext,
  address: string,
): Promise<{ release(): Promise<void> } | number> {
  const perHour = ctx.signupsPerHour ?? 0;
  if (perHour <= 0) return { release: async () => {} };
  const key = `signup:${address}`;
  const counted = await ctx.core.rates.increment(key, 1, HOUR_MS);
  const release = async () => {
    await ctx.core.rates.increment(key, -1, HOUR_MS);
  };
  if (counted.count <= perHour) return { release };
  await release();
  // Seconds until the address may sign up again.
  return Math.max(1, Math.ceil(counted.ttlMs / 1000));
}

async function signUp(ctx: WebContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { core } = ctx;
  const form = formOf(request);
  if (!anonymousCsrfValid(request, form)) return csrfRejected(reply);
  if (ctx.signup === 'closed') return sendPage(reply, 403, messagePage('Sign-up is closed', CLOSED));
  const target = returnPath(form?.get('return'));
  const name = field(form, 'name').trim();
  const displayName = field(form, 'displayName').trim();
  const password = field(form, 'password');
  const code = field(form, 'invite').trim();
  // A link's token is kept in the form (hidden) so a corrected form still carries it.
  const link = code !== '' && !sameSecret(code, ctx.signupInviteCode) ? code : undefined;
  const again = (status: number, error: string) =>
    sendPage(
      reply,
      status,
      signUpPage(ctx, anonymousCsrf(request, reply), { name, displayName, error, target, link }),
    );

  if (name === '') return again(400, 'Choose an account name.');
  const handle = handleFromInput(name, ctx.domain);
  if (handleDomain(handle) !== ctx.domain) {
    return again(400, `Accounts on this server end in @${ctx.domain}; choose the name before it.`);
  }
  if (password !== field(form, 'confirm')) return again(400, 'The two passwords are not the same.');
  if (isShorterThanPolicy(password, ctx.passwordMinLength)) {
    return again(400, `Choose a password of at least ${ctx.passwordMinLength} characters.`);
  }
  const place = await reserveSignUp(ctx, addressKey(request.ip));
  if (typeof place === 'number') {
    request.log.warn({ ip: request.ip, handle }, 'web sign-up refused: too many accounts from this address');
    reply.header('retry-after', String(place));
    return again(429, 'Too many new accounts from your address. Try again in an hour.');
  }
  // The invitation last, once the form is otherwise right: a one-time link is taken
  // for this account and given back if the account cannot be made.
  let claimed: string | undefined;
  if (ctx.signup === 'invite') {
    // A wrong code or link counts like a wrong password against the address, so neither can
    // be guessed quickly; strictly, so guesses sent in parallel count as they start.
    const result = await core.loginGuard.perAddress
      .attempt(
        addressKey(request.ip),
        async () => {
          if (sameSecret(code, ctx.signupInviteCode)) return true;
          if (await core.invites.claim(code, handle)) {
            claimed = code;
            return true;
          }
          return undefined;
        },
        { strict: true },
      )
      .catch(async (err: unknown) => {
        await place.release();
        throw err;
      });
    if (result.status !== 'ok') await place.release();
    if (result.status === 'throttled') {
      reply.header('retry-after', '60');
      return again(429, 'Too many attempts. Wait a minute, then try again.');
    }
    if (result.status === 'failed') {
      return again(403, 'That invitation code is not right, or the link was used already or has expired.');
    }
  }
  let accountId: string;
  try {
    const account = await core.accounts.create({ handle, password, displayName: displayName || undefined });
    accountId = account.id;
  } catch (err) {
    await place.release();
    if (claimed !== undefined) await core.invites.release(claimed);
    if (isPapillonError(err, 'handle-taken')) return again(409, `${handle} is taken; choose another name.`);
    if (
      isPapillonError(err, 'bad-handle') ||
      isPapillonError(err, 'weak-password') ||
      isPapillonError(err, 'bad-display-name')
    ) {
      return again(400, signUpError(err.code, err.message));
    }
    throw err;
  }
  request.log.info(
    { ip: request.ip, handle, invitation: claimed === undefined ? undefined : 'link' },
    'web sign-up',
  );
  await startSession(core, request, reply, accountId);
  return reply.redirect(target === '/account' ? '/account?done=welcome' : target, 303);
}

function signUpError(code: string, message: string): string {
  if (code === 'bad-handle')
    return `That account name cannot be used (${message.replace(/^invalid handle "[^"]*": /, '')}).`;
  if (code === 'weak-password')
    return `Choose another password: ${message.replace(/^password rejected: /, '')}.`;
  return `Choose another display name: ${message}.`;
}
