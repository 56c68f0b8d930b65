import type { Rng } from '../rng.ts';
import type { Route } from './http-app.ts';

/**
 * Structure-aware variations of an HTTP request, on top of the byte mutations: another
 * route or method, another content type or client address, and one field of the query,
 * the form body, the JSON body or the cookies given a value clients get wrong. Decided
 * by the input's own random source, so a finding replays.
 */

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  remoteAddress: string;
}

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'application/json',
  'text/xml; charset=utf-8',
  'multipart/form-data; boundary=XyZ',
  'multipart/form-data',
  'application/x-msn-messenger',
  'text/plain',
  'application/soap+xml; charset=iso-8859-1',
  'application/json; charset=utf-16',
];

const ADDRESSES = ['127.0.0.1', '::1', '10.1.2.3', '2001:db8::7', '::ffff:192.0.2.1'];

/** Values that have broken web handlers: non-latin1 text in a redirect, huge, empty, odd paths, control characters. */
const VALUES = [
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  '99999999999999999999',
  'true',
  'null',
  '/中文',
  '/%E4%B8%AD',
  '中文😀',
  '//evil.example',
  '/\\evil.example',
  'https://evil.example/',
  'javascript:alert(1)',
  '../../../etc/passwd',
  '%',
  '\0',
  '\r\nSet-Cookie: x=1',
  '<script>',
  'a'.repeat(5000),
  'x@',
  '@localhost',
];

function pathOf(route: Route, rng: Rng): string {
  return route.url
    .replace(/:[A-Za-z_]+/g, () => rng.pick(['1', 'x', '%00', '..', 'ab%2Fcd']))
    .replace('*', 'a/b.js');
}

/** One key of a form or query string set to an interesting value, or repeated, or added. */
function varyForm(text: string, rng: Rng): string {
  const params = new URLSearchParams(text);
  const keys = [...params.keys()];
  const value = rng.pick(VALUES);
  const roll = rng.int(10);
  if (keys.length === 0 || roll === 0)
    params.append(rng.pick(['return', 'csrf', 'scope', 'state', 'x']), value);
  else if (roll === 1) params.append(rng.pick(keys), value);
  else params.set(rng.pick(keys), value);
  return params.toString();
}

function varyJson(body: Buffer, rng: Rng): Buffer {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return body;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return body;
  const record = doc as Record<string, unknown>;
  const keys = Object.keys(record);
  const key = keys.length > 0 && rng.chance(0.8) ? rng.pick(keys) : 'x';
  record[key] = rng.pick<unknown>([rng.pick(VALUES), 0, -1, 1e308, true, null, [], {}, [rng.pick(VALUES)]]);
  return Buffer.from(JSON.stringify(record));
}

function varyCookie(cookie: string | undefined, rng: Rng): string {
  const pairs = (cookie ?? '').split(';').filter((p) => p.trim() !== '');
  const value = encodeURIComponent(rng.pick(VALUES));
  if (pairs.length > 0 && rng.chance(0.6)) {
    const i = rng.int(pairs.length);
    const name = (pairs[i] as string).split('=')[0] ?? '';
    pairs[i] = `${name}=${value}`;
  } else {
    pairs.push(`${rng.pick(['papillon_session', 'papillon_form', 'MSPAuth', 'x'])}=${value}`);
  }
  return pairs.join('; ');
}

/** Aims the request elsewhere and bends one of its fields, the way near-miss clients do. */
export function vary(request: HttpRequest, routes: Route[], rng: Rng): void {
  if (rng.chance(0.15) && routes.length > 0) {
    const route = rng.pick(routes);
    const query = request.url.indexOf('?');
    request.url = pathOf(route, rng) + (query === -1 ? '' : request.url.slice(query));
    if (rng.chance(0.7)) request.method = route.method;
  }
  if (rng.chance(0.05)) request.method = rng.pick(METHODS);
  if (rng.chance(0.1)) request.headers['content-type'] = rng.pick(CONTENT_TYPES);
  if (rng.chance(0.05)) request.headers.accept = 'text/html';
  request.remoteAddress = rng.chance(0.5) ? rng.pick(ADDRESSES) : `198.51.100.${rng.int(256)}`;

  // Then up to three fields, each of what the request has.
  const type = request.headers['content-type'] ?? '';
  const fields = ['query', 'cookie'];
  if (type.includes('urlencoded')) fields.push('form', 'form', 'form', 'form');
  if (type.includes('json')) fields.push('json', 'json', 'json');
  for (let n = rng.chance(0.3) ? 0 : rng.range(1, 3); n > 0; n--) {
    const field = rng.pick(fields);
    if (field === 'query') {
      const [path = '', query = ''] = request.url.split(/\?(.*)/s);
      request.url = `${path}?${varyForm(query, rng)}`;
    } else if (field === 'form') {
      request.body = Buffer.from(varyForm(request.body.toString('utf8'), rng));
    } else if (field === 'json') {
      request.body = varyJson(request.body, rng);
    } else {
      request.headers.cookie = varyCookie(request.headers.cookie, rng);
    }
  }
}
