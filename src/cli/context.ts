import type { Command } from 'commander';
import { LocalBus } from '../bus/local.ts';
import { type Core, createCore } from '../core/core.ts';
import { type Config, configFileOf, loadConfig } from '../server/config.ts';
import { requireExistingDatabase } from '../server/data-dir.ts';
import { openStore } from '../server/open-store.ts';

export function configOf(command: Command): Config {
  const { config } = command.optsWithGlobals<{ config?: string }>();
  return loadConfig({ file: configFileOf(config) });
}

/**
 * Runs `fn` with a core on the configured store (migrated), for one-shot admin
 * commands. The bus is a local one: a running server on the same store learns of
 * changes on its next read (a shared Redis bus will tell it at once).
 * Unless `create` (commands that add data), the database must already exist: a CLI
 * pointed at the wrong place says where it looked instead of making an empty one.
 */
export async function withCore<T>(
  command: Command,
  fn: (core: Core, config: Config) => Promise<T>,
  options: { create?: boolean } = {},
): Promise<T> {
  const config = configOf(command);
  if (!options.create) requireExistingDatabase(config);
  const { store } = await openStore(config);
  const bus = new LocalBus('cli');
  try {
    // Passwords set here get the forms the server keeps (no MD5 form with legacyMd5Login off).
    return await fn(createCore(store, bus, { legacyMd5Login: config.legacyMd5Login }), config);
  } finally {
    await bus.close();
    await store.close();
  }
}
