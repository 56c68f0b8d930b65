import { type Kysely, type Migration, sql } from 'kysely';
import type { Store } from '../types.ts';

/**
 * The one-to-one messages accounts send each other (core/archive.ts; XEP-0313 MAM for
 * XMPP clients): one row per message, which is in the sender's and the recipient's
 * archive at once. `id` (the XEP-0359 stanza-id) begins with the time, so ids sort in
 * archive order and new rows land at the end of every index; one account's archive is
 * the rows it sent (sender_id) or received (recipient_id), each read in id order from
 * its own index, with the other party's handle next so one conversation is a range.
 * A deleted account's side becomes null: the other side keeps its history, named by
 * the handles kept as text.
 */
export function messageArchiveMigration(kind: Store['kind']): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      let table = db.schema
        .createTable('message_archive')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('sender_id', 'text', (c) => c.references('account.id').onDelete('set null'))
        .addColumn('recipient_id', 'text', (c) => c.references('account.id').onDelete('set null'))
        .addColumn('sender', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull());
      // SQLite: the rows are the id's B-tree itself, not a second one beside the rowid's.
      if (kind === 'sqlite') table = table.modifyEnd(sql`without rowid`);
      await table.execute();
      await db.schema
        .createIndex('message_archive_sent_idx')
        .on('message_archive')
        .columns(['sender_id', 'recipient', 'id'])
        .execute();
      await db.schema
        .createIndex('message_archive_received_idx')
        .on('message_archive')
        .columns(['recipient_id', 'sender', 'id'])
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('message_archive').execute();
    },
  };
}
