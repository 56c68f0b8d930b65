import type { Kysely, Migration } from 'kysely';

/**
 * One-time login tickets: the Passport `t=` token an MSNP8–12 client fetches over
 * HTTPS and then presents in `USR … TWN S` (docs/msnp-reference.md §5.2–5.4). Only
 * the SHA-256 of a token is stored, so a copy of the database cannot be replayed
 * as a login.
 */
export function loginTicketMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('login_ticket')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      // The cascade from a deleted account.
      await db.schema
        .createIndex('login_ticket_account_id_idx')
        .on('login_ticket')
        .column('account_id')
        .execute();
      // Purging expired tickets.
      await db.schema
        .createIndex('login_ticket_expires_at_idx')
        .on('login_ticket')
        .column('expires_at')
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('login_ticket').execute();
    },
  };
}
