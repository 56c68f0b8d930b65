import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.ts';
import type { AccountRow } from '../../store/types.ts';
import { randomToken } from '../../util/ids.ts';
import { clearCookie, FORM_COOKIE, readCookie, SESSION_COOKIE, setCookie } from './cookies.ts';
import { html } from './html.ts';
import { messagePage, sendPage } from './layout.ts';
import { sameSecret } from './security.ts';

/** A signed-in browser: the session cookie's token and what it stands for. */
export interface SignedIn {
  token: string;
  account: AccountRow;
  csrf: string;
  expiresAt: number;
  /** The account has the admin role (read at each request, so taking it away works at once). */
  admin: boolean;
}

const looked = new WeakMap<FastifyRequest, Promise<SignedIn | undefined>>();

/** The request's web session (looked up once per request), or undefined when not signed in. */
export function currentSession(core: Core, request: FastifyRequest): Promise<SignedIn | undefined> {
  let pending = looked.get(request);
  if (pending === undefined) {
    pending = (async () => {
      const token = readCookie(request, SESSION_COOKIE);
      if (token === undefined || token === '') return undefined;
      const session = await core.webSessions.get(token);
      if (session === undefined) return undefined;
      return { token, ...session, admin: await core.roles.isAdmin(session.account.id) };
    })();
    looked.set(request, pending);
  }
  return pending;
}

/** The request's web session, or undefined with a redirect sent to the sign-in page, which returns to `returnTo`. */
export async function sessionOrSignIn(
  core: Core,
  request: FastifyRequest,
  reply: FastifyReply,
  returnTo: string,
): Promise<SignedIn | undefined> {
  const session = await currentSession(core, request);
  if (session === undefined) await reply.redirect(`/signin?return=${encodeURIComponent(returnTo)}`, 303);
  return session;
}

/** Signs the browser in: a new session (never the old one: no fixation) in an HttpOnly cookie. */
export async function startSession(
  core: Core,
  request: FastifyRequest,
  reply: FastifyReply,
  accountId: string,
): Promise<void> {
  await core.webSessions.destroy(readCookie(request, SESSION_COOKIE));
  const session = await core.webSessions.create(accountId);
  setCookie(request, reply, SESSION_COOKIE, session.token, (session.expiresAt - Date.now()) / 1000);
  // The pre-sign-in form token has done its job.
  if (readCookie(request, FORM_COOKIE)) clearCookie(request, reply, FORM_COOKIE);
}

export async function endSession(core: Core, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await core.webSessions.destroy(readCookie(request, SESSION_COOKIE));
  clearCookie(request, reply, SESSION_COOKIE);
}

/**
 * The CSRF token for forms shown before sign-in (sign in, sign up): a random value
 * in a cookie that the form repeats (the double-submit pattern); another site can
 * neither read the cookie nor, with SameSite=Lax, have it sent with its POST.
 */
export function anonymousCsrf(request: FastifyRequest, reply: FastifyReply): string {
  const existing = readCookie(request, FORM_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{32,64}$/.test(existing)) return existing;
  const token = randomToken(32);
  setCookie(request, reply, FORM_COOKIE, token, 24 * 60 * 60);
  return token;
}

/** Whether a form posted before sign-in carries the token of its cookie. */
export function anonymousCsrfValid(request: FastifyRequest, form: URLSearchParams | undefined): boolean {
  return sameSecret(readCookie(request, FORM_COOKIE), form?.get('csrf') ?? undefined);
}

/** Whether a signed-in form carries its session's token. */
export function sessionCsrfValid(session: SignedIn, form: URLSearchParams | undefined): boolean {
  return sameSecret(session.csrf, form?.get('csrf') ?? undefined);
}

/** The answer to a POST without the right CSRF token. */
export function csrfRejected(reply: FastifyReply, session?: SignedIn): FastifyReply {
  return sendPage(
    reply,
    403,
    messagePage(
      'Form expired',
      html`<p>This form was not sent from this site or has expired. Go back, reload the page and try again.</p>`,
      session,
    ),
  );
}
