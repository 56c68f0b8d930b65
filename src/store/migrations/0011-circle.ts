import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Circles (MSNP18 "Groups" in Windows Live Messenger 2009): a named group of accounts
 * with its own conversation. `circle.id` is the circle's address-book GUID as clients
 * see it (`00000000-0000-0000-0009-xxxxxxxxxxxx`). A member row is an invitation
 * (`state` pending) until the invitee accepts it (accepted); a declined invitation or
 * a member who left is deleted. `role`: 1 the circle's administrator (its creator),
 * 3 a member — the CirclePersonalMembership roles of the address book.
 */
export function circleMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('circle')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('circle_member')
        .addColumn('circle_id', 'text', (c) => c.notNull().references('circle.id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('role', 'integer', (c) => c.notNull().check(sql`role in (1, 3)`))
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'accepted')`))
        .addColumn('inviter_id', 'text', (c) => c.references('account.id').onDelete('set null'))
        .addColumn('changed_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('circle_member_pk', ['circle_id', 'account_id'])
        .execute();
      await db.schema.createIndex('circle_member_account').on('circle_member').column('account_id').execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('circle_member').execute();
      await db.schema.dropTable('circle').execute();
    },
  };
}
