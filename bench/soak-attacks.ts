/**
 * The hostile clients of the soak benchmark (bench/soak.ts), each kept running for the
 * whole soak from its own loopback addresses (127.78.<attack>.<slot>): slowloris
 * connections that trickle one byte a second (the server must close them at its log-in
 * or header deadline), and clients that flood requests but never read (the server must
 * close them at its output-buffer bound, issue 13 item 1). Each counts the connections
 * the server closed, and replaces them.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import type { Samples } from './common.ts';

/** What an attack counted so far. */
export interface AttackStats {
  name: string;
  /** Connections (or sign-ins) opened. */
  opened: number;
  /** Of those, closed by the server (the attack never closes one itself before `stop`). */
  closedByServer: number;
  /** Connects or sign-ins that failed. */
  failed: number;
  /** How long the server took to close each one, ms. */
  lifetimes: Samples;
  /** Bytes written (queued on this side included). */
  bytesSent: number;
}

export interface Attack {
  readonly stats: AttackStats;
  readonly live: number;
  stop(): void;
}

/** Source address `slot` of attack number `attack`, or undefined where aliases cannot be bound. */
export function attackAddress(attack: number, slot: number, aliases: boolean): string | undefined {
  return aliases ? `127.78.${attack}.${(slot % 250) + 1}` : undefined;
}

/** A plain TCP connection, or TLS over it (certificate not checked: the attacker does not care). */
export function openSocket(
  port: number,
  local: string | undefined,
  secure: boolean,
  timeoutMs: number,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, ...(local ? { localAddress: local } : {}) };
    const socket = secure
      ? tls.connect({ ...options, rejectUnauthorized: false, servername: 'localhost' })
      : net.connect(options);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('connect timed out'));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/**
 * A base that keeps `count` connections open: `open(slot)` makes one, and when the
 * server closes it (or it fails) the slot is opened again after `respawnMs`.
 */
abstract class Keeper implements Attack {
  readonly stats: AttackStats;
  live = 0;
  protected stopped = false;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    name: string,
    lifetimes: Samples,
    private readonly count: number,
    private readonly respawnMs: number,
  ) {
    this.stats = { name, opened: 0, closedByServer: 0, failed: 0, lifetimes, bytesSent: 0 };
  }

  start(): void {
    for (let slot = 0; slot < this.count; slot++) this.spawn(slot);
  }

  protected abstract open(slot: number): Promise<net.Socket>;
  /** Runs every `everyMs` while the socket is open. */
  protected abstract tick(socket: net.Socket, step: number): void;
  protected abstract readonly everyMs: number;

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private spawn(slot: number): void {
    if (this.stopped) return;
    this.open(slot).then(
      (socket) => {
        if (this.stopped) {
          socket.destroy();
          return;
        }
        this.stats.opened++;
        this.live++;
        this.sockets.add(socket);
        const opened = performance.now();
        let step = 0;
        const timer = setInterval(() => {
          if (!socket.destroyed) this.tick(socket, step++);
        }, this.everyMs);
        socket.on('error', () => {}); // a reset is how a flooder usually learns it was closed
        socket.once('close', () => {
          clearInterval(timer);
          this.sockets.delete(socket);
          this.live--;
          if (this.stopped) return;
          this.stats.closedByServer++;
          this.stats.lifetimes.push(performance.now() - opened);
          this.later(() => this.spawn(slot), this.respawnMs);
        });
        this.tick(socket, step++);
      },
      () => {
        this.stats.failed++;
        this.later(() => this.spawn(slot), 1000);
      },
    );
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
  }
}

/** Connections that send `payload` (cycled) one byte a second and read what they get. */
export class Slowloris extends Keeper {
  protected readonly everyMs = 1000;

  constructor(
    name: string,
    lifetimes: Samples,
    count: number,
    private readonly connect: (slot: number) => Promise<net.Socket>,
    private readonly payload: Buffer,
  ) {
    super(name, lifetimes, count, 100);
  }

  protected open(slot: number): Promise<net.Socket> {
    return this.connect(slot);
  }

  protected tick(socket: net.Socket, step: number): void {
    const at = step % this.payload.length;
    socket.write(this.payload.subarray(at, at + 1));
    this.stats.bytesSent++;
  }
}

/** Writes this much at most into a flooder's own (client-side) buffer, so the bench's memory stays bounded. */
const FLOOD_BUFFER = 1 << 20;

/**
 * A client that is set up by `open` (a sign-in, or VER), then stops reading and writes
 * `chunk` as fast as the kernel takes it. The server must stop reading it and close it.
 */
export class Flooder extends Keeper {
  protected readonly everyMs = 20;

  constructor(
    name: string,
    lifetimes: Samples,
    private readonly setUp: (slot: number) => Promise<net.Socket>,
    private readonly chunk: (step: number) => string,
  ) {
    super(name, lifetimes, 1, 1000);
  }

  protected async open(slot: number): Promise<net.Socket> {
    const socket = await this.setUp(slot);
    // Stop reading: the server's replies pile up in its output buffer.
    socket.pause();
    return socket;
  }

  protected tick(socket: net.Socket, step: number): void {
    // Bounded per tick: while the kernel still takes everything, writableLength stays 0.
    let budget = FLOOD_BUFFER / 4;
    while (budget > 0 && socket.writable && socket.writableLength < FLOOD_BUFFER) {
      const data = this.chunk(step);
      socket.write(data);
      this.stats.bytesSent += data.length;
      budget -= data.length;
    }
  }
}
