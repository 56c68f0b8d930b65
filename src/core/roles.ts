import type { AccountRole, Store } from '../store/types.ts';
import type { Accounts } from './accounts.ts';

/**
 * What an operator lets an account do beyond its own: `admin` reaches the web admin
 * area (users, sessions, kick, broadcast, sign-up mode). Given with `papillon account
 * add --admin` or `papillon account admin <handle>`; checked on every admin request,
 * so taking it away works at once.
 */
export class Roles {
  constructor(
    private readonly store: Store,
    private readonly accounts: Accounts,
    private readonly clock: () => number = Date.now,
  ) {}

  async isAdmin(accountId: string): Promise<boolean> {
    return (await this.store.getAccountRole(accountId)) === 'admin';
  }

  /** Gives (`true`) or takes away the admin role; throws `no-such-account` for an unknown handle. */
  async setAdmin(handle: string, admin: boolean): Promise<void> {
    const account = await this.accounts.get(handle);
    await this.store.setAccountRole(account.id, admin ? 'admin' : null, this.clock());
  }

  /** The ids of the accounts with a role. */
  async roles(): Promise<Map<string, AccountRole>> {
    return new Map((await this.store.listAccountRoles()).map((r) => [r.accountId, r.role]));
  }
}
