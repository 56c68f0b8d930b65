import type { PepItemRow, Store } from '../store/types.ts';
import type { Visibility } from './visibility.ts';

/**
 * Personal data nodes: named collections of items an account publishes for itself and
 * its contacts (XMPP's personal eventing, XEP-0163). The core keeps nodes, their
 * configuration and their items, and says who may read them; the payloads are opaque.
 */

/** Who may read a node's items (XEP-0060 §4.5 access models PEP services offer). */
export type AccessModel = 'open' | 'presence' | 'whitelist';

/** When the newest item is sent unasked (XEP-0060 §16.4 pubsub#send_last_published_item). */
export type SendLast = 'never' | 'on_sub' | 'on_sub_and_presence';

export interface PepNodeConfig {
  accessModel: AccessModel;
  /** How many items the node keeps; 'max' is as many as the server allows (MAX_PEP_ITEMS). */
  maxItems: number | 'max';
  persistItems: boolean;
  sendLastPublishedItem: SendLast;
  notifyRetract: boolean;
}

/** XEP-0163 §5 recommended defaults, as Prosody's mod_pep applies them (one item per node). */
export const DEFAULT_PEP_CONFIG: Readonly<PepNodeConfig> = Object.freeze({
  accessModel: 'presence',
  maxItems: 1,
  persistItems: true,
  sendLastPublishedItem: 'on_sub_and_presence',
  notifyRetract: true,
});

/** The most items one node keeps, and the most nodes one account has. */
export const MAX_PEP_ITEMS = 256;
export const MAX_PEP_NODES = 128;
/** The largest item payload (an avatar's base64 fits). */
export const MAX_PEP_PAYLOAD_BYTES = 512 * 1024;

export interface PepNode {
  node: string;
  config: PepNodeConfig;
}

export type PepItem = Pick<PepItemRow, 'itemId' | 'payload' | 'publishedAt'>;

/** Why a change was refused; each protocol words it its own way. */
export type PepRefusal = 'too-many-nodes' | 'payload-too-big' | 'no-such-node';

export class PepError extends Error {
  constructor(
    readonly reason: PepRefusal,
    message: string,
  ) {
    super(message);
  }
}

export function itemLimit(config: PepNodeConfig): number {
  return config.maxItems === 'max' ? MAX_PEP_ITEMS : Math.min(Math.max(1, config.maxItems), MAX_PEP_ITEMS);
}

function parseConfig(json: string): PepNodeConfig {
  try {
    return { ...DEFAULT_PEP_CONFIG, ...(JSON.parse(json) as Partial<PepNodeConfig>) };
  } catch {
    return { ...DEFAULT_PEP_CONFIG };
  }
}

export class Pep {
  constructor(
    private readonly store: Store,
    private readonly visibility: Visibility,
    private readonly clock: () => number = Date.now,
  ) {}

  async node(ownerId: string, node: string): Promise<PepNode | undefined> {
    const row = await this.store.getPepNode(ownerId, node);
    return row && { node: row.node, config: parseConfig(row.config) };
  }

  async nodes(ownerId: string): Promise<PepNode[]> {
    return (await this.store.listPepNodes(ownerId)).map((row) => ({
      node: row.node,
      config: parseConfig(row.config),
    }));
  }

  /** Creates the node or replaces its configuration; its items past the new limit go at the next publish. */
  async configure(ownerId: string, node: string, config: PepNodeConfig): Promise<void> {
    const existing = await this.store.getPepNode(ownerId, node);
    if (!existing && (await this.store.listPepNodes(ownerId)).length >= MAX_PEP_NODES) {
      throw new PepError('too-many-nodes', `at most ${MAX_PEP_NODES} nodes per account`);
    }
    await this.store.putPepNode({
      accountId: ownerId,
      node,
      config: JSON.stringify(config),
      createdAt: existing?.createdAt ?? this.clock(),
    });
  }

  deleteNode(ownerId: string, node: string): Promise<boolean> {
    return this.store.deletePepNode(ownerId, node);
  }

  /** Stores an item in an existing node (`configure` it first). */
  async publish(ownerId: string, node: string, itemId: string, payload: string): Promise<PepItem> {
    if (Buffer.byteLength(payload) > MAX_PEP_PAYLOAD_BYTES) {
      throw new PepError('payload-too-big', `items are at most ${MAX_PEP_PAYLOAD_BYTES / 1024} KiB`);
    }
    const current = await this.node(ownerId, node);
    if (!current) throw new PepError('no-such-node', `no node ${node}`);
    const item = { accountId: ownerId, node, itemId, payload, publishedAt: this.clock() };
    // Not persisted: only the newest item is kept, to be sent as the last published one.
    const limit = current.config.persistItems ? itemLimit(current.config) : 1;
    if (!(await this.store.putPepItem(item, limit))) throw new PepError('no-such-node', `no node ${node}`);
    return item;
  }

  retract(ownerId: string, node: string, itemId: string): Promise<boolean> {
    return this.store.deletePepItem(ownerId, node, itemId);
  }

  /** Newest first. */
  async items(
    ownerId: string,
    node: string,
    options: { itemIds?: readonly string[]; limit?: number } = {},
  ): Promise<PepItem[]> {
    return (await this.store.listPepItems(ownerId, node, options)).map(
      ({ itemId, payload, publishedAt }) => ({
        itemId,
        payload,
        publishedAt,
      }),
    );
  }

  /**
   * May `viewerId` read the owner's node? `presence` (XEP-0060 §4.5): the viewer is
   * subscribed to the owner's presence, i.e. has the owner on its forward list and the
   * owner lets it see (the owner's `from`/`both`); `whitelist`: the owner alone.
   */
  async mayRead(viewerId: string, ownerId: string, config: PepNodeConfig): Promise<boolean> {
    if (viewerId === ownerId || config.accessModel === 'open') return true;
    if (config.accessModel === 'whitelist') return false;
    return this.subscribed(viewerId, ownerId);
  }

  /** The viewer gets the owner's presence: on its forward list, and allowed to see it. */
  async subscribed(viewerId: string, ownerId: string): Promise<boolean> {
    const row = await this.store.getRelationship(viewerId, ownerId);
    return row?.forward === true && (await this.visibility.canSee(viewerId, ownerId));
  }

  /**
   * Who besides the owner gets notifications of the node (XEP-0163 §4: contacts sharing
   * presence, within the access model): the owner's presence watchers, none for a whitelist.
   */
  async subscribers(ownerId: string, config: PepNodeConfig): Promise<string[]> {
    if (config.accessModel === 'whitelist') return [];
    return this.visibility.watchers(ownerId);
  }
}
