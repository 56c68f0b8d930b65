import { normalizeHandle } from '../util/handle.ts';
import { addressKey, LoginThrottle, type ThrottledAttempt } from './login-throttle.ts';

/**
 * Password guessing limits for every protocol, on two keys: the (address, handle)
 * pair — 5 failures a minute, so one account cannot be guessed quickly from one place
 * — and the address alone — 50 a minute, so one place cannot spray many accounts.
 * Neither key is the handle alone: that would let anyone lock its owner out, and
 * friends behind one NAT do not lock each other out with a few typos.
 */
export class LoginGuard {
  readonly perAccount: LoginThrottle;
  readonly perAddress: LoginThrottle;

  constructor(clock: () => number = Date.now) {
    this.perAccount = new LoginThrottle({ maxFailures: 5, clock });
    this.perAddress = new LoginThrottle({ maxFailures: 50, clock });
  }

  async attempt<T>(
    address: string | undefined,
    handle: string,
    verify: () => Promise<T | undefined>,
  ): Promise<ThrottledAttempt<T>> {
    const where = addressKey(address);
    const pair = `${where}|${normalizeHandle(handle)}`;
    if (!this.perAddress.check(where)) return { status: 'throttled' };
    if (!this.perAccount.check(pair)) {
      // Hammering a locked pair still counts against the address.
      this.perAddress.fail(where);
      return { status: 'throttled' };
    }
    let value: T | undefined;
    try {
      value = await verify();
    } catch (err) {
      this.perAddress.cancel(where);
      this.perAccount.cancel(pair);
      throw err;
    }
    if (value === undefined) {
      this.perAddress.fail(where);
      this.perAccount.fail(pair);
      return { status: 'failed' };
    }
    this.perAddress.succeed(where);
    this.perAccount.succeed(pair);
    return { status: 'ok', value };
  }
}
