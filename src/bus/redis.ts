import { Redis } from 'ioredis';
import { indexMember, SCRIPTS, type ScriptName } from './redis-scripts.ts';
import type {
  Bus,
  BusHandler,
  BusSubscription,
  EndpointRecord,
  EndpointsLostHandler,
  JsonValue,
} from './types.ts';

export interface RedisBusOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** This node's id, unique in the cluster. */
  nodeId: string;
  /** Prefix of every key and channel; default `papillon:` (tests use one each). */
  keyPrefix?: string;
  /** How often this node writes its heartbeat and looks for dead nodes; default 5000. */
  heartbeatMs?: number;
  /** A node whose heartbeat is older than this is dead; default 15000. */
  nodeTimeoutMs?: number;
  /** A connection error (ioredis retries by itself) or a failed background step; default: a process warning. */
  onError?: (err: Error) => void;
}

/** Records sent back per script call when restoring, so no single call is huge. */
const RESTORE_BATCH = 500;
/** The longest wait between two reconnection attempts (ioredis `retryStrategy`). */
const RETRY_CAP_MS = 2000;
/**
 * How long calls wait for Redis to come back before they go to ioredis anyway (which
 * queues them and fails them after its own retries), so a long outage fails requests
 * instead of holding them forever.
 */
const GATE_MAX_MS = 20_000;

type Scripted = Redis & { [K in ScriptName]: (...args: string[]) => Promise<unknown> };

/**
 * The cluster bus: domain events on Redis pub/sub, the endpoint registry in Redis
 * hashes (src/bus/redis-scripts.ts), and node liveness by heartbeats. One connection
 * sends commands and publishes (Redis keeps one connection's publishes in order, so
 * per-channel order holds); another, in subscriber mode, receives.
 *
 * Redis here may keep nothing on disk, so this node keeps its own records and puts
 * them back whenever its heartbeat has vanished (Redis restarted empty, or other nodes
 * wrongly took it for dead). ioredis reconnects and resubscribes by itself.
 *
 * While the connection is down, and after a restart that lost the records until every
 * node had time to put its own back and resubscribe (`settleMs`), calls wait at a gate
 * instead of reaching Redis: otherwise what was held during the outage would go out the
 * moment this node reconnects, read an empty registry (a message to someone online
 * kept offline, and nobody told) or publish to nodes not yet listening again (lost).
 */
export class RedisBus implements Bus {
  readonly nodeId: string;
  private readonly prefix: string;
  private readonly heartbeatMs: number;
  private readonly nodeTimeoutMs: number;
  private readonly onError: (err: Error) => void;
  private readonly commands: Scripted;
  private readonly events: Redis;
  /** Redis channel → handlers on this node, and its SUBSCRIBE (a handler added meanwhile waits for it). */
  private readonly channels = new Map<string, { handlers: Set<BusHandler>; subscribed: Promise<unknown> }>();
  private readonly lostHandlers = new Set<EndpointsLostHandler>();
  /** This node's own records, by `[accountId, endpointId]`, to put back after Redis lost them. */
  private readonly own = new Map<string, EndpointRecord>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** No sweeping before this (ms): after a reconnect, the other nodes need a beat to catch up. */
  private sweepAfter = 0;
  /** After Redis lost the records: how long calls wait for every node to restore and resubscribe. */
  private readonly settleMs: number;
  /** Set while calls must wait (see the class comment); opened by `openGate`. */
  private gate: { promise: Promise<void>; open: () => void } | undefined;
  /** When the commands connection last dropped, and when this node last found its heartbeat gone (ms). */
  private droppedAt = 0;
  private restoredAt = 0;
  private closed = false;

  /** Connects, writes the first heartbeat and starts the liveness timer. */
  static async open(options: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(options);
    try {
      await Promise.all([whenReady(bus.commands), whenReady(bus.events)]);
      await bus.beat();
    } catch (err) {
      bus.abandon();
      throw err;
    }
    bus.timer = setInterval(() => void bus.tick(), bus.heartbeatMs);
    bus.timer.unref();
    return bus;
  }

