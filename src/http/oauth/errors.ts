import type { FastifyReply } from 'fastify';
import { OAuthError, type OAuthErrorCode } from '../../core/oauth-api.ts';

/** The realm named in WWW-Authenticate challenges (RFC 9110 §11.5). */
export const REALM = 'papillon';

/** RFC 6749 §5.1: token responses and anything else holding a credential are never cached. */
export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

/** A JSON body that holds or concerns a credential: never cached. */
export function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  return noStore(reply).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
}

/**
 * RFC 6749 §5.2 error response: JSON `{ error, error_description }`, 400, except
 * `invalid_client`: 401 with a WWW-Authenticate challenge for the scheme clients
 * authenticate with (HTTP Basic, RFC 7617), and `server_error`: 500.
 */
export function sendOAuthError(reply: FastifyReply, code: OAuthErrorCode, description: string): FastifyReply {
  const status = code === 'invalid_client' ? 401 : code === 'server_error' ? 500 : 400;
  if (code === 'invalid_client') reply.header('www-authenticate', `Basic realm="${REALM}", charset="UTF-8"`);
  return sendJson(reply.code(status), { error: code, error_description: description });
}

/** Runs an endpoint's work and answers an OAuthError it throws per RFC 6749 §5.2. */
export async function answeringOAuthErrors(
  reply: FastifyReply,
  work: () => Promise<FastifyReply>,
): Promise<FastifyReply> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof OAuthError) return sendOAuthError(reply, err.code, err.description);
    throw err;
  }
}

/** The single value of a parameter; RFC 6749 §3.1/§3.2: parameters MUST NOT repeat. */
export function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new OAuthError('invalid_request', `the ${name} parameter is repeated`);
  // RFC 6749 §3.1: parameters sent without a value are treated as omitted.
  return values[0] === '' ? undefined : values[0];
}

/**
 * CORS for the JSON endpoints a browser app calls (token, revoke, /v5.0/me): any
 * origin, no cookies — they authenticate with the request's own credentials only.
 */
export function allowAnyOrigin(reply: FastifyReply): FastifyReply {
  return reply.header('access-control-allow-origin', '*');
}

/** The answer to a CORS preflight (Fetch §3.2.2) for an endpoint `allowAnyOrigin` serves. */
export function sendPreflight(reply: FastifyReply, methods: string, headers: string): FastifyReply {
  return allowAnyOrigin(reply)
    .header('access-control-allow-methods', methods)
    .header('access-control-allow-headers', headers)
    .header('access-control-max-age', '600')
    .code(204)
    .send();
}
