import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey, LoginThrottle } from '../../src/core/login-throttle.ts';
import { MemoryRateStore } from '../../src/core/rate-store.ts';

function throttle(options: { maxFailures?: number; windowMs?: number; lockoutMs?: number } = {}) {
  const clock = { now: 1_000_000 };
  const store = new MemoryRateStore({ clock: () => clock.now });
  const t = new LoginThrottle(store, { name: 'test', ...options });
  return { t, clock, store };
}

const wrong = async () => undefined;
const right = async () => 'account';

describe('login throttle', () => {
  it('locks a key after maxFailures failures within the window, for lockoutMs', async () => {
    const { t, clock } = throttle({ maxFailures: 3, windowMs: 60_000, lockoutMs: 30_000 });
    for (let i = 0; i < 3; i += 1) {
      assert.deepEqual(await t.attempt('1.2.3.4', wrong), { status: 'failed' }, `attempt ${i + 1}`);
    }
    assert.deepEqual(await t.attempt('1.2.3.4', right), { status: 'throttled' });
    assert.equal(await t.lockedFor('1.2.3.4'), 30_000);
    // Other keys are unaffected.
    assert.deepEqual(await t.attempt('5.6.7.8', right), { status: 'ok', value: 'account' });
    clock.now += 29_999;
    assert.deepEqual(await t.attempt('1.2.3.4', right), { status: 'throttled' });
    clock.now += 1;
    assert.equal(await t.lockedFor('1.2.3.4'), 0);
    assert.deepEqual(await t.attempt('1.2.3.4', right), { status: 'ok', value: 'account' });
  });

  it('forgets failures once their window has passed', async () => {
    const { t, clock } = throttle({ maxFailures: 3, windowMs: 60_000 });
    await t.fail('k');
    await t.fail('k');
    clock.now += 60_000;
    assert.equal(await t.failures('k'), 0);
    await t.fail('k');
    await t.fail('k');
    assert.equal(await t.lockedFor('k'), 0);
  });

  it('does not let a success wipe earlier failures (a guesser with an account of its own)', async () => {
    const { t } = throttle({ maxFailures: 3 });
    await t.attempt('k', wrong);
    await t.attempt('k', wrong);
    await t.attempt('k', right);
    await t.attempt('k', wrong);
    assert.deepEqual(await t.attempt('k', right), { status: 'throttled' });
  });

  it('counts only failures: a burst of right answers from one key all pass', async () => {
    const { t } = throttle({ maxFailures: 5 });
    const results = await Promise.all(Array.from({ length: 100 }, () => t.attempt('nat', right)));
    assert.ok(results.every((r) => r.status === 'ok'));
  });

  it('strict: counts attempts in flight, so a parallel burst is cut off at maxFailures', async () => {
    const { t } = throttle({ maxFailures: 5 });
    let checked = 0;
    const slowWrong = async () => {
      checked += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return undefined;
    };
    const results = await Promise.all(
      Array.from({ length: 100 }, () => t.attempt('burst', slowWrong, { strict: true })),
    );
    assert.equal(checked, 5);
    assert.equal(results.filter((r) => r.status === 'failed').length, 5);
    assert.ok((await t.lockedFor('burst')) > 0);
  });

  it('runs the check under attempt(): errors pass through and count as nothing', async () => {
    const { t } = throttle({ maxFailures: 2 });
    for (const strict of [false, true]) {
      await assert.rejects(
        t.attempt(
          'k',
          async () => {
            throw new Error('store down');
          },
          { strict },
        ),
        /store down/,
      );
    }
    assert.equal(await t.failures('k'), 0);
    assert.deepEqual(await t.attempt('k', wrong, { strict: true }), { status: 'failed' });
    assert.deepEqual(await t.attempt('k', wrong, { strict: true }), { status: 'failed' });
    let ran = false;
    assert.deepEqual(
      await t.attempt('k', async () => {
        ran = true;
        return 'account';
      }),
      { status: 'throttled' },
    );
    assert.equal(ran, false);
  });
});

describe('addressKey', () => {
  it('keys IPv4 by address and IPv6 by /64', () => {
    assert.equal(addressKey('192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2::9'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0db8:0001:0002:ffff::'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey(undefined), 'unknown');
  });
});
