import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { ConnSocket } from './conn-base.ts';

/** The part of the `ws` client (installed with @fastify/websocket, no type package) used here. */
interface WsClient {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number): void;
  terminate(): void;
  on(event: 'message', listener: (data: Buffer) => void): this;
  on(event: 'open' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'unexpected-response', listener: (req: unknown, res: { statusCode?: number }) => void): this;
  off(event: 'error', listener: (err: Error) => void): this;
}

type WsConstructor = new (
  url: string,
  protocols: string[],
  options: {
    ca: Buffer;
    servername: string;
    localAddress?: string;
    handshakeTimeout: number;
  },
) => WsClient;

const require = createRequire(import.meta.url);
const { WebSocket } = require('ws') as { WebSocket: WsConstructor };

/** RFC 6455 §3.3.5 readyState OPEN. */
const OPEN = 1;
/** RFC 6455 §7.4.1: normal closure. */
const NORMAL_CLOSURE = 1000;

/**
 * A WebSocket shaped like the socket `ConnBase` reads: each received message is one
 * 'data' chunk (RFC 7395 §3.3.3: one complete element), each `write` one text message,
 * `end` the closing handshake and `destroy` a plain drop of the connection.
 */
class WebSocketConn extends EventEmitter implements ConnSocket {
  constructor(private readonly ws: WsClient) {
    super();
    ws.on('message', (data) => this.emit('data', data));
    ws.on('error', (err) => this.emit('error', err));
    ws.on('close', () => this.emit('close'));
  }

  get writable(): boolean {
    return this.ws.readyState === OPEN;
  }

  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  write(data: string | Buffer): void {
    this.ws.send(data.toString());
  }

  end(): void {
    this.ws.close(NORMAL_CLOSURE);
  }

  destroy(): void {
    this.ws.terminate();
  }
}

/**
 * Opens `url` (`wss://…/xmpp-websocket`) with the `xmpp` sub-protocol (RFC 7395 §3.1),
 * checking the server's certificate for `servername` against `ca`, from `localAddress`
 * when given (as the TCP client binds its loopback alias). The client offers
 * permessage-deflate as browsers do; the server decides whether to take it.
 */
export function connectWebSocket(
  url: string,
  ca: Buffer,
  servername: string,
  localAddress: string | undefined,
  timeoutMs: number,
): Promise<ConnSocket> {
  const ws = new WebSocket(url, ['xmpp'], {
    ca,
    servername,
    handshakeTimeout: timeoutMs,
    ...(localAddress ? { localAddress } : {}),
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`WebSocket to ${url}: ${err.message}`));
    ws.on('error', onError);
    ws.on('unexpected-response', (_req, res) => {
      ws.terminate();
      reject(new Error(`WebSocket to ${url}: the upgrade was refused with HTTP ${res.statusCode ?? '?'}`));
    });
    ws.on('open', () => {
      ws.off('error', onError);
      resolve(new WebSocketConn(ws));
    });
  });
}
