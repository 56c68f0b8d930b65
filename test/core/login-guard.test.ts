import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginGuard } from '../../src/core/login-guard.ts';
import { MemoryRateStore } from '../../src/core/rate-store.ts';

const NAT = '198.51.100.7';

/** A password check that takes a moment, so attempts sent together overlap. */
function checker(passwords: Record<string, string>) {
  const stats = { checked: 0, inFlight: 0, maxInFlight: 0 };
  const check = (handle: string, password: string) => async () => {
    stats.checked += 1;
    stats.inFlight += 1;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5));
    stats.inFlight -= 1;
    return passwords[handle] === password ? handle : undefined;
  };
  return { stats, check };
}

const accounts = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`user${i}@localhost`, `password ${i}`]));

describe('login guard', () => {
  it('lets a burst of right passwords from one address through, many accounts at once (a NAT after a restart)', async () => {
    const guard = new LoginGuard();
    const { check } = checker(accounts(200));
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        guard.attempt(NAT, `user${i}@localhost`, check(`user${i}@localhost`, `password ${i}`)),
      ),
    );
    assert.deepEqual(
      results.filter((r) => r.status !== 'ok'),
      [],
    );
  });

  it('lets one account sign in from many clients at once behind one address, at most 5 checks at a time', async () => {
    const guard = new LoginGuard();
    const { check, stats } = checker(accounts(1));
    const results = await Promise.all(
      Array.from({ length: 60 }, () =>
        guard.attempt(NAT, 'USER0@localhost', check('user0@localhost', 'password 0')),
      ),
    );
    assert.ok(results.every((r) => r.status === 'ok'));
    assert.ok(stats.maxInFlight <= 5, `${stats.maxInFlight} checks at once`);
  });

  it('checks at most 5 guesses for one account from one address, however many arrive at once', async () => {
    const guard = new LoginGuard();
    const { check, stats } = checker(accounts(1));
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        guard.attempt(NAT, 'user0@localhost', check('user0@localhost', `guess ${i}`)),
      ),
    );
    assert.equal(stats.checked, 5);
    assert.equal(results.filter((r) => r.status === 'failed').length, 5);
    assert.equal(results.filter((r) => r.status === 'throttled').length, 95);
    // Locked now: the right password is not even checked.
    assert.deepEqual(await guard.attempt(NAT, 'user0@localhost', check('user0@localhost', 'password 0')), {
      status: 'throttled',
    });
    assert.equal(stats.checked, 5);
    // The same account from elsewhere, and another account from here, are not locked.
    const elsewhere = await guard.attempt(
      '203.0.113.9',
      'user0@localhost',
      check('user0@localhost', 'password 0'),
    );
    assert.equal(elsewhere.status, 'ok');
  });

  it("an address lock refuses the accounts that failed there, never another account's right password", async () => {
    const guard = new LoginGuard();
    const { check, stats } = checker(accounts(3));
    // user0 mistypes once; then a bot beside it sprays 49 accounts.
    assert.equal(
      (await guard.attempt(NAT, 'user0@localhost', check('user0@localhost', 'typo'))).status,
      'failed',
    );
    for (let i = 0; i < 49; i += 1) {
      await guard.attempt(NAT, `victim${i}@localhost`, check(`victim${i}@localhost`, 'password1'));
    }
    assert.ok((await guard.perAddress.lockedFor(NAT)) > 0);
    // user0 failed here: refused even with its right password, which is not checked.
    const before = stats.checked;
    assert.equal(
      (await guard.attempt(NAT, 'user0@localhost', check('user0@localhost', 'password 0'))).status,
      'throttled',
    );
    assert.equal(stats.checked, before);
    // user1 never failed here: its right password works.
    assert.equal(
      (await guard.attempt(NAT, 'user1@localhost', check('user1@localhost', 'password 1'))).status,
      'ok',
    );
    // The sprayer gets one guess per account while the address is locked, not five.
    assert.equal(
      (await guard.attempt(NAT, 'user2@localhost', check('user2@localhost', 'guess'))).status,
      'failed',
    );
    assert.equal(
      (await guard.attempt(NAT, 'user2@localhost', check('user2@localhost', 'guess 2'))).status,
      'throttled',
    );
    // …and one at a time: of parallel guesses for a fresh account, one is checked.
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        guard.attempt(NAT, 'fresh@localhost', check('fresh@localhost', `guess ${i}`)),
      ),
    );
    assert.equal(burst.filter((r) => r.status === 'failed').length, 1);
  });

  it('shares its limits with another node on the same store', async () => {
    const store = new MemoryRateStore();
    const nodeA = new LoginGuard(store);
    const nodeB = new LoginGuard(store);
    const { check } = checker(accounts(1));
    for (let i = 0; i < 5; i += 1)
      await nodeA.attempt(NAT, 'user0@localhost', check('user0@localhost', 'wrong'));
    assert.equal(
      (await nodeB.attempt(NAT, 'user0@localhost', check('user0@localhost', 'password 0'))).status,
      'throttled',
    );
  });

  it('gives the slot back when the check throws, counting nothing', async () => {
    const guard = new LoginGuard();
    for (let i = 0; i < 10; i += 1) {
      await assert.rejects(
        guard.attempt(NAT, 'user0@localhost', async () => {
          throw new Error('store down');
        }),
      );
    }
    assert.equal(await guard.perAccount.failures(`${NAT}|user0@localhost`), 0);
    assert.equal((await guard.attempt(NAT, 'user0@localhost', async () => 'ok')).status, 'ok');
  });
});
