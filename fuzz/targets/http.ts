import type { FuzzTarget } from '../engine.ts';
import { escapeBytes, PropertyViolation } from '../findings.ts';
import type { Rng } from '../rng.ts';
import { HTTP_DICTIONARY, HTTP_SEEDS } from '../seeds/http.ts';
import { type FuzzApp, openFuzzApp } from './http-app.ts';
import { type HttpRequest, METHODS, vary } from './http-vary.ts';

/**
 * Every HTTP route through fastify's `app.inject` (http-app.ts builds the app as the
 * server does). An input is a raw HTTP/1.1 request, read leniently the way Node's
 * parser would let it through; http-vary.ts then may aim it at another route and bend
 * one query, form, JSON or cookie field. Properties:
 * - no exception reaches fastify's error path as a 500, and no handler logs an error;
 * - a 500 is only a SOAP 1.1 client fault (§6.2: faults go with 500; `soap:Server` is
 *   a crash caught too late); no other 5xx but 503;
 * - `inject` neither rejects nor hangs.
 */

/** Node keeps only the first of these when repeated (http.IncomingMessage#headers). */
const SINGLE = new Set(['authorization', 'content-type', 'host', 'user-agent', 'referer', 'from', 'etag']);
/** Framing is inject's business: it computes the length of the body it is given. */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'expect']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// What Node refuses in a request target.
const NOT_IN_TARGET = /[\0-\x20\x7f]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: what Node refuses in a header value
const NOT_IN_VALUE = /[\0-\x08\x0a-\x1f\x7f]/g;
const TIMEOUT_MS = 15_000;

