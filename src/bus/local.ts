import type {
  Bus,
  BusHandler,
  BusSubscription,
  EndpointRecord,
  EndpointsLostHandler,
  JsonValue,
} from './types.ts';

/**
 * One subscription of a `LocalBus`: a small object with a prototype method rather than a
 * wrapper closure plus an `unsubscribe` closure, since every signed-in session holds one
 * (issue 14: memory per idle session).
 */
class LocalSubscription implements BusSubscription {
  constructor(
    private readonly bus: LocalBus,
    readonly channel: string,
    readonly handler: BusHandler,
  ) {}

  async unsubscribe(): Promise<void> {
    this.bus.drop(this);
  }
}

/**
 * The single-process bus (the default when no Redis URL is configured). Delivery is
 * deferred to a microtask and payloads are cloned, so code written against it behaves
 * the same on the Redis bus.
 */
export class LocalBus implements Bus {
  readonly nodeId: string;
  private readonly handlers = new Map<string, Set<LocalSubscription>>();
  private readonly endpoints = new Map<string, Map<string, EndpointRecord>>();
  private readonly claims = new Map<string, { holder: string; expiresAt: number }>();
  private closed = false;

  constructor(nodeId = 'local') {
    this.nodeId = nodeId;
  }

  async publish(channel: string, message: JsonValue): Promise<void> {
    this.assertOpen();
    const handlers = this.handlers.get(channel);
    if (!handlers || handlers.size === 0) return;
    // One copy per handler, taken now: what each receives is the message as published.
    for (const subscription of [...handlers]) {
      const copy = structuredClone(message);
      queueMicrotask(() => subscription.handler(copy));
    }
  }

  async subscribe(channel: string, handler: BusHandler): Promise<BusSubscription> {
    this.assertOpen();
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    // An object per subscription, so the same function subscribed twice is two subscriptions.
    const subscription = new LocalSubscription(this, channel, handler);
    set.add(subscription);
    return subscription;
  }

  /** A subscription ends (LocalSubscription.unsubscribe). */
  drop(subscription: LocalSubscription): void {
    const current = this.handlers.get(subscription.channel);
    current?.delete(subscription);
    if (current?.size === 0) this.handlers.delete(subscription.channel);
  }

  async putEndpoint(record: EndpointRecord): Promise<void> {
    this.assertOpen();
    let byId = this.endpoints.get(record.accountId);
    if (!byId) {
      byId = new Map();
      this.endpoints.set(record.accountId, byId);
    }
    byId.set(record.endpointId, deepFreeze(structuredClone(record)));
  }

  async removeEndpoint(accountId: string, endpointId: string): Promise<boolean> {
    const byId = this.endpoints.get(accountId);
    const removed = byId?.delete(endpointId) ?? false;
    if (byId?.size === 0) this.endpoints.delete(accountId);
    return removed;
  }

  async listEndpoints(accountId: string): Promise<EndpointRecord[]> {
    const byId = this.endpoints.get(accountId);
    // Frozen when stored, so readers share them without a copy (routing reads them per stanza).
    return byId ? [...byId.values()] : [];
  }

  async listEndpointsOf(accountIds: readonly string[]): Promise<EndpointRecord[][]> {
    return accountIds.map((accountId) => {
      const byId = this.endpoints.get(accountId);
      return byId ? [...byId.values()] : [];
    });
  }

  async removeNodeEndpoints(nodeId: string): Promise<EndpointRecord[]> {
    const removed: EndpointRecord[] = [];
    for (const [accountId, byId] of this.endpoints) {
      for (const [endpointId, record] of byId) {
        if (record.nodeId === nodeId) {
          removed.push(record);
          byId.delete(endpointId);
        }
      }
      if (byId.size === 0) this.endpoints.delete(accountId);
    }
    return removed;
  }

  async claim(key: string, holder: string, ttlMs: number, replace?: string | true): Promise<string> {
    this.assertOpen();
    const now = Date.now();
    const current = this.claims.get(key);
    const held = current !== undefined && current.expiresAt > now ? current.holder : undefined;
    if (held !== undefined && held !== holder && replace !== true && replace !== held) return held;
    if (this.claims.size >= 1024 && current === undefined) {
      for (const [k, c] of this.claims) if (c.expiresAt <= now) this.claims.delete(k);
    }
    this.claims.set(key, { holder, expiresAt: now + ttlMs });
    return holder;
  }

  async release(key: string, holder: string): Promise<void> {
    if (this.claims.get(key)?.holder === holder) this.claims.delete(key);
  }

  /** One process is one node: no other node can die under it, so this never fires. */
  onEndpointsLost(_handler: EndpointsLostHandler): void {}

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    this.endpoints.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('bus is closed');
  }
}

/** Freezes a JSON value all the way down, so no reader can change what another reads. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
