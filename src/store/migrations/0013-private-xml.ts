import type { Kysely, Migration } from 'kysely';

/**
 * XEP-0049 private XML storage: one element per namespace per account (bookmarks,
 * roster notes, the roster delimiter, client preferences), kept as the XML the client
 * stored, opaque to the store.
 */
export function privateXmlMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('private_xml')
        .addColumn('account_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('xml', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('private_xml_pk', ['account_id', 'namespace'])
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('private_xml').execute();
    },
  };
}
