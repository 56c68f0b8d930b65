import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { RateStore } from '../../src/core/rate-store.ts';

/**
 * What every RateStore (memory, Redis) must do. `open` returns two handles on one set of
 * counters: two nodes of a cluster (for memory, the same store twice).
 */
export function rateStoreContract(
  name: string,
  open: () => Promise<{ a: RateStore; b: RateStore; cleanup: () => Promise<void> }>,
) {
  const key = () => `test:${randomBytes(6).toString('hex')}`;
  const using = async (run: (a: RateStore, b: RateStore) => Promise<void>) => {
    const { a, b, cleanup } = await open();
    try {
      await run(a, b);
    } finally {
      await cleanup();
    }
  };

  describe(`RateStore contract: ${name}`, () => {
    it('counts from nothing, keeping the first expiry unless asked to slide it', () =>
      using(async (a) => {
        const k = key();
        assert.deepEqual(await a.read(k), { count: 0, ttlMs: 0 });
        const first = await a.increment(k, 1, 60_000);
        assert.equal(first.count, 1);
        assert.ok(first.ttlMs > 50_000 && first.ttlMs <= 60_000, `ttl ${first.ttlMs}`);
        const second = await a.increment(k, 2, 3_600_000);
        assert.equal(second.count, 3);
        assert.ok(second.ttlMs <= 60_000, 'an existing counter kept its expiry');
        const slid = await a.increment(k, 1, 3_600_000, { slide: true });
        assert.equal(slid.count, 4);
        assert.ok(slid.ttlMs > 60_000, 'slide restarts the lifetime');
        const read = await a.read(k);
        assert.equal(read.count, 4);
        assert.ok(read.ttlMs > 60_000 && read.ttlMs <= 3_600_000);
      }));

    it('deletes a counter that falls to 0 or below, and on reset', () =>
      using(async (a) => {
        const k = key();
        await a.increment(k, 2, 60_000);
        assert.equal((await a.increment(k, -1, 60_000)).count, 1);
        assert.deepEqual(await a.increment(k, -1, 60_000), { count: 0, ttlMs: 0 });
        assert.deepEqual(await a.read(k), { count: 0, ttlMs: 0 });
        // Giving back what was never taken (its counter expired meanwhile) leaves nothing below 0.
        assert.deepEqual(await a.increment(k, -1, 60_000), { count: 0, ttlMs: 0 });
        assert.equal((await a.increment(k, 1, 60_000)).count, 1);
        await a.increment(k, 5, 60_000);
        await a.reset(k);
        assert.deepEqual(await a.read(k), { count: 0, ttlMs: 0 });
        await a.reset(key()); // an absent counter: no error
      }));

    it('forgets a counter when its lifetime ends', () =>
      using(async (a) => {
        const k = key();
        await a.increment(k, 1, 40);
        const until = Date.now() + 10_000;
        while ((await a.read(k)).count !== 0) {
          assert.ok(Date.now() < until, 'the counter never expired');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.equal((await a.increment(k, 1, 60_000)).count, 1, 'a fresh count after expiry');
      }));

    it('shares counters between nodes, every increment counted once under concurrency', () =>
      using(async (a, b) => {
        const k = key();
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).increment(k, 1, 60_000)),
        );
        const counts = results.map((r) => r.count).sort((x, y) => x - y);
        assert.deepEqual(
          counts,
          Array.from({ length: 200 }, (_, i) => i + 1),
        );
        assert.equal((await b.read(k)).count, 200);
        await a.reset(k);
        assert.equal((await b.read(k)).count, 0);
      }));

    it('applies the operations of one node in the order they were called', () =>
      using(async (a) => {
        const k = key();
        // Not awaited one by one: the reads must see the increments called before them.
        const [, read1, , read2] = await Promise.all([
          a.increment(k, 1, 60_000),
          a.read(k),
          a.increment(k, 1, 60_000),
          a.read(k),
        ]);
        assert.equal(read1.count, 1);
        assert.equal(read2.count, 2);
      }));
  });
}
