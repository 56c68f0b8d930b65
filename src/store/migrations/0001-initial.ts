import { type Kysely, type Migration, sql } from 'kysely';
import type { Store } from '../types.ts';

/**
 * The initial schema. Column types are chosen to mean the same in both dialects:
 * `bigint` is a 64-bit integer in PostgreSQL and has INTEGER affinity in SQLite;
 * booleans are 0/1 integers. Only the offline-message sequence differs.
 */
export function initialMigration(kind: Store['kind']): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('account')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('handle', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('privacy', 'text', (c) => c.notNull().check(sql`privacy in ('allow-all', 'allow-list')`))
        .addColumn('list_version', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('account_handle_key', ['handle'])
        .execute();

      await db.schema
        .createTable('credential')
        .addColumn('account_id', 'text', (c) => c.primaryKey().references('account.id').onDelete('cascade'))
        .addColumn('argon2', 'text', (c) => c.notNull())
        .addColumn('scram_sha1_salt', 'text', (c) => c.notNull())
        .addColumn('scram_sha1_iterations', 'integer', (c) => c.notNull())
        .addColumn('scram_sha1_stored_key', 'text', (c) => c.notNull())
        .addColumn('scram_sha1_server_key', 'text', (c) => c.notNull())
        .addColumn('scram_sha256_salt', 'text', (c) => c.notNull())
        .addColumn('scram_sha256_iterations', 'integer', (c) => c.notNull())
        .addColumn('scram_sha256_stored_key', 'text', (c) => c.notNull())
        .addColumn('scram_sha256_server_key', 'text', (c) => c.notNull())
        .addColumn('md5_salt', 'text', (c) => c.notNull())
        .addColumn('md5_digest', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('relationship')
        .addColumn('owner_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('contact_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('forward', 'integer', (c) => c.notNull().defaultTo(0).check(sql`forward in (0, 1)`))
        .addColumn('allow', 'integer', (c) => c.notNull().defaultTo(0).check(sql`allow in (0, 1)`))
        .addColumn('block', 'integer', (c) => c.notNull().defaultTo(0).check(sql`block in (0, 1)`))
        .addColumn('nickname', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('relationship_pkey', ['owner_id', 'contact_id'])
        .execute();
      // "Who has me on their list" and the cascade from a deleted contact.
      await db.schema
        .createIndex('relationship_contact_id_idx')
        .on('relationship')
        .column('contact_id')
        .execute();

      await db.schema
        .createTable('contact_group')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addUniqueConstraint('contact_group_owner_number_key', ['owner_id', 'number'])
        .addUniqueConstraint('contact_group_owner_name_key', ['owner_id', 'name'])
        .execute();

      await db.schema
        .createTable('group_member')
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('contact_id', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text', (c) => c.notNull().references('contact_group.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('group_member_pkey', ['owner_id', 'contact_id', 'group_id'])
        // Memberships live and die with the relationship row they annotate.
        .addForeignKeyConstraint(
          'group_member_relationship_fkey',
          ['owner_id', 'contact_id'],
          'relationship',
          ['owner_id', 'contact_id'],
          (fk) => fk.onDelete('cascade'),
        )
        .execute();
      // The cascade from a deleted group.
      await db.schema
        .createIndex('group_member_group_id_idx')
        .on('group_member')
        .column('group_id')
        .execute();

      await db.schema
        .createTable('offline_message')
        // SQLite only auto-increments a column declared exactly `integer primary key`.
        .addColumn('seq', kind === 'sqlite' ? 'integer' : 'bigint', (c) =>
          kind === 'sqlite' ? c.primaryKey().autoIncrement() : c.primaryKey().generatedAlwaysAsIdentity(),
        )
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('recipient_id', 'text', (c) => c.notNull().references('account.id').onDelete('cascade'))
        .addColumn('sender_handle', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .addUniqueConstraint('offline_message_id_key', ['id'])
        .execute();
      await db.schema
        .createIndex('offline_message_recipient_idx')
        .on('offline_message')
        .columns(['recipient_id', 'delivered_at'])
        .execute();

      await db.schema
        .createTable('setting')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of [
        'setting',
        'offline_message',
        'group_member',
        'contact_group',
        'relationship',
        'credential',
        'account',
      ]) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
