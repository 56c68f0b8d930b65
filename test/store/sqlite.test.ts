import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { newId } from '../../src/util/ids.ts';
import { dropArgon2MigrationTest } from '../contract/drop-argon2.migration.ts';
import { storeContract } from '../contract/store.contract.ts';

/** Every migration, in the order a new database applies them (numbers 0007–0009 and 0012 were never used). */
const ALL_MIGRATIONS = [
  '0001-initial',
  '0002-login-ticket',
  '0003-account-property',
  '0004-oauth',
  '0005-account-picture',
  '0006-ticket-proof-key',
  '0010-relationship-noticed',
  '0011-circle',
  '0013-private-xml',
  '0014-pep',
  '0015-message-archive',
  '0016-relationship-listed',
  '0017-credential-legacy-hash',
  '0018-signup-invite',
  '0019-offline-lease',
  '0020-credential-drop-argon2',
];

const credentials = {
  argon2: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
  scramSha1: { salt: 'c2FsdA==', iterations: 4096, storedKey: 'c3Rvcg==', serverKey: 'c2Vydg==' },
  scramSha256: { salt: 'c2FsdDI=', iterations: 4096, storedKey: 'c3RvcjI=', serverKey: 'c2VydjI=' },
  md5Salt: 'salt',
  md5Digest: '0123456789abcdef0123456789abcdef',
};

/** A temporary directory, removed with everything in it by the returned function. */
async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'papillon-sqlite-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

storeContract('sqlite', async () => {
  const { dir, remove } = await tempDir();
  // A nested path: the opener creates missing parent directories.
  const store = await openSqliteStore(join(dir, 'data', 'papillon.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await remove();
    },
  };
});

dropArgon2MigrationTest('sqlite', async () => {
  const { dir, remove } = await tempDir();
  const path = join(dir, 'papillon.db');
  const store = await openSqliteStore(path);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await remove();
    },
    async forgetMigration(name: string) {
      const raw = new BetterSqlite3(path);
      try {
        raw.prepare('delete from kysely_migration where name = ?').run(name);
      } finally {
        raw.close();
      }
    },
  };
});

describe('SQLite store file', () => {
  let dir: string;
  let remove: () => Promise<void>;
  before(async () => {
    ({ dir, remove } = await tempDir());
  });
  after(async () => {
    await remove();
  });

  it('puts the database in WAL mode with foreign keys enforced', async () => {
    const path = join(dir, 'wal.db');
    const store = await openSqliteStore(path);
    await store.migrate();
    await store.close();
    // WAL is a property of the file, so a plain connection sees it.
    const raw = new BetterSqlite3(path, { readonly: true });
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      const fks = raw.prepare("select count(*) as n from pragma_foreign_key_list('relationship')").get() as {
        n: number;
      };
      assert.equal(fks.n, 2);
    } finally {
      raw.close();
    }
  });

  it('keeps data across close and reopen', async () => {
    const path = join(dir, 'reopen.db');
    const account = {
      id: newId(),
      handle: 'reopen@example.test',
      displayName: 'Reopen',
      privacy: 'allow-all' as const,
      createdAt: 1_700_000_000_000,
    };
    const contactId = newId();
    const groupId = newId();
    const message = {
      id: newId(),
      recipientId: account.id,
      senderHandle: 'x@example.test',
      payload: '{}',
      sentAt: 5,
    };

    const first = await openSqliteStore(path);
    assert.deepEqual(await first.migrate(), ALL_MIGRATIONS);
    await first.createAccount(account, credentials);
    await first.createAccount({ ...account, id: contactId, handle: 'contact@example.test' }, credentials);
    await first.createGroup(account.id, groupId, 'Friends');
    await first.updateRelationship(account.id, contactId, { forward: true, nickname: 'C' });
    await first.addToGroup(account.id, contactId, groupId);
    await first.enqueueOffline(message);
    assert.equal(await first.getOrCreateSetting('secret', () => 'kept'), 'kept');
    await first.close();

    const second = await openSqliteStore(path);
    try {
      assert.deepEqual(await second.migrate(), []);
      assert.deepEqual(await second.getAccountById(account.id), {
        ...account,
        listVersion: 3,
        picture: null,
      });
      assert.deepEqual(await second.getCredentials(account.id), credentials);
      const relationship = await second.getRelationship(account.id, contactId);
      assert.equal(relationship?.nickname, 'C');
      assert.deepEqual(relationship?.groupIds, [groupId]);
      assert.equal(await second.getOrCreateSetting('secret', () => 'replaced'), 'kept');
      assert.deepEqual(await second.listOffline(account.id), [
        { ...message, deliveredAt: null, leasedUntil: null },
      ]);
    } finally {
      await second.close();
    }
  });

  it('opens an in-memory database', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      assert.deepEqual(await store.migrate(), ALL_MIGRATIONS);
      assert.deepEqual(await store.listAccounts(), []);
      const account = {
        id: newId(),
        handle: 'm@example.test',
        displayName: 'M',
        privacy: 'allow-list' as const,
        createdAt: 1,
      };
      await store.createAccount(account, credentials);
      assert.deepEqual(await store.listAccounts(), [{ ...account, listVersion: 0, picture: null }]);
    } finally {
      await store.close();
    }
  });
});
