import type { Kysely, Migration } from 'kysely';

/**
 * The proof key (WS-Trust `BinarySecret`) issued with a Windows Live Messenger SSO
 * ticket: the client derives its `USR … SSO S` answer from it (MBI_KEY_OLD), and the
 * notification server needs the same key to check that answer. Null for every other
 * ticket. A ticket lives minutes, so the key does too.
 */
export function ticketProofKeyMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('login_ticket').addColumn('proof_key', 'text').execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('login_ticket').dropColumn('proof_key').execute();
    },
  };
}
