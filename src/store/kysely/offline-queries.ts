import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, OfflineMessageTable } from '../schema.ts';
import type { NewOfflineMessage, OfflineLease, OfflineMessageRow, ReleasedOffline, Store } from '../types.ts';

/**
 * The offline-message part of the Kysely store, delegated to by kysely-store.ts. Every
 * change of who holds a message is one UPDATE … RETURNING: a row goes to whichever
 * statement changes it first. On PostgreSQL a concurrent statement waits for the row
 * lock and then re-checks its WHERE on the new row (READ COMMITTED), so it skips rows
 * another lease took meanwhile; SQLite runs one writer at a time.
 */
export class OfflineQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly kind: Store['kind'],
    private readonly onForeignKey: <T>(message: string, write: () => Promise<T>) => Promise<T>,
  ) {}

  async enqueueOffline(message: NewOfflineMessage): Promise<void> {
    await this.onForeignKey(`no account ${message.recipientId}`, () =>
      this.db
        .insertInto('offline_message')
        .values({
          id: message.id,
          recipient_id: message.recipientId,
          sender_handle: message.senderHandle,
          payload: message.payload,
          sent_at: message.sentAt,
          delivered_at: null,
          lease_node: null,
          lease_token: null,
          lease_until: null,
        })
        .execute(),
    );
  }

  async leaseOffline(
    recipientId: string,
    lease: OfflineLease,
    now: number,
    options: { senderHandle?: string | undefined; limit?: number | undefined } = {},
  ): Promise<OfflineMessageRow[]> {
    const { senderHandle, limit } = options;
    let query = this.db
      .updateTable('offline_message')
      .set({ lease_node: lease.node, lease_token: lease.token, lease_until: lease.until })
      .where('recipient_id', '=', recipientId)
      .where('delivered_at', 'is', null)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]));
    if (senderHandle !== undefined) query = query.where('sender_handle', '=', senderHandle);
    if (limit !== undefined) {
      // The first `limit` free rows. On PostgreSQL SKIP LOCKED passes over rows a
      // concurrent lease is taking, so it gets the next ones rather than none; the outer
      // conditions above are re-checked on every row either way.
      let first = this.db
        .selectFrom('offline_message')
        .select('seq')
        .where('recipient_id', '=', recipientId)
        .where('delivered_at', 'is', null)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
        .orderBy('seq')
        .limit(limit);
      if (senderHandle !== undefined) first = first.where('sender_handle', '=', senderHandle);
      if (this.kind === 'postgres') {
        // `= any(array(…))`: an InitPlan, run once. As `in (…)` PostgreSQL may rescan the
        // locking subquery for every outer row, and each rescan locks the next rows.
        const once = first.forUpdate().skipLocked();
        query = query.where('seq', '=', sql<number>`any(array(${once}))`);
      } else {
        query = query.where('seq', 'in', first);
      }
    }
    return inStorageOrder(await query.returningAll().execute());
  }

  async renewOfflineLease(token: string, until: number): Promise<number> {
    const result = await this.db
      .updateTable('offline_message')
      .set({ lease_until: until })
      .where('lease_token', '=', token)
      .where('delivered_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async releaseOfflineLease(token: string, ids?: readonly string[]): Promise<ReleasedOffline[]> {
    if (ids?.length === 0) return [];
    let query = this.db
      .updateTable('offline_message')
      .set({ lease_node: null, lease_token: null, lease_until: null })
      .where('lease_token', '=', token)
      .where('delivered_at', 'is', null);
    if (ids !== undefined) query = query.where('id', 'in', [...ids]);
    return byRecipient(await query.returning(['recipient_id', 'id']).execute());
  }

  async releaseNodeOfflineLeases(node?: string): Promise<ReleasedOffline[]> {
    let query = this.db
      .updateTable('offline_message')
      .set({ lease_node: null, lease_token: null, lease_until: null })
      .where('lease_token', 'is not', null)
      .where('delivered_at', 'is', null);
    if (node !== undefined) query = query.where('lease_node', '=', node);
    return byRecipient(await query.returning(['recipient_id', 'id']).execute());
  }

  async claimOfflineIds(
    recipientId: string,
    ids: readonly string[],
    now: number,
  ): Promise<OfflineMessageRow[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .updateTable('offline_message')
      .set({ delivered_at: now, lease_node: null, lease_token: null, lease_until: null })
      .where('recipient_id', '=', recipientId)
      .where('delivered_at', 'is', null)
      .where('id', 'in', [...ids])
      .returningAll()
      .execute();
    return inStorageOrder(rows);
  }

  async listOffline(recipientId: string): Promise<OfflineMessageRow[]> {
    const rows = await this.db
      .selectFrom('offline_message')
      .selectAll()
      .where('recipient_id', '=', recipientId)
      .where('delivered_at', 'is', null)
      .orderBy('seq')
      .execute();
    return rows.map(toOfflineMessage);
  }

  async countOffline(recipientId?: string): Promise<number> {
    const row = await this.db
      .selectFrom('offline_message')
      .select((eb) => eb.fn.countAll().as('count'))
      .$if(recipientId !== undefined, (qb) => qb.where('recipient_id', '=', recipientId as string))
      .where('delivered_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async purgeDeliveredOffline(before: number): Promise<number> {
    const result = await this.db
      .deleteFrom('offline_message')
      .where('delivered_at', 'is not', null)
      .where('delivered_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

/** RETURNING has no guaranteed order. */
function inStorageOrder(rows: Selectable<OfflineMessageTable>[]): OfflineMessageRow[] {
  return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map(toOfflineMessage);
}

/** One released message per recipient. */
function byRecipient(rows: Array<{ recipient_id: string; id: string }>): ReleasedOffline[] {
  const first = new Map<string, string>();
  for (const row of rows) if (!first.has(row.recipient_id)) first.set(row.recipient_id, row.id);
  return [...first].map(([recipientId, messageId]) => ({ recipientId, messageId }));
}

function toOfflineMessage(row: Selectable<OfflineMessageTable>): OfflineMessageRow {
  return {
    id: row.id,
    recipientId: row.recipient_id,
    senderHandle: row.sender_handle,
    payload: row.payload,
    sentAt: Number(row.sent_at),
    deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at),
    leasedUntil: row.lease_until === null ? null : Number(row.lease_until),
  };
}
