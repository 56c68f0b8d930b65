import { openPostgresStore } from '../store/postgres/postgres-store.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Store } from '../store/types.ts';
import { type Config, databaseTarget, maskUrlPassword } from './config.ts';
import { prepareDataDir } from './data-dir.ts';

/** Opens the configured store and brings its schema up to date. */
export async function openStore(config: Config): Promise<{ store: Store; applied: string[]; where: string }> {
  const target = databaseTarget(config);
  prepareDataDir(config);
  const store =
    target.kind === 'postgres' ? await openPostgresStore(target.url) : await openSqliteStore(target.path);
  try {
    const applied = await store.migrate();
    const where = target.kind === 'postgres' ? maskUrlPassword(target.url) : target.path;
    return { store, applied, where };
  } catch (err) {
    await store.close();
    throw err;
  }
}
