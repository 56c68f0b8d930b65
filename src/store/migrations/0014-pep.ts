import type { Kysely, Migration } from 'kysely';

/**
 * Personal eventing (XEP-0163 PEP) nodes on an account's bare JID and their items.
 * The node's configuration (XEP-0060 §16.4 pubsub#node_config: access model, how many
 * items it keeps) is a JSON document core/pep.ts reads; an item's payload is the XML
 * the owner published, kept as text. `seq` orders a node's items (newest highest):
 * publication times are too coarse to tell two quick publishes apart.
 */
export function pepMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('pep_node')
        .addColumn('account_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('node', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pep_node_pk', ['account_id', 'node'])
        .execute();
      await db.schema
        .createTable('pep_item')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('node', 'text', (c) => c.notNull())
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('published_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pep_item_pk', ['account_id', 'node', 'item_id'])
        .addForeignKeyConstraint(
          'pep_item_node',
          ['account_id', 'node'],
          'pep_node',
          ['account_id', 'node'],
          (c) => c.onDelete('cascade'),
        )
        .execute();
      await db.schema
        .createIndex('pep_item_seq')
        .on('pep_item')
        .columns(['account_id', 'node', 'seq'])
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('pep_item').execute();
      await db.schema.dropTable('pep_node').execute();
    },
  };
}
