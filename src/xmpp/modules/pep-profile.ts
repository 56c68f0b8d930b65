import type { Core } from '../../core/core.ts';
import type { PepNodeConfig } from '../../core/pep.ts';
import type { AccountRow } from '../../store/types.ts';
import { NS } from '../namespaces.ts';
import type { XmlElement } from '../stream/element.ts';
import { avatarDataNode, avatarMetadataNode } from './avatar.ts';
import { bookmarksNode } from './bookmarks.ts';
import { nickNode } from './nick.ts';
import { withDefaults } from './pep-config.ts';

/**
 * What a well-known PEP node means here beyond storing items. Some nodes are views
 * of the account itself, one value for every protocol: the avatar is the account's
 * picture (XEP-0084), the nick its display name (XEP-0172). Their items are derived
 * from the account, whoever changed it (web page, vCard, MSN client), and publishing
 * to them changes the account.
 */
export interface NodeProfile {
  /** The configuration a new node starts from, before publish-options (XEP-0060 §7.1.5). */
  defaults?: Partial<PepNodeConfig>;
  /**
   * Checks a publish (throwing StanzaError) and acts on it: 'store' keeps the item as
   * published, 'derived' means the account changed and the node's item follows from it.
   */
  publish?(core: Core, owner: AccountRow, itemId: string, payload: XmlElement): Promise<'store' | 'derived'>;
  derived?: DerivedNode;
}

export interface DerivedItem {
  itemId: string;
  payload: XmlElement;
}

/** What the account says of itself that changes a derived node (presence carries both). */
export interface AccountFacts {
  pictureSha1: string | null;
  displayName: string;
}

export interface DerivedNode {
  /** The node's item now; undefined when the account has none (no picture). */
  current(core: Core, owner: AccountRow): Promise<DerivedItem | undefined>;
  /** What contacts are told when the item goes away (XEP-0084 §4.2: empty metadata). */
  cleared?: () => DerivedItem;
  /** Changes whenever the item does; undefined: contacts are not told of changes. */
  version?: (facts: AccountFacts) => string;
  /** Stored items are listed after the derived one (an avatar's uploaded data before its metadata). */
  mergeStored?: boolean;
}

export const PROFILES: Readonly<Record<string, NodeProfile>> = {
  [NS.avatarMetadata]: avatarMetadataNode,
  [NS.avatarData]: avatarDataNode,
  [NS.nick]: nickNode,
  [NS.bookmarks]: bookmarksNode,
};

export function profileOf(node: string): NodeProfile | undefined {
  return Object.hasOwn(PROFILES, node) ? PROFILES[node] : undefined;
}

/** The configuration a node not stored yet would be created with. */
export function defaultConfigOf(node: string): PepNodeConfig {
  return withDefaults(profileOf(node)?.defaults);
}

/** The node's configuration: stored, or the defaults it would be created with. */
export async function configOf(
  core: Core,
  ownerId: string,
  node: string,
): Promise<{ config: PepNodeConfig; stored: boolean }> {
  const stored = await core.pep.node(ownerId, node);
  if (stored) return { config: stored.config, stored: true };
  return { config: defaultConfigOf(node), stored: false };
}

export function factsOfAccount(account: AccountRow): AccountFacts {
  return { pictureSha1: account.picture?.sha1 ?? null, displayName: account.displayName };
}
