import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ownOrigin } from '../../util/public-origin.ts';
import { hasControlCharacters } from '../../util/text.ts';

/**
 * Headers on every web page and OAuth response:
 * - CSP `default-src 'self'` (CSP3 §6.1): no inline script or style, nothing from
 *   elsewhere; `frame-ancestors 'none'` (CSP3 §6.4.2) and X-Frame-Options DENY
 *   (RFC 7034) so no page — the consent page above all — can be framed to click-jack.
 *   `form-action` is not restricted: the consent form's answer is a redirect to the
 *   app, and browsers apply form-action to redirects too.
 *   A route that needs more (the chat page, chat.ts) sets its own policy, which is kept.
 * - Referrer-Policy no-referrer: the desktop page's URL carries the code.
 * - nosniff: the avatar is served with the type we detected, never guessed.
 */
export function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('content-security-policy')) {
      reply.header('content-security-policy', "default-src 'self'; frame-ancestors 'none'; base-uri 'none'");
    }
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });
}

/** Compares two secrets in constant time (their SHA-256, so lengths may differ). */
export function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || a === '' || b === '') return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The origin of this server for absolute URLs (OAuth's issuer): config `publicUrl`,
 * else the Host header when it names this server, never a hostile one.
 */
export function requestOrigin(request: FastifyRequest): string | undefined {
  return ownOrigin(request);
}

/**
 * A URL to send the browser back to after signing in: a path on this site only
 * (`/…`, not `//host` nor `/\host`, which browsers read as another host), so the
 * sign-in page is no open redirector. It becomes a Location header, a URI reference
 * (RFC 9110 §10.2.2) and so ASCII (RFC 3986 §2): anything else is percent-encoded as
 * UTF-8 (§2.1), as browsers do for a typed `/中文` (Node refuses such a header: a 500
 * and no session cookie). Text that is not valid UTF-16 (a lone surrogate) is no path.
 */
export function localReturnPath(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || value.length > 4096) return undefined;
  if (!value.startsWith('/') || value.includes('\\') || value.startsWith('//')) return undefined;
  if (hasControlCharacters(value)) return undefined;
  try {
    return value.replace(/[^\x21-\x7e]+/gu, encodeURIComponent);
  } catch {
    return undefined; // URIError: a lone surrogate
  }
}
