import type { Kysely, Migration } from 'kysely';

/**
 * Offline messages are leased while they are being delivered, not marked delivered
 * before the first byte goes out (issue 13): a lease names the node and the delivery
 * holding the message and when it runs out. A message leaves the queue only when the
 * recipient acknowledged it (`delivered_at`); a lease released, or left by a node that
 * died, makes it deliverable again with its id and time unchanged.
 */
export function offlineLeaseMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('offline_message')
        // The node holding the lease (released together when that node restarts or dies).
        .addColumn('lease_node', 'text')
        .execute();
      // One delivery (one sign-in's batch): renewed and released as a whole.
      await db.schema.alterTable('offline_message').addColumn('lease_token', 'text').execute();
      // Milliseconds since the epoch; past it, the lease is void.
      await db.schema.alterTable('offline_message').addColumn('lease_until', 'bigint').execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      for (const column of ['lease_until', 'lease_token', 'lease_node']) {
        await db.schema.alterTable('offline_message').dropColumn(column).execute();
      }
    },
  };
}
