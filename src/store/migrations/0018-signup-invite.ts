import type { Kysely, Migration } from 'kysely';

/**
 * One-time invitation links (`signup: invite`, core/invites.ts): the store keeps only
 * the SHA-256 of each link's token, when it stops working, and who used it. And the
 * roles operators give accounts (core/roles.ts): a row per account with a role, so an
 * ordinary account has none and the account table stays as every protocol reads it.
 */
export function signupInviteMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('signup_invite')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        // Who made it: an admin's handle, or null for the command line.
        .addColumn('created_by', 'text')
        .addColumn('used_at', 'bigint')
        .addColumn('used_by', 'text')
        .execute();
      await db.schema
        .createTable('account_role')
        .addColumn('account_id', 'text', (c) => c.primaryKey().references('account.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('granted_at', 'bigint', (c) => c.notNull())
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('account_role').execute();
      await db.schema.dropTable('signup_invite').execute();
    },
  };
}
