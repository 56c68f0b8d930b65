import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * Per-request lines at debug, not info: MSN clients behind the HTTP gateway poll
 * every few seconds, which would drown the log. Errors keep their level.
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, url: request.url }, 'request');
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ err: error, url: request.url, statusCode: reply.statusCode }, 'request failed');
    } else {
      reply.log.debug(
        { url: request.url, statusCode: reply.statusCode, ms: reply.elapsedTime },
        'request done',
      );
    }
  }
}
