import type { Kysely, Migration } from 'kysely';

/**
 * Profile properties of an account that more than one protocol shows: phone numbers
 * (MSNP `PRP PHH/PHW/PHM`, XEP-0054 `TEL`), and later other vCard fields. One row per
 * (account, name); a property that is cleared is deleted.
 */
export function accountPropertyMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('account_property')
        .addColumn('account_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('account_property_pk', ['account_id', 'name'])
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('account_property').execute();
    },
  };
}
