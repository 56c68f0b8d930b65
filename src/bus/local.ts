import type {
  Bus,
  BusHandler,
  BusSubscription,
  EndpointRecord,
  EndpointsLostHandler,
  JsonValue,
} from './types.ts';

/**
 * The single-process bus (the default when no Redis URL is configured). Delivery is
 * deferred to a microtask and payloads are cloned, so code written against it behaves
 * the same on the Redis bus.
 */
export class LocalBus implements Bus {
  readonly nodeId: string;
  private readonly handlers = new Map<string, Set<BusHandler>>();
  private readonly endpoints = new Map<string, Map<string, EndpointRecord>>();
  private closed = false;

  constructor(nodeId = 'local') {
    this.nodeId = nodeId;
  }

  async publish(channel: string, message: JsonValue): Promise<void> {
    this.assertOpen();
    const handlers = this.handlers.get(channel);
    if (!handlers || handlers.size === 0) return;
    // One copy per handler, taken now: what each receives is the message as published.
    for (const handler of [...handlers]) {
      const copy = structuredClone(message);
      queueMicrotask(() => handler(copy));
    }
  }

  async subscribe(channel: string, handler: BusHandler): Promise<BusSubscription> {
    this.assertOpen();
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const entry: BusHandler = (message) => handler(message);
    set.add(entry);
    return {
      unsubscribe: async () => {
        const current = this.handlers.get(channel);
        current?.delete(entry);
        if (current?.size === 0) this.handlers.delete(channel);
      },
    };
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
