import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';
import type { PrivateXmlRow } from '../types.ts';
import { compare } from './compare.ts';

/**
 * The XEP-0049 private XML part of the Kysely store (migration 0013), delegated to
 * by kysely-store.ts. An unknown account becomes `no-such-account` through `onForeignKey`.
 */
export class PrivateXmlQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly onForeignKey: <T>(message: string, write: () => Promise<T>) => Promise<T>,
  ) {}

  async getPrivateXml(accountId: string, namespace: string): Promise<PrivateXmlRow | undefined> {
    const row = await this.db
      .selectFrom('private_xml')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('namespace', '=', namespace)
      .executeTakeFirst();
    return row === undefined
      ? undefined
      : {
          accountId: row.account_id,
          namespace: row.namespace,
          xml: row.xml,
          updatedAt: Number(row.updated_at),
        };
  }

  async putPrivateXml(row: PrivateXmlRow): Promise<void> {
    await this.onForeignKey(`no account ${row.accountId}`, () =>
      this.db
        .insertInto('private_xml')
        .values({
          account_id: row.accountId,
          namespace: row.namespace,
          xml: row.xml,
          updated_at: row.updatedAt,
        })
        .onConflict((oc) =>
          oc.columns(['account_id', 'namespace']).doUpdateSet({ xml: row.xml, updated_at: row.updatedAt }),
        )
        .execute(),
    );
  }

  async listPrivateXmlNamespaces(accountId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('private_xml')
      .select('namespace')
      .where('account_id', '=', accountId)
      .execute();
    return rows.map((r) => r.namespace).sort(compare);
  }
}
