import { randomFillSync } from 'node:crypto';
import type { ArchiveFilter, ArchiveRow, NewArchiveMessage, Store } from '../store/types.ts';
import { AtMostEvery } from '../util/at-most-every.ts';
import { isPapillonError, PapillonError } from '../util/errors.ts';

/** A message in an account's archive. */
export type ArchivedMessage = ArchiveRow;

/** One side of a one-to-one message. */
export interface ArchiveParty {
  id: string;
  handle: string;
}

/** Which messages of an archive: all of them unless narrowed. */
export interface ArchiveSearch {
  /** The other party's handle. */
  peer?: string;
  /** Times (ms), both inclusive. */
  start?: number;
  end?: number;
  /** Only messages after / before the one with this id (XEP-0313 `after-id`, `before-id`). */
  afterId?: string;
  beforeId?: string;
  /** Only these messages. */
  ids?: readonly string[];
}

/** A page of the search's matches (XEP-0059 terms). */
export interface ArchivePaging {
  /** At most this many (the archive caps it at MAX_ARCHIVE_PAGE). */
  max: number;
  /** The page right after, or right before, the message with this id. */
  after?: string;
  before?: string;
  /** The page at the end: the newest matches. */
  last?: boolean;
}

export interface ArchiveResult {
  /** Oldest first. */
  messages: ArchivedMessage[];
  /** No more matches lie beyond the page in the direction it was taken (XEP-0313 `complete`). */
  complete: boolean;
  /** How many messages match the search, whatever the page. */
  count: number;
  /** Where the page's first message stands among them (0: the oldest match). */
  index: number | undefined;
}

/** What to archive (XEP-0441 terms); kept for the account, not applied: every message is archived. */
export interface ArchivePrefs {
  default: 'always' | 'never' | 'roster';
  always: string[];
  never: string[];
}

export const MAX_ARCHIVE_PAGE = 250;
export const DEFAULT_ARCHIVE_PAGE = 50;
const PREFS_PROPERTY = 'archive.prefs';
const MAX_PREFS_BYTES = 16 * 1024;
const PURGE_INTERVAL_MS = 60_000;
/** How long a message may wait for others to be written with (lost if the process dies). */
const BATCH_MS = 100;
/**
 * Rows per write, at least, once a batch is larger. A write is synchronous on SQLite
 * (better-sqlite3) and holds the event loop for its INSERT and commit, so a backlog
 * (an overloaded server, a stalled disk) is written in slices with a turn of the event
 * loop between them. Not smaller: each write touches a page of every party's index
 * range, so slicing a normal batch (500 rows at 5,000 msgs/s) cost ~40 % more CPU at
 * that rate (npm run bench -- msnp, fixed-rate phase: 61 % → 84 % of a core).
 */
const WRITE_ROWS = 2_000;
const MAX_SLICES = 4;
const DAY_MS = 86_400_000;

export interface ArchiveOptions {
  /** How long messages are kept; 0 turns the archive off. */
  days: number;
  clock?: () => number;
  /** A write that failed after the sender went on (the archive writes behind delivery). */
  onError?: (err: unknown) => void;
}

/**
 * Every account's archive of its one-to-one messages, whatever protocol carried them
 * (an MSN switchboard, an XMPP chat, a message kept offline): a message is stored once
 * and is in the sender's and the recipient's archive, under one id that XMPP shows as
 * the XEP-0359 stanza-id. Writes are batched behind delivery (a burst of messages is
 * one INSERT) so archiving costs the sender no round trip; a query first waits for them.
 */
export class MessageArchive {
  readonly enabled: boolean;
  readonly #retentionMs: number;
  readonly #clock: () => number;
  readonly #onError: (err: unknown) => void;
  readonly #purge = new AtMostEvery(PURGE_INTERVAL_MS);
  #pending: NewArchiveMessage[] = [];
  /** The write in progress and those queued behind it. */
  #tail: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  /** A batch is being written (#drain). */
  #writing = false;
  /** Messages recorded, and of those written (or failed), so far: what flush waits for. */
  #recorded = 0;
  #written = 0;

  constructor(
    private readonly store: Store,
    options: ArchiveOptions,
  ) {
    this.enabled = options.days > 0;
    this.#retentionMs = options.days * DAY_MS;
    this.#clock = options.clock ?? Date.now;
    this.#onError = options.onError ?? ((err) => process.emitWarning(`message archive: ${String(err)}`));
  }

