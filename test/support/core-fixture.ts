import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalBus } from '../../src/bus/local.ts';
import { type Core, createCore } from '../../src/core/core.ts';
import type { DomainEvent } from '../../src/core/events.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

export interface CoreFixture {
  core: Core;
  dir: string;
  file: string;
  close(): Promise<void>;
}

/** A core on a real SQLite file in a fresh temporary directory, with the local bus. */
export async function coreFixture(): Promise<CoreFixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'papillon-core-'));
  const file = path.join(dir, 'papillon.sqlite');
  const store = await openSqliteStore(file);
  await store.migrate();
  const bus = new LocalBus();
  const core = createCore(store, bus);
  return {
    core,
    dir,
    file,
    async close() {
      await bus.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Records the domain events addressed to one account. */
export async function recordEvents(core: Core, accountId: string) {
  const events: DomainEvent[] = [];
  const sub = await core.events.subscribe(accountId, (e) => events.push(e));
  return {
    events,
    of<T extends DomainEvent['type']>(type: T): Extract<DomainEvent, { type: T }>[] {
      return events.filter((e): e is Extract<DomainEvent, { type: T }> => e.type === type);
    },
    clear() {
      events.length = 0;
    },
    stop: () => sub.unsubscribe(),
  };
}

/** Lets queued bus deliveries run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
