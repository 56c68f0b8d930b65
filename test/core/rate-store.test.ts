import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MemoryRateStore } from '../../src/core/rate-store.ts';
import { rateStoreContract } from '../contract/rate-store.contract.ts';

// One process is one node: both "nodes" of the contract are the same store.
rateStoreContract('memory', async () => {
  const store = new MemoryRateStore();
  return { a: store, b: store, cleanup: () => store.close() };
});

it('MemoryRateStore stays bounded under a flood of keys, keeping the newest', async () => {
  const clock = { now: 1_000_000 };
  const store = new MemoryRateStore({ maxKeys: 100, clock: () => clock.now });
  for (let i = 0; i < 10_000; i += 1) {
    await store.increment(`10.0.${i >> 8}.${i & 255}`, 1, 60_000);
    if (i % 1000 === 0) clock.now += 1;
  }
  assert.ok(store.size <= 100, `size ${store.size}`);
  assert.equal((await store.read('10.0.39.15')).count, 1, 'the last key is still counted');
});
