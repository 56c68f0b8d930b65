import type { Kysely, Selectable, SelectQueryBuilder } from 'kysely';
import type { Database, MessageArchiveTable } from '../schema.ts';
import type { ArchiveFilter, ArchivePage, ArchiveRow, NewArchiveMessage } from '../types.ts';
import { compare } from './compare.ts';
import { PreparedQuery, slot } from './prepared.ts';

/** Rows per INSERT statement of the archive (7 bound values each). */
const ARCHIVE_ROWS_PER_INSERT = 1000;

type Side = 'sent' | 'received';
type Query = SelectQueryBuilder<Database, 'message_archive', object>;

/**
 * The message-archive part of the Kysely store (migration 0015), kept apart from
 * kysely-store.ts, which delegates to it. An account's archive is two index ranges, what
 * it sent and what it received; a page reads at most `limit + 1` rows from each (in id
 * order) and merges them, so a page costs the same however long the archive is.
 */
export class ArchiveQueries {
  /** Issue 14: the INSERT of n rows, compiled once per n (prepared.ts); the builder cost more than SQLite's work. */
  readonly #inserts = new Map<number, PreparedQuery<unknown>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly onForeignKey: <T>(message: string, write: () => Promise<T>) => Promise<T>,
  ) {}

  async appendArchive(messages: readonly NewArchiveMessage[]): Promise<void> {
    if (messages.length === 0) return;
    // In slices: one INSERT binds 7 values a row, and SQLite (32,766) and PostgreSQL
    // (65,535) cap the values of a statement; a busy second can batch thousands of rows.
    await this.onForeignKey('no such account', () =>
      this.db.transaction().execute(async (trx) => {
        for (let i = 0; i < messages.length; i += ARCHIVE_ROWS_PER_INSERT) {
          const rows = messages.slice(i, i + ARCHIVE_ROWS_PER_INSERT);
          const values: unknown[] = [];
          for (const m of rows)
            values.push(m.id, m.senderId, m.recipientId, m.sender, m.recipient, m.at, m.body);
          await this.#insert(rows.length).execute(trx, values);
        }
      }),
    );
  }

  /** The INSERT of `count` rows, whose values are each row's 7 columns in turn. */
  #insert(count: number): PreparedQuery<unknown> {
    let prepared = this.#inserts.get(count);
    if (!prepared) {
      prepared = new PreparedQuery((db) =>
        db.insertInto('message_archive').values(
          Array.from({ length: count }, (_, row) => {
            const at = (column: number) => slot(row * 7 + column);
            return {
              id: at(0),
              sender_id: at(1),
              recipient_id: at(2),
              sender: at(3),
              recipient: at(4),
              // A placeholder where a number goes: the compiled query binds the row's time.
              at: at(5) as unknown as number,
              body: at(6),
            };
          }),
        ),
      );
      // Batches come in every size up to the cap: keep the compiled texts bounded.
      if (this.#inserts.size >= 256) this.#inserts.clear();
      this.#inserts.set(count, prepared);
    }
    return prepared;
  }

  async queryArchive(filter: ArchiveFilter, limit: number, fromEnd: boolean): Promise<ArchivePage> {
    const direction = fromEnd ? 'desc' : 'asc';
    const [sent, received] = await Promise.all(
      (['sent', 'received'] as const).map((side) =>
        this.side(filter, side)
          .selectAll()
          .orderBy('id', direction)
          .limit(limit + 1)
          .execute(),
      ),
    );
    const rows = [...(sent ?? []), ...(received ?? [])]
      .sort((a, b) => compare(a.id, b.id) * (fromEnd ? -1 : 1))
      .map((row) => ownView(row, filter.ownerId));
    const page = rows.slice(0, limit);
    return { rows: fromEnd ? page.reverse() : page, more: rows.length > limit };
  }

  async countArchive(filter: ArchiveFilter): Promise<number> {
    const counts = await Promise.all(
      (['sent', 'received'] as const).map((side) =>
        this.side(filter, side)
          .select((eb) => eb.fn.countAll().as('count'))
          .executeTakeFirstOrThrow(),
      ),
    );
    return counts.reduce((sum, row) => sum + Number(row.count), 0);
  }

  async archiveHas(ownerId: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('message_archive')
      .select('id')
      .where('id', 'in', [...new Set(ids)])
      .where((eb) => eb.or([eb('sender_id', '=', ownerId), eb('recipient_id', '=', ownerId)]))
      .execute();
    return rows.map((r) => r.id);
  }

  async purgeArchive(before: string): Promise<number> {
    const result = await this.db.deleteFrom('message_archive').where('id', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** The filter over one side of the owner's archive (a message to oneself is on the sent side only). */
  private side(filter: ArchiveFilter, side: Side): Query {
    let query: Query = this.db.selectFrom('message_archive');
    if (side === 'sent') {
      query = query.where('sender_id', '=', filter.ownerId);
      if (filter.peer !== undefined) query = query.where('recipient', '=', filter.peer);
    } else {
      query = query
        .where('recipient_id', '=', filter.ownerId)
        .where((eb) => eb.or([eb('sender_id', 'is', null), eb('sender_id', '<>', filter.ownerId)]));
      if (filter.peer !== undefined) query = query.where('sender', '=', filter.peer);
    }
    if (filter.after !== undefined) query = query.where('id', '>', filter.after);
    if (filter.before !== undefined) query = query.where('id', '<', filter.before);
    if (filter.ids !== undefined) {
      // No ids: nothing (an empty IN list is not SQL).
      query = filter.ids.length === 0 ? query.where('id', '<', '') : query.where('id', 'in', [...filter.ids]);
    }
    return query;
  }
}

/** A message as the owner's archive shows it. */
function ownView(row: Selectable<MessageArchiveTable>, ownerId: string): ArchiveRow {
  const outgoing = row.sender_id === ownerId;
  return {
    id: row.id,
    ownerId,
    peer: outgoing ? row.recipient : row.sender,
    outgoing,
    at: Number(row.at),
    body: row.body,
  };
}
