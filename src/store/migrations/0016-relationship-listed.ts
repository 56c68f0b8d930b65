import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Whether the owner keeps the contact in the list without asking for its presence
 * (`relationship.listed`): an RFC 6121 roster item with subscription 'none' (§2.1.5
 * roster set, and what an `unsubscribe` leaves, §3.3), the MSNP13+ address book's
 * contact with isMessengerUser=false. Keeps a row alive alone.
 */
export function relationshipListedMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('relationship')
        .addColumn('listed', 'integer', (c) => c.notNull().defaultTo(0).check(sql`listed in (0, 1)`))
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('relationship').dropColumn('listed').execute();
    },
  };
}
