import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.ts';
import { addressKey } from '../../core/login-throttle.ts';
import { queryOf } from '../web/forms.ts';
import { allowAnyOrigin, REALM, sendJson, sendPreflight } from './errors.ts';

function bearerError(reply: FastifyReply, status: number, error: string | undefined, description?: string) {
  // RFC 6750 §3: a request with no token gets the bare challenge; a bad one names the error.
  const challenge =
    error === undefined
      ? `Bearer realm="${REALM}"`
      : `Bearer realm="${REALM}", error="${error}"${description ? `, error_description="${description}"` : ''}`;
  const body =
    error === undefined
      ? { error: 'invalid_token', error_description: 'no access token' }
      : { error, error_description: description };
  return sendJson(allowAnyOrigin(reply).code(status).header('www-authenticate', challenge), body);
}

/**
 * Live Connect's REST profile, `GET /v5.0/me` (what apps.live.net answered): the
 * signed-in user as `{ id, name }`, and with `wl.emails` `emails: { preferred, account }`.
 * The access token comes as `Authorization: Bearer` (RFC 6750 §2.1) or, as Live
 * Connect allowed, the `access_token` query parameter (§2.3); never both (§2).
 */
export function registerMe(app: FastifyInstance, core: Core): void {
  app.get('/v5.0/me', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const fromHeader = header === undefined ? undefined : /^Bearer +([\x21-\x7e]+) *$/i.exec(header)?.[1];
    if (header !== undefined && fromHeader === undefined) {
      return bearerError(reply, 400, 'invalid_request', 'the Authorization header is not a Bearer token');
    }
    const fromQuery = queryOf(request).getAll('access_token');
    if (fromQuery.length > 1 || (fromQuery.length === 1 && fromHeader !== undefined)) {
      return bearerError(reply, 400, 'invalid_request', 'send the access token once');
    }
    const token = fromHeader ?? fromQuery[0];
    if (token === undefined || token === '') return bearerError(reply, 401, undefined);
    // Token guessing counts against the address like password guessing (as in XMPP SASL).
    const result = await core.loginGuard.perAddress.attempt(addressKey(request.ip), () =>
      core.oauth.validateAccessToken(token),
    );
    if (result.status === 'throttled') {
      return sendJson(allowAnyOrigin(reply).code(429).header('retry-after', '60'), {
        error: 'too_many_requests',
        error_description: 'too many invalid tokens; wait a minute',
      });
    }
    if (result.status === 'failed') {
      return bearerError(reply, 401, 'invalid_token', 'the access token is unknown, revoked or expired');
    }
    const { account, scopes } = result.value;
    return sendJson(allowAnyOrigin(reply), {
      id: account.id,
      name: account.displayName,
      ...(scopes.includes('wl.emails')
        ? { emails: { preferred: account.handle, account: account.handle } }
        : {}),
    });
  });

  app.options('/v5.0/me', async (_request, reply) => sendPreflight(reply, 'GET', 'Authorization'));
}
