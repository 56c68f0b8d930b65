import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DispatchReferrals } from '../../src/msnp/dispatch.ts';

describe('DispatchReferrals', () => {
  it('refers a login once, then lets the referred login through', () => {
    let now = 0;
    const referrals = new DispatchReferrals(120_000, () => now);
    assert.equal(referrals.shouldRefer('10.0.0.1', 'a@localhost'), true);
    assert.equal(referrals.shouldRefer('10.0.0.1', 'A@localhost'), false);
    now = 1;
    assert.equal(referrals.shouldRefer('10.0.0.1', 'a@localhost'), true);
    now = 200_000;
    assert.equal(referrals.shouldRefer('10.0.0.1', 'a@localhost'), true, 'the referral expired');
  });

  it('remembers at most 10,000 referrals, however fast `USR … I` comes (issue 13)', () => {
    const referrals = new DispatchReferrals(120_000, () => 0);
    for (let i = 0; i < 50_000; i++) referrals.shouldRefer('10.0.0.1', `user${i}@localhost`);
    const size = (referrals as unknown as { referred: Map<string, number> }).referred.size;
    assert.ok(size <= 10_000, `${size} referrals kept`);
    // The newest are the ones kept.
    assert.equal(referrals.shouldRefer('10.0.0.1', 'user49999@localhost'), false);
  });
});
