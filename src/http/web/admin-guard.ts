import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formOf } from './forms.ts';
import { html } from './html.ts';
import { messagePage, sendPage } from './layout.ts';
import { csrfRejected, type SignedIn, sessionCsrfValid, sessionOrSignIn } from './session.ts';
import type { WebContext } from './settings.ts';

/** When a day, for tables: `2024-05-01 12:30` (UTC). */
export function when(ms: number | null): string {
  return ms === null ? '—' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * The signed-in admin, or undefined with the answer sent: a redirect to sign in, or 403
 * for an account without the role (read at each request: taking it away works at once).
 */
export async function adminSession(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<SignedIn | undefined> {
  const session = await sessionOrSignIn(ctx.core, request, reply, request.url);
  if (session === undefined) return undefined;
  if (!session.admin) {
    await sendPage(
      reply,
      403,
      messagePage(
        'Admins only',
        html`<p>This part of the site is for the server's admins. <a href="/account">Your account</a>.</p>`,
        session,
      ),
    );
    return undefined;
  }
  return session;
}

/** An admin POST route: session, role and CSRF token checked before `handler`. */
export function adminPost(
  app: FastifyInstance,
  ctx: WebContext,
  url: string,
  handler: (
    session: SignedIn,
    form: URLSearchParams,
    request: FastifyRequest,
    reply: FastifyReply,
  ) => Promise<FastifyReply>,
): void {
  app.post(url, async (request, reply) => {
    const session = await adminSession(ctx, request, reply);
    if (session === undefined) return reply;
    const form = formOf(request);
    if (form === undefined || !sessionCsrfValid(session, form)) return csrfRejected(reply, session);
    return handler(session, form, request, reply);
  });
}

/** The admin area's own navigation, under the page title. */
export const ADMIN_NAV = html`<nav class="tabs" aria-label="Admin"><a href="/admin">Overview</a> <a href="/admin/users">Users</a> <a href="/admin/sessions">Who is online</a></nav>`;
