import type { Kysely, Migration } from 'kysely';

/**
 * `credential.legacy_hash`: a password hash carried over from another server (an
 * Escargot `pbkdf2_sha256$…` string, SCRAM keys with no other form), checked by
 * core/legacy-hash.ts until the user's first successful sign-in replaces it with
 * Papillon's own forms. Null for every account whose password Papillon set.
 */
export function credentialLegacyHashMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('credential').addColumn('legacy_hash', 'text').execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('credential').dropColumn('legacy_hash').execute();
    },
  };
}
