import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey, LoginThrottle } from '../../src/core/login-throttle.ts';

function throttle(
  options: { maxFailures?: number; windowMs?: number; lockoutMs?: number; maxKeys?: number } = {},
) {
  const clock = { now: 1_000_000 };
  const t = new LoginThrottle({ ...options, clock: () => clock.now });
  return { t, clock };
}

describe('login throttle', () => {
  it('locks a key after maxFailures failures within the window, for lockoutMs', () => {
    const { t, clock } = throttle({ maxFailures: 3, windowMs: 60_000, lockoutMs: 30_000 });
    for (let i = 0; i < 3; i += 1) {
      assert.equal(t.check('1.2.3.4'), true, `attempt ${i + 1}`);
      t.fail('1.2.3.4');
    }
    assert.equal(t.check('1.2.3.4'), false);
    assert.equal(t.lockedFor('1.2.3.4'), 30_000);
    // Other keys are unaffected.
    assert.equal(t.check('5.6.7.8'), true);
    t.succeed('5.6.7.8');
    clock.now += 29_999;
    assert.equal(t.check('1.2.3.4'), false);
    clock.now += 1;
    assert.equal(t.lockedFor('1.2.3.4'), 0);
    assert.equal(t.check('1.2.3.4'), true);
  });

  it('forgets failures once their window has passed', () => {
    const { t, clock } = throttle({ maxFailures: 3, windowMs: 60_000 });
    for (let i = 0; i < 2; i += 1) {
      t.check('k');
      t.fail('k');
    }
    clock.now += 60_000;
    for (let i = 0; i < 2; i += 1) {
      assert.equal(t.check('k'), true);
      t.fail('k');
    }
    assert.equal(t.check('k'), true);
  });

  it('does not let a success wipe earlier failures (a guesser with an account of its own)', () => {
    const { t } = throttle({ maxFailures: 3 });
    t.check('k');
    t.fail('k');
    t.check('k');
    t.fail('k');
    t.check('k');
    t.succeed('k');
    assert.equal(t.check('k'), true);
    t.fail('k');
    assert.equal(t.check('k'), false);
  });

  it('reserves attempts, so a parallel burst is cut off at maxFailures', () => {
    const { t } = throttle({ maxFailures: 5 });
    const allowed = Array.from({ length: 100 }, () => t.check('burst')).filter(Boolean).length;
    assert.equal(allowed, 5);
    for (let i = 0; i < 5; i += 1) t.fail('burst');
    assert.equal(t.check('burst'), false);
  });

  it('runs the check under attempt(): ok, failed, throttled (without running it), errors pass through', async () => {
    const { t } = throttle({ maxFailures: 2 });
    assert.deepEqual(await t.attempt('k', async () => 'account'), { status: 'ok', value: 'account' });
    await assert.rejects(
      t.attempt('k', async () => {
        throw new Error('store down');
      }),
      /store down/,
    );
    assert.deepEqual(await t.attempt('k', async () => undefined), { status: 'failed' });
    assert.deepEqual(await t.attempt('k', async () => undefined), { status: 'failed' });
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

  it('keeps memory bounded under a flood of keys', () => {
    const { t, clock } = throttle({ maxKeys: 100, maxFailures: 2 });
    for (let i = 0; i < 10_000; i += 1) {
      t.check(`10.0.${i >> 8}.${i & 255}`);
      t.fail(`10.0.${i >> 8}.${i & 255}`);
      if (i % 1000 === 0) clock.now += 1;
    }
    assert.ok(t.size <= 100, `size ${t.size}`);
    // A recent key is still tracked and throttled.
    const key = 'victim';
    t.check(key);
    t.fail(key);
    t.check(key);
    t.fail(key);
    assert.equal(t.check(key), false);
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
