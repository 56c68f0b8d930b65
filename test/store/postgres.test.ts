import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { dropArgon2MigrationTest } from '../contract/drop-argon2.migration.ts';
import { storeContract } from '../contract/store.contract.ts';

/** e.g. postgres://postgres@127.0.0.1:5432/test; the tests create and drop their own schemas. */
const url = process.env.PAPILLON_TEST_DATABASE_URL;

if (url === undefined || url === '') {
  it('Store contract: postgres', { skip: 'PAPILLON_TEST_DATABASE_URL not set' }, () => {});
} else {
  /** Runs `text` on a connection of its own, outside the store. */
  const query = async (text: string, values: unknown[] = []): Promise<void> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(text, values);
    } finally {
      await client.end();
    }
  };
  const open = async () => {
    // Each opening gets its own throwaway schema, so runs never see each other's rows.
    const schema = `papillon_test_${randomBytes(8).toString('hex')}`;
    const store = await openPostgresStore(url, { schema });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await query(`drop schema if exists "${schema}" cascade`);
      },
      forgetMigration: (name: string) =>
        query(`delete from "${schema}".kysely_migration where name = $1`, [name]),
    };
  };
  storeContract('postgres', open);
  dropArgon2MigrationTest('postgres', open);
}
