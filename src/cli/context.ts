import type { Command } from 'commander';
import { LocalBus } from '../bus/local.ts';
import { type Core, createCore } from '../core/core.ts';
import { type Config, loadConfig } from '../server/config.ts';
import { openStore } from '../server/open-store.ts';

export function configOf(command: Command): Config {
  const { config } = command.optsWithGlobals<{ config?: string }>();
  return loadConfig({ file: config });
}

/**
 * Runs `fn` with a core on the configured store (migrated), for one-shot admin
 * commands. The bus is a local one: a running server on the same store learns of
 * changes on its next read (a shared Redis bus will tell it at once).
 */
export async function withCore<T>(
  command: Command,
  fn: (core: Core, config: Config) => Promise<T>,
): Promise<T> {
  const config = configOf(command);
  const { store } = await openStore(config);
  const bus = new LocalBus('cli');
  try {
    return await fn(createCore(store, bus), config);
  } finally {
    await bus.close();
    await store.close();
  }
}