  private constructor(options: RedisBusOptions) {
    this.nodeId = options.nodeId;
    this.prefix = options.keyPrefix ?? 'papillon:';
    this.heartbeatMs = options.heartbeatMs ?? 5000;
    this.nodeTimeoutMs = options.nodeTimeoutMs ?? 15_000;
    if (!(this.heartbeatMs > 0 && this.nodeTimeoutMs > this.heartbeatMs))
      throw new RangeError('the node timeout must be longer than the heartbeat interval');
    this.onError = options.onError ?? ((err) => process.emitWarning(`redis bus: ${err.message}`));
    // Every node beats within `heartbeatMs` (restoring its records if they are gone), and
    // reconnects at most `RETRY_CAP_MS` after this one.
    this.settleMs = this.heartbeatMs + RETRY_CAP_MS;
    const connection = (role: string) => {
      const client = new Redis(options.url, {
        // Shown by CLIENT LIST: which node and which of its connections.
        connectionName: `${this.prefix}${this.nodeId}:${role}`.replace(/[^\w.:@-]/g, '_'),
        retryStrategy: (times) => Math.min(times * 100, RETRY_CAP_MS),
      });
      client.on('error', (err: Error) => this.onError(err));
      return client;
    };
    this.commands = connection('commands') as Scripted;
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      this.commands.defineCommand(name, { numberOfKeys: 0, lua });
    }
    this.events = connection('events');
    this.events.on('message', (channel: string, raw: string) => this.deliver(channel, raw));
    // Connection lost: calls wait for it (and, if Redis lost our records, for the cluster to settle).
    this.commands.on('close', () => {
      if (this.closed) return;
      this.droppedAt = Date.now();
      this.closeGate();
    });
    // A reconnect after the first: if Redis lost our heartbeat, put our records back now.
    let connected = false;
    this.commands.on('ready', () => {
      if (!connected) {
        connected = true;
        return;
      }
      this.sweepAfter = Date.now() + this.nodeTimeoutMs;
      void this.rejoin();
    });
  }

  /** After a reconnect: restore our records if Redis lost them, let the others do as much, then open the gate. */
  private async rejoin(): Promise<void> {
    try {
      await this.beat();
      // Restored now, or by a heartbeat held during the outage that went out first.
      if (this.restoredAt >= this.droppedAt) {
        this.closeGate(); // again, if a long outage opened it (GATE_MAX_MS)
        await new Promise((resolve) => setTimeout(resolve, this.settleMs).unref());
      }
      // Dropped again meanwhile: the next reconnect opens it.
      if (this.commands.status === 'ready') this.openGate();
    } catch (err) {
      // Redis went away again: the gate stays shut until the next reconnect (or GATE_MAX_MS).
      this.onError(err as Error);
    }
  }

  private closeGate(): void {
    if (this.gate) return;
    let open = () => {};
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    const gate = { promise, open };
    this.gate = gate;
    setTimeout(() => {
      if (this.gate === gate) this.openGate();
    }, GATE_MAX_MS).unref();
  }

  private openGate(): void {
    const gate = this.gate;
    this.gate = undefined;
    gate?.open();
  }

  async publish(channel: string, message: JsonValue): Promise<void> {
    this.assertOpen();
    // Serialized now: the caller may change the object while this waits at the gate.
    const raw = JSON.stringify(message);
    if (this.gate) await this.gate.promise;
    await this.commands.publish(this.channelKey(channel), raw);
  }

  async subscribe(channel: string, handler: BusHandler): Promise<BusSubscription> {
    this.assertOpen();
    const key = this.channelKey(channel);
    let entry = this.channels.get(key);
    if (!entry) {
      // SUBSCRIBE and UNSUBSCRIBE go out on one connection in the order the map changed.
      const created = { handlers: new Set<BusHandler>(), subscribed: this.events.subscribe(key) };
      entry = created;
      this.channels.set(key, created);
      created.subscribed.catch(() => {
        if (this.channels.get(key) === created) this.channels.delete(key);
      });
    }
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const wrapper: BusHandler = (message) => handler(message);
    entry.handlers.add(wrapper);
    await entry.subscribed;
    const subscribed = entry;
    return {
      unsubscribe: async () => {
        if (!subscribed.handlers.delete(wrapper) || subscribed.handlers.size > 0) return;
        if (this.channels.get(key) !== subscribed) return;
        this.channels.delete(key);
        if (!this.closed) await this.events.unsubscribe(key);
      },
    };
  }

  async putEndpoint(record: EndpointRecord): Promise<void> {
    this.assertOpen();
    const key = indexMember(record.accountId, record.endpointId);
    if (record.nodeId === this.nodeId) this.own.set(key, structuredClone(record));
    else this.own.delete(key);
    if (this.gate) await this.gate.promise;
    await this.commands.papillonPutEndpoint(
      this.prefix,
      record.accountId,
      record.endpointId,
      record.nodeId,
      JSON.stringify(record),
      key,
    );
  }

  async claim(key: string, holder: string, ttlMs: number, replace?: string | true): Promise<string> {
    this.assertOpen();
    if (this.gate) await this.gate.promise;
    const mode = replace === true ? '*' : (replace ?? '');
    const held = await this.commands.papillonClaim(this.prefix, key, holder, String(Math.ceil(ttlMs)), mode);
    return String(held);
  }

  async release(key: string, holder: string): Promise<void> {
    this.assertOpen();
    if (this.gate) await this.gate.promise;
    await this.commands.papillonRelease(this.prefix, key, holder);
  }

  async removeEndpoint(accountId: string, endpointId: string): Promise<boolean> {
    const key = indexMember(accountId, endpointId);
    this.own.delete(key);
    if (this.gate) await this.gate.promise;
    return (await this.commands.papillonRemoveEndpoint(this.prefix, accountId, endpointId, key)) === 1;
  }

  async listEndpoints(accountId: string): Promise<EndpointRecord[]> {
    if (this.gate) await this.gate.promise;
    const values = await this.commands.hvals(`${this.prefix}endpoints:${accountId}`);
    return values.map((v) => JSON.parse(v) as EndpointRecord);
  }

  async listEndpointsOf(accountIds: readonly string[]): Promise<EndpointRecord[][]> {
    if (accountIds.length === 0) return [];
    if (this.gate) await this.gate.promise;
    // One pipeline: every HVALS goes out in one write and the replies come back together.
    const pipeline = this.commands.pipeline();
    for (const accountId of accountIds) pipeline.hvals(`${this.prefix}endpoints:${accountId}`);
    const replies = (await pipeline.exec()) ?? [];
    return accountIds.map((_, i) => {
      const [err, values] = replies[i] ?? [new Error('no reply to HVALS'), null];
      if (err) throw err;
      return (values as string[]).map((v) => JSON.parse(v) as EndpointRecord);
    });
  }

  async removeNodeEndpoints(nodeId: string): Promise<EndpointRecord[]> {
    if (nodeId === this.nodeId) this.own.clear();
    if (this.gate) await this.gate.promise;
    const removed = (await this.commands.papillonRemoveNode(this.prefix, nodeId)) as string[];
    return removed.map((v) => JSON.parse(v) as EndpointRecord);
  }

  onEndpointsLost(handler: EndpointsLostHandler): void {
    this.lostHandlers.add(handler);
  }

  /** Removes this node's records and heartbeat, then closes both connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.openGate();
    this.channels.clear();
    this.lostHandlers.clear();
    try {
      // Only when connected: a node that cannot reach Redis is swept by the others.
      if (this.commands.status === 'ready') await this.commands.papillonLeave(this.prefix, this.nodeId);
    } catch (err) {
      this.onError(err as Error);
    }
    this.own.clear();
    await Promise.allSettled([quit(this.commands), quit(this.events)]);
  }

  /**
   * Stops at once without a word to Redis, as a killed process would: the heartbeat
   * and the records stay until another node sweeps them. For tests of node failure.
   */
  abandon(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.openGate();
    this.channels.clear();
    this.lostHandlers.clear();
    this.commands.disconnect();
    this.events.disconnect();
  }

  private channelKey(channel: string): string {
    return `${this.prefix}channel:${channel}`;
  }

  private deliver(channel: string, raw: string): void {
    const set = this.channels.get(channel)?.handlers;
    if (!set || set.size === 0) return;
    let message: JsonValue;
    try {
      message = JSON.parse(raw) as JsonValue;
    } catch {
      this.onError(new Error(`ignored a message that is not JSON on ${channel}`));
      return;
    }
    // One copy per handler, each called later as on the local bus: a throwing handler
    // is the caller's bug, not a broken Redis connection.
    let first = true;
    for (const handler of [...set]) {
      const copy = first ? message : structuredClone(message);
      first = false;
      queueMicrotask(() => handler(copy));
    }
  }

  /** The periodic step: heartbeat, then sweep for dead nodes. Never overlaps itself. */
  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    try {
      await this.beat();
      if (!this.closed && Date.now() >= this.sweepAfter) await this.sweep();
    } catch (err) {
      this.onError(err as Error);
    } finally {
      this.ticking = false;
    }
  }

  /** Writes the heartbeat; if it had vanished, puts this node's records back. */
  private async beat(): Promise<void> {
    if (this.closed) return;
    const added = await this.commands.papillonBeat(this.prefix, this.nodeId);
    if (added !== 1 || this.closed) return;
    this.restoredAt = Date.now();
    if (this.own.size === 0) return;
    // Read from `own` and sent at once: later puts and removes follow on the same connection.
    const records = [...this.own.values()];
    const sending: Promise<unknown>[] = [];
    for (let i = 0; i < records.length; i += RESTORE_BATCH) {
      const args = records
        .slice(i, i + RESTORE_BATCH)
        .flatMap((r) => [
          r.accountId,
          r.endpointId,
          r.nodeId,
          JSON.stringify(r),
          indexMember(r.accountId, r.endpointId),
        ]);
      sending.push(this.commands.papillonRestore(this.prefix, ...args));
    }
    await Promise.all(sending);
  }

  /** Claims the nodes whose heartbeat is too old and tells this node's handlers what they held. */
  private async sweep(): Promise<void> {
    const [dead, removed] = (await this.commands.papillonSweep(this.prefix, String(this.nodeTimeoutMs))) as [
      string[],
      string[],
    ];
    if (dead.length === 0 || removed.length === 0) return;
    for (const handler of [...this.lostHandlers]) {
      const records = removed.map((v) => JSON.parse(v) as EndpointRecord);
      queueMicrotask(() => handler(records));
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('bus is closed');
  }
}

/** Resolves when the connection is ready; rejects at its first error (Redis unreachable at start). */
function whenReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      client.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      client.off('ready', onReady);
      reject(err);
    };
    client.once('ready', onReady);
    client.once('error', onError);
  });
}

async function quit(client: Redis): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await client.quit();
}
