import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Whether the contact has noticed being added (`relationship.noticed` on the adder's
 * row): MSN's pending list (PL, MSNP10+) and the address book's Pending membership
 * (MSNP13+) hold a new adder until the added user's client acknowledges the add
 * (`REM trid PL handle`, `DeleteMember` Pending), whether or not the user then
 * allowed or blocked the adder. Reset whenever the adder adds the contact again.
 */
export function relationshipNoticedMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('relationship')
        .addColumn('noticed', 'integer', (c) => c.notNull().defaultTo(0).check(sql`noticed in (0, 1)`))
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('relationship').dropColumn('noticed').execute();
    },
  };
}
