import type { Kysely } from 'kysely';
import type { Database, SignupInviteTable } from '../schema.ts';
import type { AccountRole, SignupInviteRow } from '../types.ts';

function toInvite(row: SignupInviteTable): SignupInviteRow {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    createdBy: row.created_by,
    usedAt: row.used_at === null ? null : Number(row.used_at),
    usedBy: row.used_by,
  };
}

/**
 * Invitation links and account roles (migration 0018), delegated to by kysely-store.ts.
 * An unknown account becomes `no-such-account` through `onForeignKey`.
 */
export class InviteRoleQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly onForeignKey: <T>(message: string, write: () => Promise<T>) => Promise<T>,
  ) {}

  async createSignupInvite(invite: SignupInviteRow): Promise<void> {
    await this.db
      .insertInto('signup_invite')
      .values({
        id: invite.id,
        token_hash: invite.tokenHash,
        created_at: invite.createdAt,
        expires_at: invite.expiresAt,
        created_by: invite.createdBy,
        used_at: invite.usedAt,
        used_by: invite.usedBy,
      })
      .execute();
  }

  async listSignupInvites(): Promise<SignupInviteRow[]> {
    const rows = await this.db
      .selectFrom('signup_invite')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(toInvite);
  }

  async claimSignupInvite(tokenHash: string, now: number, usedBy: string): Promise<boolean> {
    // One UPDATE with the conditions in its WHERE: two sign-ups racing for one link cannot both win.
    const result = await this.db
      .updateTable('signup_invite')
      .set({ used_at: now, used_by: usedBy })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async releaseSignupInvite(tokenHash: string): Promise<void> {
    await this.db
      .updateTable('signup_invite')
      .set({ used_at: null, used_by: null })
      .where('token_hash', '=', tokenHash)
      .execute();
  }

  async deleteSignupInvite(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('signup_invite').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async setAccountRole(accountId: string, role: AccountRole | null, now: number): Promise<void> {
    if (role === null) {
      await this.db.deleteFrom('account_role').where('account_id', '=', accountId).execute();
      return;
    }
    await this.onForeignKey(`no account ${accountId}`, () =>
      this.db
        .insertInto('account_role')
        .values({ account_id: accountId, role, granted_at: now })
        .onConflict((oc) => oc.column('account_id').doUpdateSet({ role, granted_at: now }))
        .execute(),
    );
  }

  async getAccountRole(accountId: string): Promise<AccountRole | undefined> {
    const row = await this.db
      .selectFrom('account_role')
      .select('role')
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return row?.role === 'admin' ? 'admin' : undefined;
  }

  async listAccountRoles(): Promise<{ accountId: string; role: AccountRole }[]> {
    const rows = await this.db.selectFrom('account_role').select(['account_id', 'role']).execute();
    return rows
      .filter((r) => r.role === 'admin')
      .map((r) => ({ accountId: r.account_id, role: 'admin' as const }));
  }
}
