import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { LocalBus } from '../../src/bus/local.ts';
import { createCore } from '../../src/core/core.ts';
import type { Relationships } from '../../src/core/relationships.ts';
import { KyselyStore } from '../../src/store/kysely/kysely-store.ts';
import type { Database } from '../../src/store/schema.ts';
import type { PasswordCredentials, Store } from '../../src/store/types.ts';
import { newId } from '../../src/util/ids.ts';

/**
 * Issue 14: what a roster get (RFC 6121 §2.1.3) reads — `Relationships.snapshot`, which
 * is also what initial presence reads — must stay proportional to the user's own list,
 * not to the server. Before, the rows others keep about the user came with their group
 * memberships through `contact_id = ?` on group_member, whose key begins with owner_id:
 * every roster get read every membership on the server (~30 ms at 100,000). The
 * statements are checked with SQLite's query planner rather than timed.
 */
/** Never checked here: the accounts only hold lists. */
const CREDENTIALS: PasswordCredentials = {
  argon2: '',
  scramSha1: { salt: 'c2FsdA==', iterations: 4096, storedKey: 'a', serverKey: 'b' },
  scramSha256: { salt: 'c2FsdA==', iterations: 4096, storedKey: 'a', serverKey: 'b' },
  md5Salt: '',
  md5Digest: '',
};

describe('roster reads (SQLite query plans)', () => {
  let raw: BetterSqlite3.Database;
  let store: Store;
  let relationships: Relationships;
  let bus: LocalBus;
  const statements: { sql: string; parameters: readonly unknown[] }[] = [];
  let recording = false;

  const account = async (name: string) =>
    store.createAccount(
      { id: newId(), handle: `${name}@example.test`, displayName: name, privacy: 'allow-list', createdAt: 1 },
      CREDENTIALS,
    );

  /** `user` and `count` mutual contacts, each filed by both sides in a group, as clients do. */
  async function userWithContacts(name: string, count: number): Promise<string> {
    const user = await account(name);
    const mine = (await store.createGroup(user.id, newId(), 'Friends')).value;
    for (let i = 0; i < count; i++) {
      const contact = await account(`${name}-contact${i}`);
      const theirs = (await store.createGroup(contact.id, newId(), 'Friends')).value;
      const both = { forward: true, allow: true, noticed: true };
      await store.updateRelationship(user.id, contact.id, both);
      await store.updateRelationship(contact.id, user.id, both);
      await store.addToGroup(user.id, contact.id, mine.id);
      await store.addToGroup(contact.id, user.id, theirs.id);
    }
    return user.id;
  }

  /** The statements `snapshot` runs for `userId`, and the snapshot. */
  async function snapshotStatements(userId: string) {
    statements.length = 0;
    recording = true;
    const snapshot = await relationships.snapshot(userId);
    recording = false;
    return { snapshot, statements: [...statements] };
  }

  /** The tables a statement reads from start to end (`SCAN t`), per SQLite's planner. */
  function fullScans(statement: { sql: string; parameters: readonly unknown[] }): string[] {
    const plan = raw
      .prepare(`explain query plan ${statement.sql}`)
      .all(...(statement.parameters as unknown[])) as { detail: string }[];
    return plan.map((row) => /^SCAN (\w+)/.exec(row.detail)?.[1]).filter((t): t is string => t !== undefined);
  }

  before(async () => {
    raw = new BetterSqlite3(':memory:');
    raw.pragma('foreign_keys = ON');
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: raw }),
      log: (event) => {
        if (recording && event.level === 'query')
          statements.push({ sql: event.query.sql, parameters: event.query.parameters });
      },
    });
    store = new KyselyStore(db, 'sqlite');
    await store.migrate();
    bus = new LocalBus();
    relationships = createCore(store, bus).relationships;
  });

  after(async () => {
    await bus.close();
    await store.close();
  });

  it('reads no table whole, and as many statements for 50 contacts as for 5', async () => {
    // Others on the server with their own grouped contacts: what a scan would read too.
    await userWithContacts('other', 30);
    const five = await snapshotStatements(await userWithContacts('small', 5));
    const fifty = await snapshotStatements(await userWithContacts('large', 50));

    assert.equal(five.snapshot.contacts.length, 5);
    assert.equal(fifty.snapshot.contacts.length, 50);
    // The user's own groups still come with every item, and the contacts' side is read.
    assert.ok(fifty.snapshot.contacts.every((c) => c.groupIds.length === 1 && c.theirs.forward));
    assert.ok(fifty.snapshot.contacts.every((c) => c.derived.subscription === 'both'));

    assert.equal(fifty.statements.length, five.statements.length, 'statements per roster read');
    for (const statement of fifty.statements)
      assert.deepEqual(fullScans(statement), [], `a full scan in: ${statement.sql}`);
  });
});
