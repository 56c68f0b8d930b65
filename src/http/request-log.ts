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
 * call `/v5.0/me?access_token=…`), client secrets, Passport tickets (`t`, `p`).
 */
const SECRET_PARAMS =
  /([?&](?:access_token|refresh_token|id_token|code|client_secret|token|ticket|password|t|p)=)[^&#]*/gi;

/** The URL as logs show it: secrets in the query replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_PARAMS, '$1[redacted]') : url;
}