  /**
   * Archives a one-to-one text message for both parties; returns its id, or undefined
   * when the archive is off (or there is nothing to keep).
   */
  record(sender: ArchiveParty, recipient: ArchiveParty, body: string): string | undefined {
    if (!this.enabled || body === '') return undefined;
    const at = this.#clock();
    const id = newArchiveId(at);
    const wasEmpty = this.#pending.length === 0;
    this.#recorded += 1;
    this.#pending.push({
      id,
      senderId: sender.id,
      recipientId: recipient.id,
      sender: sender.handle,
      recipient: recipient.handle,
      at,
      body,
    });
    // The first message schedules the write; those of the next BATCH_MS join it. Few
    // large writes cost the database far less than many small ones (each touches a page
    // of every party's index range); a query writes them at once (flush).
    if (wasEmpty) this.#timer = setTimeout(() => this.#kick(), BATCH_MS).unref();
    return id;
  }

  /** Resolves once everything recorded so far is stored (or has failed). */
  async flush(): Promise<void> {
    const target = this.#recorded;
    // A batch being written leaves out what came after it began: then kick the next one.
    while (this.#written < target) {
      this.#kick();
      await this.#tail;
    }
  }

  /** Writes what is pending now, unless a batch is being written (then #drain schedules the next). */
  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0 || this.#writing) return;
    this.#writing = true;
    this.#tail = this.#tail.then(() => this.#drain());
  }

  /**
   * Writes the batch pending at the kick, a slice at a time with a turn of the event loop
   * between slices. A slice is at least WRITE_ROWS rows and at least 1/MAX_SLICES of what
   * waits, so however slow the turns, a batch takes at most MAX_SLICES of them and the
   * archive keeps up. Messages recorded meanwhile make the next batch, BATCH_MS later.
   */
  async #drain(): Promise<void> {
    try {
      for (let left = this.#pending.length, first = true; left > 0; first = false) {
        if (!first) await nextTurn();
        const pending = this.#pending;
        const rows = Math.max(WRITE_ROWS, Math.ceil(pending.length / MAX_SLICES));
        const slice = pending.length <= rows ? pending : pending.slice(0, rows);
        this.#pending = slice === pending ? [] : pending.slice(rows);
        left -= slice.length;
        await this.#write(slice);
        this.#written += slice.length;
      }
    } finally {
      this.#writing = false;
      // A kick that came while this one wrote found it busy: what it left waits for the next batch.
      if (this.#pending.length > 0 && this.#timer === undefined) {
        this.#timer = setTimeout(() => this.#kick(), BATCH_MS).unref();
      }
    }
  }

  /**
   * A page of the owner's messages matching `search`; undefined when an id it names
   * (after, before, afterId, beforeId, one of ids) is not in the archive.
   */
  async query(
    ownerId: string,
    search: ArchiveSearch,
    paging: ArchivePaging,
  ): Promise<ArchiveResult | undefined> {
    await this.flush();
    const named = [search.afterId, search.beforeId, paging.after, paging.before, ...(search.ids ?? [])];
    const ids = named.filter((id): id is string => id !== undefined);
    const have = new Set(await this.store.archiveHas(ownerId, ids));
    if (!ids.every((id) => have.has(id))) return undefined;

    const filter = this.#filter(ownerId, search);
    const count = await this.store.countArchive(filter);
    const fromEnd = paging.last === true || paging.before !== undefined;
    const paged = { ...filter, after: highest(filter.after, paging.after) };
    const before = lowest(filter.before, paging.before);
    if (before !== undefined) paged.before = before;
    const limit = Math.max(0, Math.min(paging.max, MAX_ARCHIVE_PAGE));
    const page = await this.store.queryArchive(paged, limit, fromEnd);
    const first = page.rows[0];
    let index: number | undefined;
    if (!first) index = undefined;
    else if ((paging.after === undefined && !fromEnd) || (fromEnd && !page.more)) index = 0;
    else if (paging.last === true) index = count - page.rows.length;
    else
      index = await this.store.countArchive({ ...filter, before: lowest(filter.before, first.id) as string });
    return { messages: page.rows, complete: !page.more, count, index };
  }

  /** The owner's oldest and newest messages (XEP-0313 archive metadata). */
  async bounds(ownerId: string): Promise<{ first?: ArchivedMessage; last?: ArchivedMessage }> {
    await this.flush();
    const filter = this.#filter(ownerId, {});
    const [oldest, newest] = await Promise.all([
      this.store.queryArchive(filter, 1, false),
      this.store.queryArchive(filter, 1, true),
    ]);
    const first = oldest.rows[0];
    const last = newest.rows[0];
    return { ...(first ? { first } : {}), ...(last ? { last } : {}) };
  }

  async prefs(ownerId: string): Promise<ArchivePrefs> {
    const raw = (await this.store.getProperties(ownerId, [PREFS_PROPERTY]))[PREFS_PROPERTY];
    if (raw !== undefined) {
      try {
        return JSON.parse(raw) as ArchivePrefs;
      } catch {
        // A damaged value reads as the default.
      }
    }
    return { default: 'always', always: [], never: [] };
  }

  /** Keeps the owner's preferences. Throws `conflict` when they are too large to keep. */
  async setPrefs(ownerId: string, prefs: ArchivePrefs): Promise<void> {
    const value = JSON.stringify(prefs);
    if (Buffer.byteLength(value) > MAX_PREFS_BYTES) {
      throw new PapillonError('conflict', `archive preferences are limited to ${MAX_PREFS_BYTES} bytes`);
    }
    await this.store.setProperty(ownerId, PREFS_PROPERTY, value);
  }

  /** The search as a store filter (times become id bounds), never reaching past retention. */
  #filter(ownerId: string, search: ArchiveSearch): ArchiveFilter & { after: string } {
    const oldest = this.#clock() - this.#retentionMs;
    const start = timeKey(Math.max(search.start ?? oldest, oldest));
    const filter: ArchiveFilter & { after: string } = {
      ownerId,
      after: highest(start, search.afterId) as string,
    };
    const before = lowest(search.end === undefined ? undefined : timeKey(search.end + 1), search.beforeId);
    if (before !== undefined) filter.before = before;
    if (search.peer !== undefined) filter.peer = search.peer;
    if (search.ids !== undefined) filter.ids = search.ids;
    return filter;
  }

  async #write(messages: NewArchiveMessage[]): Promise<void> {
    try {
      await this.#insert(messages);
      const now = this.#clock();
      if (this.#purge.due(now)) await this.store.purgeArchive(timeKey(now - this.#retentionMs));
    } catch (err) {
      this.#onError(err);
    }
  }

  async #insert(messages: NewArchiveMessage[]): Promise<void> {
    try {
      await this.store.appendArchive(messages);
    } catch (err) {
      if (!isPapillonError(err, 'no-such-account')) throw err;
      // An account deleted meanwhile fails the whole batch: the others' messages still go in.
      for (const message of messages) {
        await this.store.appendArchive([message]).catch((e: unknown) => {
          if (!isPapillonError(e, 'no-such-account')) throw e;
        });
      }
    }
  }
}

/** The next turn of the event loop, after the I/O waiting now. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

let sequence = 0;
/** Random bytes drawn 4 KiB at a time: one call per message would cost more than the rest of the id. */
const pool = Buffer.alloc(4096);
let poolUsed = pool.length;

/**
 * An archive id: the time (9 base-36 digits, so ids sort by time and a time is an id
 * bound), this process's count (4, for the messages of one millisecond), then 10 random
 * characters (XEP-0313 "Message archives": unpredictable). Lower-case letters and digits
 * only, so every database collation sorts them as JavaScript does.
 */
function newArchiveId(at: number): string {
  sequence = (sequence + 1) % 36 ** 4;
  if (poolUsed + 10 > pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  let random = '';
  for (let i = 0; i < 10; i++) random += ((pool[poolUsed + i] as number) % 36).toString(36);
  poolUsed += 10;
  return `${timeKey(at)}${sequence.toString(36).padStart(4, '0')}${random}`;
}

/** The id bound of a time: below every id of that time or later, above every earlier one. */
function timeKey(at: number): string {
  return Math.max(0, Math.floor(at)).toString(36).padStart(9, '0');
}

function highest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  return b === undefined || a > b ? a : b;
}

function lowest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  return b === undefined || a < b ? a : b;
}
