import type { Kysely, Migration } from 'kysely';

/**
 * The account's picture (display picture / avatar), shown to MSN contacts as an MSN
 * object and to XMPP contacts as a XEP-0153 photo hash and a vCard PHOTO. What presence
 * needs (hash, size, type) sits on the account row, which presence reads anyway; the
 * image itself (base64, at most 256 KiB) is in its own table, read only when served.
 */
export function accountPictureMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('account').addColumn('picture_sha1', 'text').execute();
      await db.schema.alterTable('account').addColumn('picture_size', 'integer').execute();
      await db.schema.alterTable('account').addColumn('picture_type', 'text').execute();
      await db.schema
        .createTable('account_picture')
        .addColumn('account_id', 'text', (c) => c.primaryKey().references('account.id').onDelete('cascade'))
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('account_picture').execute();
      await db.schema.alterTable('account').dropColumn('picture_type').execute();
      await db.schema.alterTable('account').dropColumn('picture_size').execute();
      await db.schema.alterTable('account').dropColumn('picture_sha1').execute();
    },
  };
}
