import { createRequire } from 'node:module';
import type { TestServer } from './papillon-server.ts';

/** The `ws` client (installed with @fastify/websocket), typed as far as these tests use it. */
export interface WsClient {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string | Buffer): void;
  close(code?: number): void;
  terminate(): void;
  ping(): void;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number) => void): this;
  on(event: 'open', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'unexpected-response', listener: (req: unknown, res: { statusCode?: number }) => void): this;
}
type WsConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: { ca?: Buffer; headers?: Record<string, string> },
) => WsClient;

const require = createRequire(import.meta.url);
const { WebSocket: Ws } = require('ws') as { WebSocket: WsConstructor };

/**
 * @xmpp/websocket opens `new WebSocket(url, ['xmpp'])` with the global WebSocket, which
 * Node 20 lacks: give it the `ws` client (its TLS goes through tls.connect, so the test
 * CA that xmpp-client.ts adds there applies).
 */
export function installGlobalWebSocket(): void {
  const global = globalThis as { WebSocket?: unknown };
  global.WebSocket ??= Ws;
}

export function webSocketUrl(server: TestServer, scheme: 'wss' | 'ws' = 'wss'): string {
  const port = server.port(scheme === 'wss' ? 'https' : 'http');
  return `${scheme}://localhost:${port}/xmpp-websocket`;
}

export interface RawWsOptions {
  scheme?: 'wss' | 'ws';
  /** Sub-protocols to ask for (default `['xmpp']`). */
  protocols?: string[];
  origin?: string;
  /** More request headers (X-Forwarded-Proto behind a trusted proxy). */
  headers?: Record<string, string>;
  /** Another endpoint than the test server's (a listener a test started itself). */
  url?: string;
}

/**
 * A bare WebSocket to `/xmpp-websocket` that records every message: for framing and
 * refusal tests, with nothing done behind the test's back.
 */
export class RawWsClient {
  readonly messages: string[] = [];
  closeCode: number | undefined;
  readonly whenClosed: Promise<number>;
  private waiters: Array<{ match: (m: string) => boolean; resolve: (m: string) => void }> = [];
  private taken = 0;

  private constructor(readonly ws: WsClient) {
    ws.on('message', (data) => {
      const text = data.toString('utf8');
      this.messages.push(text);
      const i = this.waiters.findIndex((w) => w.match(text));
      if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(text);
    });
    ws.on('error', () => {});
    this.whenClosed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  /** Opens the WebSocket; rejects with the HTTP status when the upgrade is refused. */
  static connect(server: TestServer, options: RawWsOptions = {}): Promise<RawWsClient> {
    const url = options.url ?? webSocketUrl(server, options.scheme);
    const ws = new Ws(url, options.protocols ?? ['xmpp'], {
      ca: server.ca,
      headers: { ...options.headers, ...(options.origin ? { Origin: options.origin } : {}) },
    });
    return new Promise((resolve, reject) => {
      ws.on('open', () => resolve(new RawWsClient(ws)));
      ws.on('unexpected-response', (_req, res) => reject(new RefusedError(res.statusCode ?? 0)));
      ws.on('error', reject);
    });
  }

  send(message: string | Buffer): void {
    this.ws.send(message);
  }

  /** The next message not yet taken, in order. */
  next(timeoutMs = 3000): Promise<string> {
    const index = this.taken++;
    const seen = this.messages[index];
    if (seen !== undefined) return Promise.resolve(seen);
    return this.waitFor((_m) => this.messages.length > index, timeoutMs).then(
      () => this.messages[index] as string,
    );
  }

  /** The first message (received or coming) that matches. */
  waitFor(match: (m: string) => boolean, timeoutMs = 3000): Promise<string> {
    const seen = this.messages.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out; received:\n${this.messages.join('\n')}`)),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** `<open/>`, then the server's `<open/>` and features (RFC 7395 §3.4). */
  async open(to = 'localhost'): Promise<{ open: string; features: string }> {
    this.send(`<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='${to}' version='1.0'/>`);
    return { open: await this.next(), features: await this.next() };
  }

  /** SASL PLAIN, the restart and a bound resource: a session ready for stanzas. */
  async login(username: string, password: string, resource: string): Promise<void> {
    await this.open();
    const credentials = Buffer.from(`\0${username}\0${password}`).toString('base64');
    this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${credentials}</auth>`);
    const success = await this.next();
    if (!success.startsWith('<success')) throw new Error(`no SASL success: ${success}`);
    await this.open();
    this.send(
      `<iq xmlns='jabber:client' type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`,
    );
    await this.waitFor((m) => m.includes("id='bind'") || m.includes('id="bind"'));
  }

  close(): void {
    this.ws.terminate();
  }
}

export class RefusedError extends Error {
  constructor(readonly status: number) {
    super(`the upgrade was refused with HTTP ${status}`);
  }
}
