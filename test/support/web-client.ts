import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { after, before } from 'node:test';
import type { Core } from '../../src/core/core.ts';
import { startTestServer, type TestServer } from './papillon-server.ts';

export interface WebResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  bytes: Buffer;
  /** The Location header, resolved against the request URL. */
  location: string | undefined;
  /** Parsed JSON body (undefined when not JSON). */
  json: unknown;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * A small HTTP(S) client with a cookie jar, standing in for a browser in the web and
 * OAuth tests: no redirects are followed, so every hop can be checked. Cookies are
 * kept by name only (the tests use one host), and Secure ones are sent over HTTPS only.
 */
export class WebClient {
  /** name → { value, secure } */
  readonly cookies = new Map<string, { value: string; secure: boolean; raw: string }>();

  constructor(
    readonly base: string,
    private readonly ca?: Buffer,
  ) {}

  async request(method: string, path: string, options: RequestOptions = {}): Promise<WebResponse> {
    const url = new URL(path, this.base);
    const https = url.protocol === 'https:';
    const cookie = [...this.cookies]
      .filter(([, c]) => https || !c.secure)
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
    const headers: Record<string, string> = { ...(cookie ? { cookie } : {}), ...(options.headers ?? {}) };
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    const send = https ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, ...(https ? { ca: this.ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          for (const line of [res.headers['set-cookie'] ?? []].flat()) this.#store(line);
          const bytes = Buffer.concat(chunks);
          const body = bytes.toString('utf8');
          let json: unknown;
          if (/json/.test(String(res.headers['content-type'] ?? ''))) {
            try {
              json = JSON.parse(body);
            } catch {}
          }
          const location = res.headers.location;
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            bytes,
            location: location === undefined ? undefined : new URL(location, url).toString(),
            json,
          });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }

  get(path: string, headers?: Record<string, string>): Promise<WebResponse> {
    return this.request('GET', path, headers ? { headers } : {});
  }

  /** POSTs a URL-encoded form. */
  post(
    path: string,
    fields: Record<string, string> | URLSearchParams,
    headers: Record<string, string> = {},
  ): Promise<WebResponse> {
    const body = (fields instanceof URLSearchParams ? fields : new URLSearchParams(fields)).toString();
    return this.request('POST', path, {
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  }

  /** POSTs `multipart/form-data` (RFC 7578) with text fields and one file. */
  postMultipart(
    path: string,
    fields: Record<string, string>,
    file: { name: string; filename: string; type: string; data: Buffer },
  ): Promise<WebResponse> {
    const boundary = `----papillon${Math.random().toString(36).slice(2)}`;
    const parts: Buffer[] = [];
    for (const [name, value] of Object.entries(fields)) {
      parts.push(
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
      );
    }
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: ${file.type}\r\n\r\n`,
      ),
      file.data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    );
    return this.request('POST', path, {
      body: Buffer.concat(parts),
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
  }

  #store(line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const maxAge = attributes.find((a) => /^max-age=/i.test(a));
    if (value === '' || maxAge === 'Max-Age=0') {
      this.cookies.delete(name);
      return;
    }
    this.cookies.set(name, { value, secure: attributes.some((a) => /^secure$/i.test(a)), raw: line });
  }
}

/** Signs in on the web page's form (`POST /signin` with the form's CSRF token). */
export async function signIn(browser: WebClient, handle: string, password: string): Promise<WebResponse> {
  const form = await browser.get('/signin');
  return browser.post('/signin', { csrf: csrfOf(form.body), handle, password });
}

/** The CSRF token of the (first) form in a page. */
export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no CSRF field in:\n${html.slice(0, 2000)}`);
  return match[1];
}

/** The server of a `describe`'s tests, its core, and the address of its web pages. */
export interface WebSuite {
  server: TestServer;
  core: Core;
  base: string;
}

/**
 * Starts a server (with `env` added to the test configuration) before the enclosing
 * `describe`'s tests and stops it after them; the returned object is filled in by then.
 * Over `https` the pages are at `https://localhost:PORT`, the name its certificate holds.
 */
export function serverForSuite(
  env: Record<string, string> = {},
  scheme: 'http' | 'https' = 'http',
): WebSuite {
  const suite = {} as WebSuite;
  before(async () => {
    suite.server = await startTestServer(env);
    suite.core = suite.server.server.core;
    suite.base =
      scheme === 'https'
        ? `https://localhost:${suite.server.port('https')}`
        : `http://127.0.0.1:${suite.server.port('http')}`;
  });
  after(async () => {
    await suite.server?.stop();
  });
  return suite;
}
