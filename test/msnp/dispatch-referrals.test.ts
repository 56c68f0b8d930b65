import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryRateStore, type RateStore } from '../../src/core/rate-store.ts';
import { DispatchReferrals } from '../../src/msnp/dispatch.ts';

/** A store that is not the one-process one, as the Redis store of a cluster is not. */
function sharedStore(clock: () => number): RateStore {
  const inner = new MemoryRateStore({ clock });
  return {
    increment: (key, by, ttlMs, options) => inner.increment(key, by, ttlMs, options),
    read: (key) => inner.read(key),
    reset: (key) => inner.reset(key),
    close: () => inner.close(),
  };
}

describe('DispatchReferrals', () => {
  it('refers a login once, then lets the referred login through', async () => {
    let now = 0;
    const clock = () => now;
    const referrals = new DispatchReferrals(new MemoryRateStore({ clock }), { clock });
    assert.equal(await referrals.shouldRefer('10.0.0.1', 'a@localhost'), true);
    assert.equal(await referrals.shouldRefer('10.0.0.1', 'A@localhost'), false);
    now = 1;
    assert.equal(await referrals.shouldRefer('10.0.0.1', 'a@localhost'), true);
    now = 200_000;
    assert.equal(await referrals.shouldRefer('10.0.0.1', 'a@localhost'), true, 'the referral expired');
    assert.equal(await referrals.shouldRefer('10.0.0.2', 'a@localhost'), true, 'another address');
  });

  it('remembers at most 10,000 referrals on one node, however fast `USR … I` comes (issue 13)', async () => {
    const clock = () => 0;
    const limits = new MemoryRateStore({ clock });
    const referrals = new DispatchReferrals(limits, { clock });
    for (let i = 0; i < 50_000; i++) await referrals.shouldRefer('10.0.0.1', `user${i}@localhost`);
    const size = (referrals as unknown as { store: MemoryRateStore }).store.size;
    assert.ok(size <= 10_000, `${size} referrals kept`);
    assert.equal(limits.size, 0, 'the login throttles’ store is left alone');
    // The newest are the ones kept.
    assert.equal(await referrals.shouldRefer('10.0.0.1', 'user49999@localhost'), false);
  });

  it('a referral made by one node is remembered by another on the same shared store (issue 11)', async () => {
    let now = 0;
    const store = sharedStore(() => now);
    const nodeA = new DispatchReferrals(store);
    const nodeB = new DispatchReferrals(store);
    assert.equal(await nodeA.shouldRefer('10.0.0.1', 'a@localhost'), true);
    assert.equal(await nodeB.shouldRefer('10.0.0.1', 'a@localhost'), false, 'accepted on the other node');
    assert.equal(await nodeA.shouldRefer('10.0.0.1', 'a@localhost'), true, 'a later login is referred again');
    now = 200_000;
    assert.equal(await nodeB.shouldRefer('10.0.0.1', 'a@localhost'), true, 'the referral expired');
  });
});
