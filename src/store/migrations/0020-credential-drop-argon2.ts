import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Forgets the argon2 hashes stored beside SCRAM-SHA-256 keys (issue 14). A plaintext
 * password is now checked against those keys (core/credentials.ts): whoever steals
 * the database attacks the weakest form it holds, which was never argon2, so the hash
 * protected nothing. `argon2` is NOT NULL: '' means no form.
 *
 * Kept: accounts holding an imported hash (`legacy_hash`, checked first) and rows with
 * no SCRAM-SHA-256 stored key, whose argon2 is then the only way to check a password
 * (verified once at the next sign-in, which stores today's forms). A row whose SCRAM
 * keys were filled with random values at import (a file with argon2 but no
 * SCRAM-SHA-256, which no Papillon export writes) cannot be told apart here.
 *
 * There is no way back: `down` restores no hash, and a version before this one
 * cannot check the passwords of emptied rows (it checked argon2 only).
 */
export function credentialDropArgon2Migration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`update credential set argon2 = ''
        where argon2 <> '' and legacy_hash is null and scram_sha256_stored_key <> ''`.execute(db);
    },

    async down(): Promise<void> {},
  };
}