/** Request line, headers, blank line, body; undefined where Node would answer 400 itself. */
export function parseRequest(raw: Buffer): HttpRequest | undefined {
  let headEnd = raw.indexOf('\r\n\r\n');
  let bodyStart = headEnd + 4;
  if (headEnd === -1) {
    headEnd = raw.indexOf('\n\n');
    bodyStart = headEnd + 2;
  }
  if (headEnd === -1) [headEnd, bodyStart] = [raw.length, raw.length];
  const lines = raw.subarray(0, headEnd).toString('latin1').split(/\r?\n/);
  const [method = '', target = ''] = (lines[0] ?? '').split(' ');
  if (!METHODS.includes(method)) return undefined;
  // Node takes any byte above space but DEL in the request target, read as latin1. inject
  // (light-my-request) resolves it against http://localhost, so only the origin form is
  // sent; it also normalizes the path (dot segments, escapes) as WHATWG URL does.
  let url = target.replace(NOT_IN_TARGET, '');
  if (url.length > 16384) return undefined;
  if (!url.startsWith('/')) url = `/${url}`;
  try {
    // What inject does with it (`//x` is a path to it, not a host); a target it cannot
    // parse (`/\\`) is not sent at all.
    new URL(url.startsWith('//') ? `http://localhost${url}` : url, 'http://localhost');
  } catch {
    return undefined;
  }
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    if (colon <= 0 || !TOKEN.test(name) || FRAMING.has(name)) continue;
    const value = line
      .slice(colon + 1)
      .replace(NOT_IN_VALUE, '')
      .trim();
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else if (!SINGLE.has(name)) headers[name] = `${previous}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return { method, url, headers, body: raw.subarray(bodyStart), remoteAddress: '127.0.0.1' };
}

function fill(raw: Buffer, values: Record<string, string>): Buffer {
  const text = raw.toString('latin1');
  if (!text.includes('@')) return raw;
  return Buffer.from(
    text.replace(/@([A-Z]+)@/g, (whole, name: string) => values[name] ?? whole),
    'latin1',
  );
}

const describe = (r: HttpRequest) => `${r.method} ${r.url.replace(/\?.*/, '?…').slice(0, 80)}`;

async function send(fuzz: FuzzApp, request: HttpRequest) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new PropertyViolation('http-hang', `${describe(request)}: no answer in ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([
      fuzz.app.inject({
        method: request.method as 'GET',
        url: request.url,
        headers: request.headers,
        payload: request.body,
        remoteAddress: request.remoteAddress,
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function check(fuzz: FuzzApp, input: Buffer, rng: Rng): Promise<string> {
  const request = parseRequest(fill(input, fuzz.values));
  if (request === undefined) return 'not-http';
  vary(request, fuzz.routes, rng);
  fuzz.drain();
  const response = await send(fuzz, request);
  // Work a handler left running (gateway sessions, offline delivery) may log a little later.
  await new Promise((resolve) => setImmediate(resolve));
  const { errors, logs } = fuzz.drain();
  const status = response.statusCode;
  const evidence = () =>
    [
      `request (as sent): ${request.method} ${request.url} from ${request.remoteAddress}`,
      ...Object.entries(request.headers).map(([k, v]) => `  ${k}: ${v}`),
      `  body: ${escapeBytes(request.body, 2000)}`,
      ...errors.map((e) => `${e.route}: ${e.error.stack ?? String(e.error)}`),
      ...logs,
      `response ${status}: ${response.body.slice(0, 600)}`,
    ].join('\n');
  const crash = errors.find((e) => (e.error.statusCode ?? 500) >= 500);
  if (crash) {
    const shape = crash.error.message.split('\n')[0]?.replace(/\d+/g, 'N').slice(0, 100);
    throw new PropertyViolation(
      `http-500 ${crash.route} ${crash.error.name}: ${shape}`,
      `${describe(request)} → ${status}`,
      evidence(),
    );
  }
  if (logs.length > 0) {
    const msg = (JSON.parse(logs[0] as string) as { msg?: string }).msg ?? '';
    throw new PropertyViolation(
      `logged-error ${msg.replace(/\d+/g, 'N').slice(0, 100)}`,
      `${describe(request)} → ${status}`,
      evidence(),
    );
  }
  const soapFault = /<(\w+:)?Fault>/.test(response.body) && !/Server</.test(response.body);
  if ((status === 500 && !soapFault) || (status > 500 && status !== 503)) {
    throw new PropertyViolation(
      `http-${status} ${request.method} ${fuzz.lastRoute() || '(no route)'}`,
      `${describe(request)} → ${status}`,
      evidence(),
    );
  }
  return `${request.method} ${fuzz.lastRoute()} ${status}`;
}

export const http: FuzzTarget = {
  name: 'http',
  async open() {
    const fuzz = await openFuzzApp();
    // Seeds with characters above U+00FF are UTF-8 text; the others are bytes (a PNG upload).
    const seeds = HTTP_SEEDS.map((s) => Buffer.from(s, /[^\0-\xff]/.test(s) ? 'utf8' : 'latin1'));
    // A plain request for each route no hand-written seed reaches.
    const covered = new Set(HTTP_SEEDS.map((s) => s.slice(0, s.indexOf(' HTTP/1.1')).replace(/\?.*/, '')));
    for (const route of fuzz.routes) {
      const line = `${route.method} ${route.url.replace(/:\w+/g, '1')}`;
      if (!covered.has(line)) seeds.push(Buffer.from(`${line} HTTP/1.1\r\nHost: localhost\r\n\r\n`));
    }
    let checked = 0;
    return {
      seeds,
      dictionary: [...HTTP_DICTIONARY],
      maxBytes: 96 * 1024,
      async check(input: Buffer, rng: Rng) {
        // Fuzzed requests sign the account out, delete it, revoke its tokens: start afresh
        // when it is signed out, and now and then anyway.
        checked++;
        if (checked % 1000 === 0 || (checked % 10 === 0 && !(await fuzz.signedIn()))) await fuzz.refresh();
        return check(fuzz, input, rng);
      },
      close: () => fuzz.close(),
    };
  },
};
