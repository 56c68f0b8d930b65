/**
 * Migration 0020 (issue 14) on a backend: it empties the argon2 hash of every account
 * that has SCRAM-SHA-256 keys, and keeps it where it is still the only way to check a
 * password. A backend's test file calls it with an opener and a way to make the store
 * forget it ran that migration (as a database from before it).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { PasswordCredentials } from '../../src/store/types.ts';
import { newId } from '../../src/util/ids.ts';
import type { OpenedStore } from './store.contract.ts';

export const DROP_ARGON2_MIGRATION = '0020-credential-drop-argon2';

const ARGON2 = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';

function forms(overrides: Partial<PasswordCredentials> = {}): PasswordCredentials {
  return {
    argon2: ARGON2,
    scramSha1: { salt: 'c2FsdA==', iterations: 4096, storedKey: 'c3Rvcg==', serverKey: 'c2Vydg==' },
    scramSha256: { salt: 'c2FsdDI=', iterations: 4096, storedKey: 'c3RvcjI=', serverKey: 'c2VydjI=' },
    md5Salt: '1013928519.693957190',
    md5Digest: '0123456789abcdef0123456789abcdef',
    ...overrides,
  };
}

export function dropArgon2MigrationTest(
  name: string,
  open: () => Promise<OpenedStore & { forgetMigration(migration: string): Promise<void> }>,
): void {
  it(`${name}: migration 0020 empties argon2 where SCRAM-SHA-256 keys exist, and only there`, async () => {
    const opened = await open();
    const { store } = opened;
    try {
      await store.migrate();
      const make = async (handle: string, credentials: PasswordCredentials) =>
        (
          await store.createAccount(
            { id: newId(), handle, displayName: handle, privacy: 'allow-all', createdAt: 1 },
            credentials,
          )
        ).id;
      const withScram = await make('scram@example.test', forms());
      const argon2Only = await make(
        'argon2only@example.test',
        forms({ scramSha256: { salt: 'c2FsdDI=', iterations: 4096, storedKey: '', serverKey: '' } }),
      );
      const legacy = await make(
        'legacy@example.test',
        forms({ legacyHash: 'pbkdf2_sha256$1000$salt$aGFzaA==' }),
      );
      const none = await make('none@example.test', forms({ argon2: '' }));

      // A database from before the migration: its rows hold argon2 hashes.
      await opened.forgetMigration(DROP_ARGON2_MIGRATION);
      assert.deepEqual(await store.migrate(), [DROP_ARGON2_MIGRATION]);

      assert.deepEqual(await store.getCredentials(withScram), forms({ argon2: '' }));
      assert.equal((await store.getCredentials(argon2Only))?.argon2, ARGON2);
      assert.equal((await store.getCredentials(legacy))?.argon2, ARGON2);
      assert.deepEqual(await store.getCredentials(none), forms({ argon2: '' }));
      assert.deepEqual(await store.migrate(), []);
    } finally {
      await opened.cleanup();
    }
  });
}
