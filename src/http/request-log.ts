import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * Per-request lines at debug, not info: MSN clients behind the HTTP gateway poll
 * every few seconds, which would drown the log. Errors keep their level.
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, url: redactUrl(request.url) }, 'request');
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error(
        { err: error, url: redactUrl(request.url), statusCode: reply.statusCode },
        'request failed',
      );
    } else {
      reply.log.debug(
        { url: redactUrl(request.url), statusCode: reply.statusCode, ms: reply.elapsedTime },
        'request done',
      );
    }
  }
}

/**
 * Query parameters that are credentials: OAuth tokens and codes (Live Connect apps
 * call `/v5.0/me?access_token=…`), client secrets, passwords, Passport tickets (`t`, `p`).
 * Compared by their decoded, lower-cased name: `access%5Ftoken` is what the server
 * reads as `access_token` (and `Access_Token` is one a client might send).
 */
const SECRET_PARAMS = new Set([
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'code_verifier',
  'client_secret',
  'token',
  'ticket',
  'password',
  'pwd',
  't',
  'p',
]);

/**
 * The URL as logs show it: the values of secret parameters in the query replaced by
 * `[redacted]`. Pairs are split on `&` and `;` (some parsers take either), and a name is
 * read as a form decoder would (`+` is a space, `%xx` decoded).
 */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const hash = url.indexOf('#', start);
  const end = hash === -1 ? url.length : hash;
  const query = url
    .slice(start + 1, end)
    .replace(/([^&;=]*)=[^&;]*/g, (pair, name: string) =>
      SECRET_PARAMS.has(decodedName(name)) ? `${name}=[redacted]` : pair,
    );
  return `${url.slice(0, start + 1)}${query}${url.slice(end)}`;
}

/** Every secret name is ASCII, so `%xx` is decoded byte by byte: no malformed sequence can hide one. */
function decodedName(name: string): string {
  return name
    .replaceAll('+', ' ')
    .replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
    .trim()
    .toLowerCase();
}
