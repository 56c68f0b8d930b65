import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { html, type SafeHtml } from './html.ts';
import { messagePage, sendPage } from './layout.ts';
import { currentSession } from './session.ts';
import type { WebContext } from './settings.ts';

/** A browser asked (HTML first); API clients, MSN's SOAP services and scripts get fastify's JSON. */
function wantsHtml(request: FastifyRequest): boolean {
  const accept = String(request.headers.accept ?? '');
  return /text\/html|application\/xhtml\+xml/i.test(accept);
}

/** The way on from an error page: where a signed-in person or a visitor would go next. */
function nextSteps(signedIn: boolean): SafeHtml {
  return signedIn
    ? html`<p><a href="/account">Your account</a> · <a href="/connect">Connect an app</a> · <a href="/">Home</a></p>`
    : html`<p><a href="/">Home</a> · <a href="/signin">Sign in</a></p>`;
}

async function errorPage(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  title: string,
  text: string,
): Promise<FastifyReply> {
  // A failed session lookup must not turn an error page into a second error.
  const session = await currentSession(ctx.core, request).catch(() => undefined);
  return sendPage(
    reply,
    status,
    messagePage(title, html`<p>${text}</p>${nextSteps(session !== undefined)}`, session),
  );
}

/**
 * Error pages people can use: 404 for any path nobody serves, 413 for an upload too
 * large, and the rest, each in the site's layout with the header showing who is
 * signed in and a way on. Requests that do not ask for HTML keep fastify's JSON.
 */
export function registerErrorPages(app: FastifyInstance, ctx: WebContext): void {
  app.setNotFoundHandler(async (request, reply) => {
    if (!wantsHtml(request)) {
      return reply.code(404).send({
        message: `Route ${request.method}:${request.url} not found`,
        error: 'Not Found',
        statusCode: 404,
      });
    }
    return errorPage(
      ctx,
      request,
      reply,
      404,
      'Page not found',
      'There is no page at this address. It may have moved, or the link may be mistyped.',
    );
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error({ err: error }, 'web page failed');
    if (status === 413) {
      return errorPage(
        ctx,
        request,
        reply,
        413,
        'Too large',
        'What you sent is too large. A picture may be at most 256 KiB: choose a smaller one and try again.',
      );
    }
    if (status >= 500) {
      return errorPage(
        ctx,
        request,
        reply,
        status,
        'Server error',
        'Something went wrong on the server. Try again in a moment.',
      );
    }
    return errorPage(ctx, request, reply, status, 'Not accepted', 'The server could not read that request.');
  });
}
