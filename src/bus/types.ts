/**
 * The bus carries domain events between server nodes and keeps the registry of
 * connected endpoints (which node holds which connection of which account).
 *
 * Every call is asynchronous and every payload crosses it as a JSON value, even
 * in-process: the Redis bus will serialize, so the local one must not let callers
 * share object references or rely on synchronous delivery.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type BusHandler = (message: JsonValue) => void;

export interface BusSubscription {
  unsubscribe(): Promise<void>;
}

/** One connection of one account: an MSNP machine GUID or an XMPP full JID. */
export interface EndpointRecord {
  accountId: string;
  /** Unique within the account (e.g. `msnp:<machine guid>`, `xmpp:<resource>`). */
  endpointId: string;
  /** The node that holds the connection. */
  nodeId: string;
  /** Opaque to the bus: the endpoint's presence and capabilities as core encodes them. */
  state: JsonValue;
  /** Milliseconds since the epoch. */
  updatedAt: number;
}

/** Records of endpoints whose node died, already removed from the registry. */
export type EndpointsLostHandler = (records: EndpointRecord[]) => void;

export interface Bus {
  /** This node's id, unique in the cluster. */
  readonly nodeId: string;

  /** Delivers `message` to every subscriber of `channel` on every node, in publish order per channel. */
  publish(channel: string, message: JsonValue): Promise<void>;
  subscribe(channel: string, handler: BusHandler): Promise<BusSubscription>;

  /** Adds or replaces an endpoint record. */
  putEndpoint(record: EndpointRecord): Promise<void>;
  /** Returns whether a record was removed. */
  removeEndpoint(accountId: string, endpointId: string): Promise<boolean>;
  /** The account's records; read-only (the local bus shares frozen ones with every reader). */
  listEndpoints(accountId: string): Promise<EndpointRecord[]>;
  /**
   * `listEndpoints` of several accounts in one call (one round trip on the Redis bus):
   * one list per id, in the order given (an id given twice gets its list twice).
   */
  listEndpointsOf(accountIds: readonly string[]): Promise<EndpointRecord[][]>;
  /** Drops every record held by `nodeId` (a node that stopped or died); returns them. */
  removeNodeEndpoints(nodeId: string): Promise<EndpointRecord[]>;
  /**
   * Called when a node is found dead (its heartbeat stopped) and its records removed:
   * once in the cluster, on the node that claimed it, so their accounts' contacts can
   * be told. A node that stops cleanly removes its own records and calls nothing.
   */
  onEndpointsLost(handler: EndpointsLostHandler): void;

  /**
   * One holder for `key` across the cluster (e.g. the node that owns a conversation):
   * gives `key` to `holder` for `ttlMs` unless another holder has it, and returns the
   * holder after the call (`holder` when it got or kept it). `replace` takes it from
   * that holder (one found gone), or from anyone when `true`. Atomic; like the
   * registry, it need not outlive a restart of the bus.
   */
  claim(key: string, holder: string, ttlMs: number, replace?: string | true): Promise<string>;
  /** Drops `key` if `holder` has it. */
  release(key: string, holder: string): Promise<void>;

  close(): Promise<void>;
}
