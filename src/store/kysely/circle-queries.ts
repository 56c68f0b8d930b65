import type { Kysely, Selectable } from 'kysely';
import { PapillonError } from '../../util/errors.ts';
import type { CircleMemberTable, CircleTable, Database } from '../schema.ts';
import type { CircleMemberRow, CircleRow } from '../types.ts';
import { compare } from './compare.ts';

/**
 * The circle part of the Kysely store (migration 0011), kept apart from
 * kysely-store.ts, which delegates to it. Foreign-key failures (unknown account or
 * circle) become `no-such-account` through the caller's `onForeignKey`.
 */
export class CircleQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly onForeignKey: <T>(message: string, write: () => Promise<T>) => Promise<T>,
  ) {}

  async createCircle(circle: CircleRow): Promise<void> {
    await this.onForeignKey(`no account ${circle.ownerId}`, () =>
      this.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('circle')
          .values({
            id: circle.id,
            name: circle.name,
            owner_id: circle.ownerId,
            created_at: circle.createdAt,
          })
          .execute();
        await trx
          .insertInto('circle_member')
          .values({
            circle_id: circle.id,
            account_id: circle.ownerId,
            role: 1,
            state: 'accepted',
            inviter_id: null,
            changed_at: circle.createdAt,
          })
          .execute();
      }),
    );
  }

  async getCircle(id: string): Promise<CircleRow | undefined> {
    const row = await this.db.selectFrom('circle').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : circleRow(row);
  }

  async putCircleMember(member: CircleMemberRow): Promise<void> {
    const values = {
      circle_id: member.circleId,
      account_id: member.accountId,
      role: member.role,
      state: member.state,
      inviter_id: member.inviterId,
      changed_at: member.changedAt,
    };
    await this.onForeignKey(`no account ${member.accountId} or circle ${member.circleId}`, () =>
      this.db
        .insertInto('circle_member')
        .values(values)
        .onConflict((oc) =>
          oc.columns(['circle_id', 'account_id']).doUpdateSet({
            role: values.role,
            state: values.state,
            inviter_id: values.inviter_id,
            changed_at: values.changed_at,
          }),
        )
        .execute(),
    );
  }

  async deleteCircleMember(circleId: string, accountId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('circle_member')
      .where('circle_id', '=', circleId)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listCircleMembers(circleId: string): Promise<CircleMemberRow[]> {
    const rows = await this.db
      .selectFrom('circle_member')
      .selectAll()
      .where('circle_id', '=', circleId)
      .execute();
    return rows.map(memberRow).sort((a, b) => compare(a.accountId, b.accountId));
  }

  async listCirclesOf(accountId: string): Promise<Array<{ circle: CircleRow; member: CircleMemberRow }>> {
    const rows = await this.db
      .selectFrom('circle_member')
      .innerJoin('circle', 'circle.id', 'circle_member.circle_id')
      .select([
        'circle.id as id',
        'circle.name as name',
        'circle.owner_id as owner_id',
        'circle.created_at as created_at',
        'circle_member.circle_id as circle_id',
        'circle_member.account_id as account_id',
        'circle_member.role as role',
        'circle_member.state as state',
        'circle_member.inviter_id as inviter_id',
        'circle_member.changed_at as changed_at',
      ])
      .where('circle_member.account_id', '=', accountId)
      .execute();
    return rows
      .map((r) => ({ circle: circleRow(r), member: memberRow(r) }))
      .sort((a, b) => compare(a.circle.id, b.circle.id));
  }
}

function circleRow(r: Selectable<CircleTable>): CircleRow {
  return { id: r.id, name: r.name, ownerId: r.owner_id, createdAt: Number(r.created_at) };
}

function memberRow(r: Selectable<CircleMemberTable>): CircleMemberRow {
  const role = Number(r.role);
  if (role !== 1 && role !== 3) throw new PapillonError('conflict', `bad circle role ${role}`);
  return {
    circleId: r.circle_id,
    accountId: r.account_id,
    role,
    state: r.state,
    inviterId: r.inviter_id,
    changedAt: Number(r.changed_at),
  };
}
