import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** How one route's file is answered: its validator, how caches may keep it, its type. */
export interface CachedFile {
  /** A strong validator (RFC 9110 §8.8.3), quoted. */
  etag: string;
  /** The route's Cache-Control (RFC 9111 §5.2.2). */
  cacheControl: string;
  /** The body's Content-Type. */
  type: string;
}

/** A strong ETag for these bytes, or for what names them: 22 base64url characters of their SHA-256, quoted. */
export function strongEtag(data: string | Buffer): string {
  return `"${createHash('sha256').update(data).digest('base64url').slice(0, 22)}"`;
}

/**
 * Answers a GET of a file by its ETag: 304 with no body when If-None-Match names it
 * (RFC 9110 §13.1.2), carrying ETag and Cache-Control but no Content-Type, which a 304
 * should not repeat (RFC 9110 §15.4.5); else the body with its type. A body given as a
 * function is only read when it is sent.
 */
export async function sendCachedFile(
  request: FastifyRequest,
  reply: FastifyReply,
  file: CachedFile,
  body: Buffer | string | (() => Promise<Buffer>),
): Promise<FastifyReply> {
  reply.header('etag', file.etag).header('cache-control', file.cacheControl);
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.header('content-type', file.type).send(typeof body === 'function' ? await body() : body);
}
