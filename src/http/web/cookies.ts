import type { FastifyReply, FastifyRequest } from 'fastify';

/** The web sign-in session: holds the WebSessionApi token. */
export const SESSION_COOKIE = 'papillon_session';
/** The CSRF token of forms shown before sign-in (sign in, sign up): double-submit. */
export const FORM_COOKIE = 'papillon_form';

/** RFC 6265 §5.4 `Cookie` header: `name=value; name2=value2`. First occurrence wins. */
export function readCookies(request: FastifyRequest): Map<string, string> {
  const cookies = new Map<string, string>();
  const header = request.headers.cookie;
  if (header === undefined) return cookies;
  for (const item of header.split(';')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const name = item.slice(0, eq).trim();
    let value = item.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  return readCookies(request).get(name);
}

/** Whether the request came over TLS (this port's own HTTPS; no proxy is trusted). */
export function isHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https';
}

/**
 * Sets a cookie (RFC 6265 §4.1): always HttpOnly and SameSite=Lax, Secure when the
 * request came over HTTPS, Path=/. `maxAgeSeconds` 0 deletes it. Values are our own
 * base64url tokens, so they need no quoting.
 */
export function setCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  name: string,
  value: string,
  maxAgeSeconds: number,
): void {
  const parts = [`${name}=${value}`, 'Path=/', `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`];
  parts.push('HttpOnly', 'SameSite=Lax');
  if (isHttps(request)) parts.push('Secure');
  const existing = reply.getHeader('set-cookie');
  const list = Array.isArray(existing) ? existing : existing === undefined ? [] : [String(existing)];
  reply.header('set-cookie', [...list, parts.join('; ')]);
}

export function clearCookie(request: FastifyRequest, reply: FastifyReply, name: string): void {
  setCookie(request, reply, name, '', 0);
}
