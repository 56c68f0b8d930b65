import type { Kysely, Selectable } from 'kysely';
import type { Database, PepItemTable, PepNodeTable } from '../schema.ts';
import type { PepItemRow, PepNodeRow } from '../types.ts';
import { compare } from './compare.ts';

/**
 * The PEP part of the Kysely store (migration 0014), kept apart from kysely-store.ts,
 * which delegates to it. Foreign-key failures (unknown account) become
 * `no-such-account` through the caller's `onForeignKey`.
 */
export class PepQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly onForeignKey: <T>(message: string, write: () => Promise<T>) => Promise<T>,
  ) {}

  async getPepNode(accountId: string, node: string): Promise<PepNodeRow | undefined> {
    const row = await this.db
      .selectFrom('pep_node')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('node', '=', node)
      .executeTakeFirst();
    return row === undefined ? undefined : nodeRow(row);
  }

  async listPepNodes(accountId: string): Promise<PepNodeRow[]> {
    const rows = await this.db
      .selectFrom('pep_node')
      .selectAll()
      .where('account_id', '=', accountId)
      .execute();
    return rows.map(nodeRow).sort((a, b) => compare(a.node, b.node));
  }

  async putPepNode(row: PepNodeRow): Promise<void> {
    await this.onForeignKey(`no account ${row.accountId}`, () =>
      this.db
        .insertInto('pep_node')
        .values({ account_id: row.accountId, node: row.node, config: row.config, created_at: row.createdAt })
        .onConflict((oc) => oc.columns(['account_id', 'node']).doUpdateSet({ config: row.config }))
        .execute(),
    );
  }

  async deletePepNode(accountId: string, node: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // Items first: the cascade needs SQLite's foreign keys on, this does not.
      await trx.deleteFrom('pep_item').where('account_id', '=', accountId).where('node', '=', node).execute();
      const result = await trx
        .deleteFrom('pep_node')
        .where('account_id', '=', accountId)
        .where('node', '=', node)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  async putPepItem(item: PepItemRow, maxItems: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const node = await trx
        .selectFrom('pep_node')
        .select('node')
        .where('account_id', '=', item.accountId)
        .where('node', '=', item.node)
        .executeTakeFirst();
      if (!node) return false;
      const top = await trx
        .selectFrom('pep_item')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('account_id', '=', item.accountId)
        .where('node', '=', item.node)
        .executeTakeFirst();
      const seq = Number(top?.seq ?? 0) + 1;
      const values = {
        account_id: item.accountId,
        node: item.node,
        item_id: item.itemId,
        seq,
        payload: item.payload,
        published_at: item.publishedAt,
      };
      await trx
        .insertInto('pep_item')
        .values(values)
        .onConflict((oc) =>
          oc
            .columns(['account_id', 'node', 'item_id'])
            .doUpdateSet({ seq, payload: values.payload, published_at: values.published_at }),
        )
        .execute();
      // The oldest beyond the node's limit go (XEP-0060 §7.1.2 pubsub#max_items).
      const kept = await trx
        .selectFrom('pep_item')
        .select('item_id')
        .where('account_id', '=', item.accountId)
        .where('node', '=', item.node)
        .orderBy('seq', 'desc')
        .limit(Math.max(1, maxItems))
        .execute();
      await trx
        .deleteFrom('pep_item')
        .where('account_id', '=', item.accountId)
        .where('node', '=', item.node)
        .where(
          'item_id',
          'not in',
          kept.map((k) => k.item_id),
        )
        .execute();
      return true;
    });
  }

  async listPepItems(
    accountId: string,
    node: string,
    options: { itemIds?: readonly string[]; limit?: number } = {},
  ): Promise<PepItemRow[]> {
    if (options.itemIds?.length === 0) return [];
    let query = this.db
      .selectFrom('pep_item')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('node', '=', node)
      .orderBy('seq', 'desc');
    if (options.itemIds) query = query.where('item_id', 'in', [...options.itemIds]);
    if (options.limit !== undefined) query = query.limit(Math.max(0, options.limit));
    return (await query.execute()).map(itemRow);
  }

  async deletePepItem(accountId: string, node: string, itemId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('pep_item')
      .where('account_id', '=', accountId)
      .where('node', '=', node)
      .where('item_id', '=', itemId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

function nodeRow(r: Selectable<PepNodeTable>): PepNodeRow {
  return { accountId: r.account_id, node: r.node, config: r.config, createdAt: Number(r.created_at) };
}

function itemRow(r: Selectable<PepItemTable>): PepItemRow {
  return {
    accountId: r.account_id,
    node: r.node,
    itemId: r.item_id,
    payload: r.payload,
    publishedAt: Number(r.published_at),
  };
}
