import { type Kysely, type Migration, sql } from 'kysely';

/**
 * The OAuth 2.0 authorization server (RFC 6749) and web sign-in sessions. Codes,
 * tokens, client secrets and session cookies are stored only as the SHA-256 (hex) of
 * the value handed out, so a copy of the database grants nothing. Everything goes with
 * its account or client (foreign-key cascades).
 */
export function oauthMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('oauth_client')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text')
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.references('account.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('oauth_client_owner_id_idx')
        .on('oauth_client')
        .column('owner_id')
        .execute();

      await db.schema
        .createTable('oauth_code')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull().references('oauth_client.id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('code_challenge', 'text')
        .addColumn('challenge_method', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      // The cascades from a deleted client or account, and purging.
      await db.schema.createIndex('oauth_code_client_id_idx').on('oauth_code').column('client_id').execute();
      await db.schema
        .createIndex('oauth_code_account_id_idx')
        .on('oauth_code')
        .column('account_id')
        .execute();
      await db.schema
        .createIndex('oauth_code_expires_at_idx')
        .on('oauth_code')
        .column('expires_at')
        .execute();

      await db.schema
        .createTable('oauth_token')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('access', 'refresh')`))
        .addColumn('client_id', 'text', (c) => c.notNull().references('oauth_client.id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('family_id', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text')
        .addColumn('granted_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .execute();
      // An account's grants; revoking a family (refresh-token reuse) or what a code issued
      // (code replay); the cascade from a deleted client; purging.
      await db.schema
        .createIndex('oauth_token_account_id_idx')
        .on('oauth_token')
        .column('account_id')
        .execute();
      await db.schema
        .createIndex('oauth_token_family_id_idx')
        .on('oauth_token')
        .column('family_id')
        .execute();
      await db.schema
        .createIndex('oauth_token_code_hash_idx')
        .on('oauth_token')
        .column('code_hash')
        .execute();
      await db.schema
        .createIndex('oauth_token_client_id_idx')
        .on('oauth_token')
        .column('client_id')
        .execute();
      await db.schema
        .createIndex('oauth_token_expires_at_idx')
        .on('oauth_token')
        .column('expires_at')
        .execute();

      await db.schema
        .createTable('web_session')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('csrf', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('web_session_account_id_idx')
        .on('web_session')
        .column('account_id')
        .execute();
      await db.schema
        .createIndex('web_session_expires_at_idx')
        .on('web_session')
        .column('expires_at')
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of ['web_session', 'oauth_token', 'oauth_code', 'oauth_client']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
