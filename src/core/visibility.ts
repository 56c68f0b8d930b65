import type { AccountRow, RelationshipRow, Store } from '../store/types.ts';
import { type ListFlags, NO_LISTS, permits } from './subscription.ts';

export function listFlags(row: RelationshipRow | undefined): ListFlags {
  return row
    ? { forward: row.forward, allow: row.allow, block: row.block, noticed: row.noticed, listed: row.listed }
    : NO_LISTS;
}

/** Who may see whom: the one place presence routing asks. */
export class Visibility {
  constructor(private readonly store: Store) {}

  /** May `viewerId` see `targetId`'s presence (ignoring whether it watches)? */
  async canSee(viewerId: string, targetId: string): Promise<boolean> {
    const [target, row] = await Promise.all([
      this.store.getAccountById(targetId),
      this.store.getRelationship(targetId, viewerId),
    ]);
    return target !== undefined && permits(listFlags(row), target.privacy);
  }

  /** Accounts that have `targetId` on their forward list and may see it: who gets its presence. */
  async watchers(targetId: string, targetRow?: AccountRow): Promise<string[]> {
    const target = targetRow ?? (await this.store.getAccountById(targetId));
    if (!target) return [];
    const [reverse, mine] = await Promise.all([
      this.store.listRelationshipsTo(targetId),
      this.store.listRelationships(targetId),
    ]);
    const mineById = new Map(mine.map((r) => [r.contactId, r]));
    return reverse
      .filter((r) => r.forward && permits(listFlags(mineById.get(r.ownerId)), target.privacy))
      .map((r) => r.ownerId);
  }
}
