import { type Kysely, Migrator, type Selectable, sql } from 'kysely';
import { PapillonError } from '../../util/errors.ts';
import { migrationProvider } from '../migrations/index.ts';
import type {
  AccountTable,
  ContactGroupTable,
  CredentialTable,
  Database,
  Flag,
  OAuthClientTable,
  OAuthCodeTable,
  OAuthTokenTable,
  RelationshipTable,
} from '../schema.ts';
import type {
  AccountPatch,
  AccountRole,
  AccountRow,
  ArchiveFilter,
  ArchivePage,
  CircleMemberRow,
  CircleRow,
  GroupRow,
  LoginTicketRow,
  NewAccount,
  NewArchiveMessage,
  NewLoginTicket,
  NewOAuthCode,
  NewOAuthToken,
  NewOfflineMessage,
  OAuthClientRow,
  OAuthCodeRow,
  OAuthTokenRow,
  OfflineLease,
  OfflineMessageRow,
  PasswordCredentials,
  PepItemRow,
  PepNodeRow,
  PictureInfo,
  PictureType,
  PrivateXmlRow,
  RelationshipPatch,
  RelationshipRow,
  ReleasedOffline,
  SignupInviteRow,
  Store,
  StoredPicture,
  Versioned,
  WebSessionRow,
} from '../types.ts';
import { ArchiveQueries } from './archive-queries.ts';
import { CircleQueries } from './circle-queries.ts';
import { compare } from './compare.ts';
import { InviteRoleQueries } from './invite-role-queries.ts';
import { OfflineQueries } from './offline-queries.ts';
import { PepQueries } from './pep-queries.ts';
import { PreparedQuery, slot } from './prepared.ts';
import { PrivateXmlQueries } from './private-xml-queries.ts';

export interface KyselyStoreOptions {
  /**
   * Schema holding Kysely's migration bookkeeping tables (PostgreSQL). Kysely looks
   * for those tables in every schema unless told which one, so a database holding
   * several Papillon schemas (tests) must name it.
   */
  migrationSchema?: string;
}

/** What a list mutation did inside its transaction: its result and whether anything changed. */
interface ListChange<T> {
  value: T;
  changed: boolean;
}

/**
 * The Store, written once against Kysely for SQLite and PostgreSQL. Openers
 * (`sqlite/`, `postgres/`) configure the connection; this class only issues SQL
 * both dialects understand, except where `kind` says otherwise.
 */
export class KyselyStore implements Store {
  readonly kind: Store['kind'];
  readonly #db: Kysely<Database>;
  readonly #migrationSchema: string | undefined;
  readonly #circles: CircleQueries;
  readonly #pep: PepQueries;
  readonly #privateXml: PrivateXmlQueries;
  readonly #offline: OfflineQueries;
  readonly #archive: ArchiveQueries;
  readonly #inviteRoles: InviteRoleQueries;
  /** Issue 14: the reads each routed message makes, compiled once (prepared.ts). */
  readonly #accountByHandle = new PreparedQuery((db) =>
    db.selectFrom('account').selectAll().where('handle', '=', slot(0)),
  );
  readonly #blockers = new PreparedQuery((db) =>
    db
      .selectFrom('relationship')
      .select('owner_id')
      .where('block', '=', 1)
      .where((eb) =>
        eb.or([
          eb.and([eb('owner_id', '=', slot(0)), eb('contact_id', '=', slot(1))]),
          eb.and([eb('owner_id', '=', slot(1)), eb('contact_id', '=', slot(0))]),
        ]),
      ),
  );

  constructor(db: Kysely<Database>, kind: Store['kind'], options: KyselyStoreOptions = {}) {
    this.#db = db;
    this.kind = kind;
    this.#migrationSchema = options.migrationSchema;
    this.#circles = new CircleQueries(db, unknownAccountOnForeignKey);
    this.#pep = new PepQueries(db, unknownAccountOnForeignKey);
    this.#privateXml = new PrivateXmlQueries(db, unknownAccountOnForeignKey);
    this.#offline = new OfflineQueries(db, kind, unknownAccountOnForeignKey);
    this.#archive = new ArchiveQueries(db, unknownAccountOnForeignKey);
    this.#inviteRoles = new InviteRoleQueries(db, unknownAccountOnForeignKey);
  }

  async migrate(): Promise<string[]> {
    const migrator = new Migrator({
      db: this.#db,
      provider: migrationProvider(this.kind),
      ...(this.#migrationSchema === undefined ? {} : { migrationTableSchema: this.#migrationSchema }),
    });
    const { error, results = [] } = await migrator.migrateToLatest();
    if (error !== undefined) {
      const failed = results.find((r) => r.status === 'Error')?.migrationName;
      const what = failed === undefined ? 'store migration failed' : `store migration ${failed} failed`;
      throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }

  // Accounts -------------------------------------------------------------------

  async createAccount(account: NewAccount, credentials: PasswordCredentials): Promise<AccountRow> {
    try {
      await this.#db.transaction().execute(async (trx) => {
        await trx
          .insertInto('account')
          .values({
            id: account.id,
            handle: account.handle,
            display_name: account.displayName,
            privacy: account.privacy,
            list_version: 0,
            created_at: account.createdAt,
          })
          .execute();
        await trx.insertInto('credential').values(credentialColumns(account.id, credentials)).execute();
      });
    } catch (err) {
      if (violatesUnique(err, 'account_handle_key', 'account.handle')) {
        throw new PapillonError('handle-taken', `the handle ${account.handle} is taken`);
      }
      throw err;
    }
    return { ...account, listVersion: 0, picture: null };
  }

  async getAccountById(id: string): Promise<AccountRow | undefined> {
    const row = await this.#db.selectFrom('account').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAccount(row);
  }

  async getAccountByHandle(handle: string): Promise<AccountRow | undefined> {
    const [row] = (await this.#accountByHandle.execute(this.#db, [handle])).rows;
    return row && toAccount(row);
  }

  async getAccountsByIds(ids: readonly string[]): Promise<AccountRow[]> {
    if (ids.length === 0) return [];
    const rows = await this.#db.selectFrom('account').selectAll().where('id', 'in', ids).execute();
    return rows.map(toAccount).sort((a, b) => compare(a.handle, b.handle));
  }

  async listAccounts(): Promise<AccountRow[]> {
    const rows = await this.#db.selectFrom('account').selectAll().execute();
    return rows.map(toAccount).sort((a, b) => compare(a.handle, b.handle));
  }

  async updateAccount(id: string, patch: AccountPatch): Promise<AccountRow | undefined> {
    const { displayName, privacy } = patch;
    if (displayName === undefined && privacy === undefined) return this.getAccountById(id);
    // One statement, so the privacy change and its list-version bump are atomic. SET
    // expressions see the row as it was, so the version moves only if privacy differs.
    const row = await this.#db
      .updateTable('account')
      .set({
        ...(displayName === undefined ? {} : { display_name: displayName }),
        ...(privacy === undefined
          ? {}
          : {
              privacy,
              list_version: sql<number>`list_version + case when privacy = ${privacy} then 0 else 1 end`,
            }),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toAccount(row);
  }

  async deleteAccount(id: string): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      // Owners who listed this account lose that row to the cascade: their lists
      // change, so their list versions must move on too.
      await trx
        .updateTable('account')
        .set((eb) => ({ list_version: eb('list_version', '+', 1) }))
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('relationship')
            .select('owner_id')
            .where('contact_id', '=', id)
            .where('owner_id', '<>', id),
        )
        .execute();
      // Foreign keys cascade to credentials, relationships both ways, groups,
      // memberships, offline messages and login tickets.
      const result = await trx.deleteFrom('account').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    });
  }

  async getCredentials(accountId: string): Promise<PasswordCredentials | undefined> {
    const row = await this.#db
      .selectFrom('credential')
      .selectAll()
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return row && toCredentials(row);
  }

  async setCredentials(accountId: string, credentials: PasswordCredentials): Promise<void> {
    const { account_id: _, ...columns } = credentialColumns(accountId, credentials);
    await unknownAccountOnForeignKey(`no account ${accountId}`, () =>
      this.#db
        .insertInto('credential')
        .values({ account_id: accountId, ...columns })
        .onConflict((oc) => oc.column('account_id').doUpdateSet(columns))
        .execute(),
    );
  }

  async clearMd5Digests(): Promise<number> {
    const result = await this.#db
      .updateTable('credential')
      .set({ md5_digest: '' })
      .where('md5_digest', '!=', '')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  // Relationships --------------------------------------------------------------

  async getRelationship(ownerId: string, contactId: string): Promise<RelationshipRow | undefined> {
    const [row] = await loadRelationships(this.#db, { ownerId, contactId });
    return row;
  }

  async blockersBetween(a: string, b: string): Promise<string[]> {
    const { rows } = await this.#blockers.execute(this.#db, [a, b]);
    return rows.map((r) => r.owner_id);
  }

  async listRelationships(ownerId: string): Promise<RelationshipRow[]> {
    return loadRelationships(this.#db, { ownerId });
  }

  async listRelationshipsTo(contactId: string): Promise<RelationshipRow[]> {
    return loadRelationships(this.#db, { contactId });
  }

  async updateRelationship(
    ownerId: string,
    contactId: string,
    patch: RelationshipPatch,
  ): Promise<Versioned<RelationshipRow | undefined>> {
    return this.#listMutation(ownerId, async (trx): Promise<ListChange<RelationshipRow | undefined>> => {
      const [existing] = await loadRelationships(trx, { ownerId, contactId });
      const next = {
        forward: patch.forward ?? existing?.forward ?? false,
        allow: patch.allow ?? existing?.allow ?? false,
        block: patch.block ?? existing?.block ?? false,
        nickname: patch.nickname !== undefined ? patch.nickname : (existing?.nickname ?? null),
        noticed: patch.noticed ?? existing?.noticed ?? false,
        listed: patch.listed ?? existing?.listed ?? false,
      };
      if (
        existing !== undefined &&
        existing.forward === next.forward &&
        existing.allow === next.allow &&
        existing.block === next.block &&
        existing.nickname === next.nickname &&
        existing.noticed === next.noticed &&
        existing.listed === next.listed
      ) {
        return { value: existing, changed: false };
      }
      const groupIds = existing?.groupIds ?? [];
      const empty = !next.forward && !next.listed && !next.allow && !next.block && next.nickname === null;
      if (empty && groupIds.length === 0) {
        if (existing === undefined) return { value: undefined, changed: false };
        await trx
          .deleteFrom('relationship')
          .where('owner_id', '=', ownerId)
          .where('contact_id', '=', contactId)
          .execute();
        return { value: undefined, changed: true };
      }

      const updatedAt = Date.now();
      const columns = {
        forward: toFlag(next.forward),
        allow: toFlag(next.allow),
        block: toFlag(next.block),
        nickname: next.nickname,
        noticed: toFlag(next.noticed),
        listed: toFlag(next.listed),
        updated_at: updatedAt,
      };
      if (existing === undefined) {
        const contact = await trx
          .selectFrom('account')
          .select('id')
          .where('id', '=', contactId)
          .executeTakeFirst();
        if (contact === undefined) throw new PapillonError('no-such-account', `no account ${contactId}`);
        await trx
          .insertInto('relationship')
          .values({ owner_id: ownerId, contact_id: contactId, ...columns })
          .execute();
      } else {
        await trx
          .updateTable('relationship')
          .set(columns)
          .where('owner_id', '=', ownerId)
          .where('contact_id', '=', contactId)
          .execute();
      }
      return { value: { ownerId, contactId, ...next, groupIds, updatedAt }, changed: true };
    });
  }

  // Groups ---------------------------------------------------------------------

  async listGroups(ownerId: string): Promise<GroupRow[]> {
    const rows = await this.#db
      .selectFrom('contact_group')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .orderBy('number')
      .execute();
    return rows.map(toGroup);
  }

  async createGroup(ownerId: string, id: string, name: string): Promise<Versioned<GroupRow>> {
    return this.#listMutation(ownerId, async (trx) => {
      const groups = await trx
        .selectFrom('contact_group')
        .select(['number', 'name'])
        .where('owner_id', '=', ownerId)
        .orderBy('number')
        .execute();
      if (groups.some((g) => g.name === name)) throw groupNameTaken(name);
      // Smallest unused number: walk the sorted numbers until the first gap.
      let number = 1;
      for (const group of groups) {
        if (group.number === number) number += 1;
        else if (group.number > number) break;
      }
      try {
        await trx.insertInto('contact_group').values({ id, owner_id: ownerId, number, name }).execute();
      } catch (err) {
        // The owner lock makes the check above reliable; this is a second line of defence.
        if (violatesUnique(err, 'contact_group_owner_name_key', 'contact_group.name')) {
          throw groupNameTaken(name);
        }
        throw err;
      }
      return { value: { id, ownerId, number, name }, changed: true };
    });
  }

  async renameGroup(
    ownerId: string,
    groupId: string,
    name: string,
  ): Promise<Versioned<GroupRow | undefined>> {
    return this.#listMutation(ownerId, async (trx): Promise<ListChange<GroupRow | undefined>> => {
      const row = await trx
        .selectFrom('contact_group')
        .selectAll()
        .where('id', '=', groupId)
        .where('owner_id', '=', ownerId)
        .executeTakeFirst();
      if (row === undefined) return { value: undefined, changed: false };
      const group = toGroup(row);
      if (group.name === name) return { value: group, changed: false };
      const clash = await trx
        .selectFrom('contact_group')
        .select('id')
        .where('owner_id', '=', ownerId)
        .where('name', '=', name)
        .executeTakeFirst();
      if (clash !== undefined) throw groupNameTaken(name);
      await trx.updateTable('contact_group').set({ name }).where('id', '=', groupId).execute();
      return { value: { ...group, name }, changed: true };
    });
  }

  async deleteGroup(ownerId: string, groupId: string): Promise<Versioned<boolean>> {
    return this.#listMutation(ownerId, async (trx) => {
      // Memberships go with the group (foreign-key cascade).
      const result = await trx
        .deleteFrom('contact_group')
        .where('id', '=', groupId)
        .where('owner_id', '=', ownerId)
        .executeTakeFirst();
      if (result.numDeletedRows === 0n) return { value: false, changed: false };
      // A contact kept only for its membership in this group is now an empty row.
      await pruneEmptyRelationships(trx, ownerId);
      return { value: true, changed: true };
    });
  }

  /** `true` once the contact is in the group; the version moves only if it was not already. */
  async addToGroup(ownerId: string, contactId: string, groupId: string): Promise<Versioned<boolean>> {
    return this.#listMutation(ownerId, async (trx) => {
      const relationship = await trx
        .selectFrom('relationship')
        .select('contact_id')
        .where('owner_id', '=', ownerId)
        .where('contact_id', '=', contactId)
        .executeTakeFirst();
      const group = await trx
        .selectFrom('contact_group')
        .select('id')
        .where('id', '=', groupId)
        .where('owner_id', '=', ownerId)
        .executeTakeFirst();
      if (relationship === undefined || group === undefined) return { value: false, changed: false };
      const member = await trx
        .selectFrom('group_member')
        .select('group_id')
        .where('owner_id', '=', ownerId)
        .where('contact_id', '=', contactId)
        .where('group_id', '=', groupId)
        .executeTakeFirst();
      if (member !== undefined) return { value: true, changed: false };
      await trx
        .insertInto('group_member')
        .values({ owner_id: ownerId, contact_id: contactId, group_id: groupId })
        .execute();
      await touchRelationship(trx, ownerId, contactId);
      return { value: true, changed: true };
    });
  }

  /** `false` if the contact was not in the group (nothing changes then). */
  async removeFromGroup(ownerId: string, contactId: string, groupId: string): Promise<Versioned<boolean>> {
    return this.#listMutation(ownerId, async (trx) => {
      const result = await trx
        .deleteFrom('group_member')
        .where('owner_id', '=', ownerId)
        .where('contact_id', '=', contactId)
        .where('group_id', '=', groupId)
        .executeTakeFirst();
      if (result.numDeletedRows === 0n) return { value: false, changed: false };
      await touchRelationship(trx, ownerId, contactId);
      await pruneEmptyRelationships(trx, ownerId, contactId);
      return { value: true, changed: true };
    });
  }

  // Offline messages (offline-queries.ts) -------------------------------------------

  enqueueOffline(message: NewOfflineMessage): Promise<void> {
    return this.#offline.enqueueOffline(message);
  }
  leaseOffline(
    recipientId: string,
    lease: OfflineLease,
    now: number,
    options?: { senderHandle?: string | undefined; limit?: number | undefined },
  ): Promise<OfflineMessageRow[]> {
    return this.#offline.leaseOffline(recipientId, lease, now, options);
  }
  renewOfflineLease(token: string, until: number): Promise<number> {
    return this.#offline.renewOfflineLease(token, until);
  }
  releaseOfflineLease(token: string, ids?: readonly string[]): Promise<ReleasedOffline[]> {
    return this.#offline.releaseOfflineLease(token, ids);
  }
  releaseNodeOfflineLeases(node?: string): Promise<ReleasedOffline[]> {
    return this.#offline.releaseNodeOfflineLeases(node);
  }
  claimOfflineIds(recipientId: string, ids: readonly string[], now: number): Promise<OfflineMessageRow[]> {
    return this.#offline.claimOfflineIds(recipientId, ids, now);
  }
  listOffline(recipientId: string): Promise<OfflineMessageRow[]> {
    return this.#offline.listOffline(recipientId);
  }
  countOffline(recipientId?: string): Promise<number> {
    return this.#offline.countOffline(recipientId);
  }
  purgeDeliveredOffline(before: number): Promise<number> {
    return this.#offline.purgeDeliveredOffline(before);
  }

  // Login tickets ------------------------------------------------------------------

  async saveTicket(ticket: NewLoginTicket): Promise<void> {
    await unknownAccountOnForeignKey(`no account ${ticket.accountId}`, () =>
      this.#db
        .insertInto('login_ticket')
        .values({
          token_hash: ticket.tokenHash,
          account_id: ticket.accountId,
          purpose: ticket.purpose,
          created_at: ticket.createdAt,
          expires_at: ticket.expiresAt,
          used_at: null,
          proof_key: ticket.proofKey ?? null,
        })
        .execute(),
    );
  }

  async redeemTicket(tokenHash: string, purpose: string, now: number): Promise<string | undefined> {
    // One conditional UPDATE: of concurrent redemptions only the first matches
    // `used_at is null` (PostgreSQL re-checks the condition after the row lock;
    // SQLite runs writes one at a time), so a ticket is redeemed at most once.
    const row = await this.#db
      .updateTable('login_ticket')
      .set({ used_at: now })
      .where('token_hash', '=', tokenHash)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returning('account_id')
      .executeTakeFirst();
    return row?.account_id;
  }

  async findTicket(tokenHash: string, purpose: string, now: number): Promise<LoginTicketRow | undefined> {
    const row = await this.#db
      .selectFrom('login_ticket')
      .select(['account_id', 'proof_key', 'used_at', 'expires_at'])
      .where('token_hash', '=', tokenHash)
      .where('purpose', '=', purpose)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      accountId: row.account_id,
      proofKey: row.proof_key,
      usedAt: row.used_at === null ? null : Number(row.used_at),
      expiresAt: Number(row.expires_at),
    };
  }

  async purgeTickets(now: number): Promise<number> {
    const result = await this.#db
      .deleteFrom('login_ticket')
      .where('expires_at', '<=', now)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // The account's picture ---------------------------------------------------------

  async setPicture(accountId: string, picture: StoredPicture | null): Promise<AccountRow | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('account')
        .set({
          picture_sha1: picture?.sha1 ?? null,
          picture_size: picture?.size ?? null,
          picture_type: picture?.type ?? null,
        })
        .where('id', '=', accountId)
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      if (picture === null) {
        await trx.deleteFrom('account_picture').where('account_id', '=', accountId).execute();
      } else {
        const data = picture.data.toString('base64');
        await trx
          .insertInto('account_picture')
          .values({ account_id: accountId, data })
          .onConflict((oc) => oc.column('account_id').doUpdateSet({ data }))
          .execute();
      }
      return toAccount(row);
    });
  }

  async getPicture(accountId: string): Promise<StoredPicture | undefined> {
    // One statement: setPicture writes row and image in one transaction, so they match.
    const row = await this.#db
      .selectFrom('account')
      .innerJoin('account_picture', 'account_picture.account_id', 'account.id')
      .select(['picture_sha1', 'picture_size', 'picture_type', 'data'])
      .where('account.id', '=', accountId)
      .executeTakeFirst();
    const info = row && toPictureInfo(row);
    return info && { ...info, data: Buffer.from(row.data, 'base64') };
  }

  // Profile properties -------------------------------------------------------------

  async getProperties(accountId: string, names?: readonly string[]): Promise<Record<string, string>> {
    if (names !== undefined && names.length === 0) return {};
    let query = this.#db
      .selectFrom('account_property')
      .select(['name', 'value'])
      .where('account_id', '=', accountId);
    if (names !== undefined) query = query.where('name', 'in', names);
    const rows = await query.execute();
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  async setProperty(accountId: string, name: string, value: string | null): Promise<void> {
    if (value === null) {
      await this.#db
        .deleteFrom('account_property')
        .where('account_id', '=', accountId)
        .where('name', '=', name)
        .execute();
      return;
    }
    await unknownAccountOnForeignKey(`no account ${accountId}`, () =>
      this.#db
        .insertInto('account_property')
        .values({ account_id: accountId, name, value })
        .onConflict((oc) => oc.columns(['account_id', 'name']).doUpdateSet({ value }))
        .execute(),
    );
  }

  async bumpListVersion(accountId: string): Promise<number> {
    // One UPDATE: nothing is read to decide, so no transaction or owner lock is needed
    // (it waits for, and follows, a list mutation holding the row).
    return incrementListVersion(this.#db, accountId);
  }

  // Circles (circle-queries.ts) ------------------------------------------------------

  createCircle(circle: CircleRow): Promise<void> {
    return this.#circles.createCircle(circle);
  }
  getCircle(id: string): Promise<CircleRow | undefined> {
    return this.#circles.getCircle(id);
  }
  putCircleMember(member: CircleMemberRow): Promise<void> {
    return this.#circles.putCircleMember(member);
  }
  deleteCircleMember(circleId: string, accountId: string): Promise<boolean> {
    return this.#circles.deleteCircleMember(circleId, accountId);
  }
  listCircleMembers(circleId: string): Promise<CircleMemberRow[]> {
    return this.#circles.listCircleMembers(circleId);
  }
  listCirclesOf(accountId: string): Promise<Array<{ circle: CircleRow; member: CircleMemberRow }>> {
    return this.#circles.listCirclesOf(accountId);
  }

  // Private XML (private-xml-queries.ts) ---------------------------------------------

  getPrivateXml(accountId: string, namespace: string): Promise<PrivateXmlRow | undefined> {
    return this.#privateXml.getPrivateXml(accountId, namespace);
  }
  putPrivateXml(row: PrivateXmlRow): Promise<void> {
    return this.#privateXml.putPrivateXml(row);
  }
  listPrivateXmlNamespaces(accountId: string): Promise<string[]> {
    return this.#privateXml.listPrivateXmlNamespaces(accountId);
  }

  // PEP nodes (pep-queries.ts) -------------------------------------------------------

  getPepNode(accountId: string, node: string): Promise<PepNodeRow | undefined> {
    return this.#pep.getPepNode(accountId, node);
  }
  listPepNodes(accountId: string): Promise<PepNodeRow[]> {
    return this.#pep.listPepNodes(accountId);
  }
  putPepNode(row: PepNodeRow): Promise<void> {
    return this.#pep.putPepNode(row);
  }
  deletePepNode(accountId: string, node: string): Promise<boolean> {
    return this.#pep.deletePepNode(accountId, node);
  }
  putPepItem(item: PepItemRow, maxItems: number): Promise<boolean> {
    return this.#pep.putPepItem(item, maxItems);
  }
  listPepItems(
    accountId: string,
    node: string,
    options?: { itemIds?: readonly string[]; limit?: number },
  ): Promise<PepItemRow[]> {
    return this.#pep.listPepItems(accountId, node, options);
  }
  deletePepItem(accountId: string, node: string, itemId: string): Promise<boolean> {
    return this.#pep.deletePepItem(accountId, node, itemId);
  }

  // Message archive (archive-queries.ts) ---------------------------------------------

  appendArchive(messages: readonly NewArchiveMessage[]): Promise<void> {
    return this.#archive.appendArchive(messages);
  }
  queryArchive(filter: ArchiveFilter, limit: number, fromEnd: boolean): Promise<ArchivePage> {
    return this.#archive.queryArchive(filter, limit, fromEnd);
  }
  countArchive(filter: ArchiveFilter): Promise<number> {
    return this.#archive.countArchive(filter);
  }
  archiveHas(ownerId: string, ids: readonly string[]): Promise<string[]> {
    return this.#archive.archiveHas(ownerId, ids);
  }
  purgeArchive(before: string): Promise<number> {
    return this.#archive.purgeArchive(before);
  }

  // OAuth 2.0 ----------------------------------------------------------------------

  async createOAuthClient(client: OAuthClientRow): Promise<void> {
    await unknownAccountOnForeignKey(`no account ${client.ownerId}`, () =>
      this.#db
        .insertInto('oauth_client')
        .values({
          id: client.id,
          name: client.name,
          secret_hash: client.secretHash,
          redirect_uris: JSON.stringify(client.redirectUris),
          owner_id: client.ownerId,
          created_at: client.createdAt,
        })
        .execute(),
    );
  }

  async getOAuthClient(id: string): Promise<OAuthClientRow | undefined> {
    const row = await this.#db.selectFrom('oauth_client').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toOAuthClient(row);
  }

  async listOAuthClients(ownerId?: string): Promise<OAuthClientRow[]> {
    let query = this.#db.selectFrom('oauth_client').selectAll();
    if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
    const rows = await query.execute();
    return rows.map(toOAuthClient).sort((a, b) => a.createdAt - b.createdAt || compare(a.id, b.id));
  }

  async deleteOAuthClient(id: string, ownerId?: string): Promise<boolean> {
    // Codes and tokens go with the client (foreign-key cascade).
    let query = this.#db.deleteFrom('oauth_client').where('id', '=', id);
    if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
    const result = await query.executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async saveOAuthCode(code: NewOAuthCode): Promise<void> {
    await unknownAccountOnForeignKey(`no account ${code.accountId} or no client ${code.clientId}`, () =>
      this.#db
        .insertInto('oauth_code')
        .values({
          code_hash: code.codeHash,
          client_id: code.clientId,
          account_id: code.accountId,
          redirect_uri: code.redirectUri,
          scopes: joinScopes(code.scopes),
          code_challenge: code.codeChallenge,
          challenge_method: code.challengeMethod,
          created_at: code.createdAt,
          expires_at: code.expiresAt,
          used_at: null,
        })
        .execute(),
    );
  }

  async getOAuthCode(codeHash: string): Promise<OAuthCodeRow | undefined> {
    const row = await this.#db
      .selectFrom('oauth_code')
      .selectAll()
      .where('code_hash', '=', codeHash)
      .executeTakeFirst();
    return row && toOAuthCode(row);
  }

  async redeemOAuthCode(codeHash: string, now: number, tokens: readonly NewOAuthToken[]): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      // The conditional UPDATE decides, as in redeemTicket: of concurrent redemptions
      // only one matches `used_at is null`. The tokens commit with it, so a loser that
      // goes on to revoke what the code issued finds them.
      const used = await trx
        .updateTable('oauth_code')
        .set({ used_at: now })
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('code_hash')
        .executeTakeFirst();
      if (used === undefined) return false;
      await insertOAuthTokens(trx, tokens);
      return true;
    });
  }

  async saveOAuthTokens(tokens: readonly NewOAuthToken[]): Promise<void> {
    // One INSERT of all rows: all or none.
    await insertOAuthTokens(this.#db, tokens);
  }

  async getOAuthToken(tokenHash: string): Promise<OAuthTokenRow | undefined> {
    const row = await this.#db
      .selectFrom('oauth_token')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row && toOAuthToken(row);
  }

  async rotateRefreshToken(
    tokenHash: string,
    now: number,
    tokens: readonly NewOAuthToken[],
  ): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      // Only one of concurrent rotations matches `revoked_at is null`.
      const revoked = await trx
        .updateTable('oauth_token')
        .set({ revoked_at: now, last_used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('kind', '=', 'refresh')
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('token_hash')
        .executeTakeFirst();
      if (revoked === undefined) return false;
      await insertOAuthTokens(trx, tokens);
      return true;
    });
  }

  async touchOAuthToken(tokenHash: string, now: number): Promise<void> {
    await this.#db
      .updateTable('oauth_token')
      .set({ last_used_at: now })
      .where('token_hash', '=', tokenHash)
      .execute();
  }

  async revokeOAuthToken(tokenHash: string, now: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('oauth_token')
      .set({ revoked_at: now })
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async revokeOAuthFamily(familyId: string, now: number): Promise<number> {
    const result = await this.#db
      .updateTable('oauth_token')
      .set({ revoked_at: now })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async revokeOAuthTokensByCode(codeHash: string, now: number): Promise<number> {
    // The code's own tokens and every rotation since: their whole families.
    const result = await this.#db
      .updateTable('oauth_token')
      .set({ revoked_at: now })
      .where('revoked_at', 'is', null)
      .where('family_id', 'in', (eb) =>
        eb
          .selectFrom('oauth_token as issued')
          .select('issued.family_id')
          .where('issued.code_hash', '=', codeHash),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async revokeOAuthGrants(accountId: string, clientId: string, now: number): Promise<number> {
    return this.#db.transaction().execute(async (trx) => {
      await trx
        .updateTable('oauth_code')
        .set({ used_at: now })
        .where('account_id', '=', accountId)
        .where('client_id', '=', clientId)
        .where('used_at', 'is', null)
        .execute();
      const result = await trx
        .updateTable('oauth_token')
        .set({ revoked_at: now })
        .where('account_id', '=', accountId)
        .where('client_id', '=', clientId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  async listOAuthTokens(accountId: string, now: number): Promise<OAuthTokenRow[]> {
    const rows = await this.#db
      .selectFrom('oauth_token')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .execute();
    return rows
      .map(toOAuthToken)
      .sort((a, b) => a.createdAt - b.createdAt || compare(a.tokenHash, b.tokenHash));
  }

  async purgeOAuth(codesBefore: number, tokensBefore: number): Promise<number> {
    const codes = await this.#db
      .deleteFrom('oauth_code')
      .where('expires_at', '<=', codesBefore)
      .executeTakeFirst();
    const tokens = await this.#db
      .deleteFrom('oauth_token')
      .where('expires_at', '<=', tokensBefore)
      .executeTakeFirst();
    return Number(codes.numDeletedRows) + Number(tokens.numDeletedRows);
  }

  // Web sessions -------------------------------------------------------------------

  async createWebSession(session: WebSessionRow): Promise<void> {
    await unknownAccountOnForeignKey(`no account ${session.accountId}`, () =>
      this.#db
        .insertInto('web_session')
        .values({
          token_hash: session.tokenHash,
          account_id: session.accountId,
          csrf: session.csrf,
          created_at: session.createdAt,
          expires_at: session.expiresAt,
        })
        .execute(),
    );
  }

  async getWebSession(tokenHash: string): Promise<WebSessionRow | undefined> {
    const row = await this.#db
      .selectFrom('web_session')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return (
      row && {
        tokenHash: row.token_hash,
        accountId: row.account_id,
        csrf: row.csrf,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      }
    );
  }

  async deleteWebSession(tokenHash: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('web_session')
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async deleteWebSessionsOf(accountId: string, keepTokenHash?: string): Promise<string[]> {
    let query = this.#db.deleteFrom('web_session').where('account_id', '=', accountId);
    if (keepTokenHash !== undefined) query = query.where('token_hash', '<>', keepTokenHash);
    const rows = await query.returning('token_hash').execute();
    return rows.map((row) => row.token_hash);
  }

  async purgeWebSessions(now: number): Promise<number> {
    const result = await this.#db.deleteFrom('web_session').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // Invitations and roles (migration 0018) -------------------------------------------

  createSignupInvite(invite: SignupInviteRow): Promise<void> {
    return this.#inviteRoles.createSignupInvite(invite);
  }
  listSignupInvites(): Promise<SignupInviteRow[]> {
    return this.#inviteRoles.listSignupInvites();
  }
  claimSignupInvite(tokenHash: string, now: number, usedBy: string): Promise<boolean> {
    return this.#inviteRoles.claimSignupInvite(tokenHash, now, usedBy);
  }
  releaseSignupInvite(tokenHash: string): Promise<void> {
    return this.#inviteRoles.releaseSignupInvite(tokenHash);
  }
  deleteSignupInvite(id: string): Promise<boolean> {
    return this.#inviteRoles.deleteSignupInvite(id);
  }
  setAccountRole(accountId: string, role: AccountRole | null, now: number): Promise<void> {
    return this.#inviteRoles.setAccountRole(accountId, role, now);
  }
  getAccountRole(accountId: string): Promise<AccountRole | undefined> {
    return this.#inviteRoles.getAccountRole(accountId);
  }
  listAccountRoles(): Promise<{ accountId: string; role: AccountRole }[]> {
    return this.#inviteRoles.listAccountRoles();
  }

  // Server settings ----------------------------------------------------------------

  async getOrCreateSetting(name: string, create: () => string): Promise<string> {
    const existing = await this.#readSetting(name);
    if (existing !== undefined) return existing;
    // Insert-if-absent, then read back: when several processes race, the first
    // insert wins and everyone returns its value.
    await this.#db
      .insertInto('setting')
      .values({ name, value: create() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const stored = await this.#readSetting(name);
    if (stored === undefined) throw new Error(`setting ${name} vanished right after being stored`);
    return stored;
  }

  async #readSetting(name: string): Promise<string | undefined> {
    const row = await this.#db
      .selectFrom('setting')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.value;
  }

  // List mutations -----------------------------------------------------------------

  /**
   * Runs `change` in a transaction that holds the owner's account row, and bumps the
   * owner's list version in that transaction if `change` reports a change. Throws
   * `no-such-account` if the owner does not exist.
   */
  async #listMutation<T>(
    ownerId: string,
    change: (trx: Kysely<Database>) => Promise<ListChange<T>>,
  ): Promise<Versioned<T>> {
    return this.#db.transaction().execute(async (trx) => {
      const current = await this.#lockOwner(trx, ownerId);
      const { value, changed } = await change(trx);
      if (!changed) return { value, listVersion: current };
      return { value, listVersion: await incrementListVersion(trx, ownerId) };
    });
  }

  /**
   * Serializes list mutations of one owner, so that reads made to decide a change
   * (the next free group number, "is this a no-op?") stay true until commit.
   * Returns the current list version.
   */
  async #lockOwner(trx: Kysely<Database>, ownerId: string): Promise<number> {
    const row =
      this.kind === 'postgres'
        ? // A row lock: other owners' mutations proceed in parallel.
          await trx
            .selectFrom('account')
            .select('list_version')
            .where('id', '=', ownerId)
            .forUpdate()
            .executeTakeFirst()
        : // SQLite locks the whole database. Writing first takes the write lock up front
          // (like BEGIN IMMEDIATE, and subject to busy_timeout), instead of upgrading a
          // read snapshot later, which fails with SQLITE_BUSY if another process wrote.
          await trx
            .updateTable('account')
            .set((eb) => ({ list_version: eb.ref('list_version') }))
            .where('id', '=', ownerId)
            .returning('list_version')
            .executeTakeFirst();
    if (row === undefined) throw new PapillonError('no-such-account', `no account ${ownerId}`);
    return Number(row.list_version);
  }
}

/** Adds one to the account's list version and returns the new one. Throws `no-such-account`. */
async function incrementListVersion(db: Kysely<Database>, accountId: string): Promise<number> {
  const row = await db
    .updateTable('account')
    .set((eb) => ({ list_version: eb('list_version', '+', 1) }))
    .where('id', '=', accountId)
    .returning('list_version')
    .executeTakeFirst();
  if (row === undefined) throw new PapillonError('no-such-account', `no account ${accountId}`);
  return Number(row.list_version);
}

// Relationship rows -----------------------------------------------------------------

/** Relationship rows matching the filter with their group ids, ordered by (owner, contact). */
async function loadRelationships(
  db: Kysely<Database>,
  filter: { ownerId?: string; contactId?: string },
): Promise<RelationshipRow[]> {
  let rowQuery = db.selectFrom('relationship').selectAll();
  let memberQuery = db.selectFrom('group_member').selectAll();
  if (filter.ownerId !== undefined) {
    rowQuery = rowQuery.where('owner_id', '=', filter.ownerId);
    memberQuery = memberQuery.where('owner_id', '=', filter.ownerId);
  }
  if (filter.contactId !== undefined) {
    rowQuery = rowQuery.where('contact_id', '=', filter.contactId);
    memberQuery = memberQuery.where('contact_id', '=', filter.contactId);
    if (filter.ownerId === undefined) {
      // Issue 14: group_member's key begins with owner_id, so `contact_id = ?` alone read
      // every membership on the server (a full scan on each roster get and presence
      // broadcast, ~30 ms at 100,000 memberships). Naming the owners that list the
      // contact lets both SQLite and PostgreSQL look each one up by the primary key.
      memberQuery = memberQuery.where(
        'owner_id',
        'in',
        db.selectFrom('relationship').select('owner_id').where('contact_id', '=', filter.contactId),
      );
    }
  }
  // One after the other: inside a transaction both run on the same connection.
  const rows = await rowQuery.execute();
  // A membership needs its relationship row (group_member_relationship_fkey).
  if (rows.length === 0) return [];
  const members = await memberQuery.execute();

  const groupIds = new Map<string, string[]>();
  for (const m of members) {
    const key = pairKey(m.owner_id, m.contact_id);
    const ids = groupIds.get(key);
    if (ids === undefined) groupIds.set(key, [m.group_id]);
    else ids.push(m.group_id);
  }
  return rows
    .map((row) =>
      toRelationship(row, (groupIds.get(pairKey(row.owner_id, row.contact_id)) ?? []).sort(compare)),
    )
    .sort((a, b) => compare(a.ownerId, b.ownerId) || compare(a.contactId, b.contactId));
}

function pairKey(ownerId: string, contactId: string): string {
  return `${ownerId}\n${contactId}`;
}

async function touchRelationship(trx: Kysely<Database>, ownerId: string, contactId: string): Promise<void> {
  await trx
    .updateTable('relationship')
    .set({ updated_at: Date.now() })
    .where('owner_id', '=', ownerId)
    .where('contact_id', '=', contactId)
    .execute();
}

/** Deletes the owner's rows (or one row) left with no list, no nickname and no group. */
async function pruneEmptyRelationships(
  trx: Kysely<Database>,
  ownerId: string,
  contactId?: string,
): Promise<void> {
  let query = trx
    .deleteFrom('relationship')
    .where('owner_id', '=', ownerId)
    .where('forward', '=', 0)
    .where('listed', '=', 0)
    .where('allow', '=', 0)
    .where('block', '=', 0)
    .where('nickname', 'is', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('group_member')
            .select('group_id')
            .whereRef('group_member.owner_id', '=', 'relationship.owner_id')
            .whereRef('group_member.contact_id', '=', 'relationship.contact_id'),
        ),
      ),
    );
  if (contactId !== undefined) query = query.where('contact_id', '=', contactId);
  await query.execute();
}

// Errors ----------------------------------------------------------------------------

function groupNameTaken(name: string): PapillonError {
  return new PapillonError('group-name-taken', `a group named "${name}" already exists`);
}

/** The `code` of a driver error: a string from both better-sqlite3 and pg. */
function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/**
 * Whether `err` is a unique violation of the named constraint. pg reports the
 * constraint name; better-sqlite3 only says "UNIQUE constraint failed: table.column".
 */
function violatesUnique(err: unknown, constraint: string, sqliteColumn: string): boolean {
  const code = errorCode(err);
  if (code === '23505') return (err as { constraint?: unknown }).constraint === constraint;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return err instanceof Error && err.message.includes(sqliteColumn);
  }
  return false;
}

function isForeignKeyViolation(err: unknown): boolean {
  const code = errorCode(err);
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** Runs an insert whose foreign keys name accounts (or clients): a dangling one is `no-such-account`. */
async function unknownAccountOnForeignKey<T>(message: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isForeignKeyViolation(err)) throw new PapillonError('no-such-account', message);
    throw err;
  }
}

// Row mapping -----------------------------------------------------------------------
// Number() on 64-bit columns: pg returns int8 as a string unless the pool installs a
// type parser (the postgres opener does); this keeps the store right either way.

function toFlag(value: boolean): Flag {
  return value ? 1 : 0;
}

function toAccount(row: Selectable<AccountTable>): AccountRow {
  return {
    id: row.id,
    handle: row.handle,
    displayName: row.display_name,
    privacy: row.privacy,
    listVersion: Number(row.list_version),
    createdAt: Number(row.created_at),
    picture: toPictureInfo(row) ?? null,
  };
}

function toPictureInfo(
  row: Pick<AccountTable, 'picture_sha1' | 'picture_size' | 'picture_type'>,
): PictureInfo | undefined {
  const { picture_sha1: sha1, picture_size: size, picture_type: type } = row;
  if (sha1 === null || size === null || !isPictureType(type)) return undefined;
  return { sha1, size: Number(size), type };
}

function isPictureType(type: string | null): type is PictureType {
  return type === 'image/png' || type === 'image/jpeg' || type === 'image/gif';
}

function toRelationship(row: Selectable<RelationshipTable>, groupIds: string[]): RelationshipRow {
  return {
    ownerId: row.owner_id,
    contactId: row.contact_id,
    forward: Number(row.forward) === 1,
    allow: Number(row.allow) === 1,
    block: Number(row.block) === 1,
    nickname: row.nickname,
    noticed: Number(row.noticed) === 1,
    listed: Number(row.listed) === 1,
    groupIds,
    updatedAt: Number(row.updated_at),
  };
}

function toGroup(row: Selectable<ContactGroupTable>): GroupRow {
  return { id: row.id, ownerId: row.owner_id, number: Number(row.number), name: row.name };
}

// OAuth rows ------------------------------------------------------------------------

/** Scopes are stored space-separated, as OAuth writes them (RFC 6749 §3.3). */
function joinScopes(scopes: readonly string[]): string {
  return scopes.join(' ');
}

function splitScopes(text: string): string[] {
  return text.split(' ').filter((s) => s !== '');
}

async function insertOAuthTokens(db: Kysely<Database>, tokens: readonly NewOAuthToken[]): Promise<void> {
  if (tokens.length === 0) return;
  const [first] = tokens;
  await unknownAccountOnForeignKey(`no account ${first?.accountId} or no client ${first?.clientId}`, () =>
    db
      .insertInto('oauth_token')
      .values(
        tokens.map((t) => ({
          token_hash: t.tokenHash,
          kind: t.kind,
          client_id: t.clientId,
          account_id: t.accountId,
          scopes: joinScopes(t.scopes),
          family_id: t.familyId,
          code_hash: t.codeHash,
          granted_at: t.grantedAt,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
          revoked_at: null,
          last_used_at: null,
        })),
      )
      .execute(),
  );
}

function toOAuthClient(row: Selectable<OAuthClientTable>): OAuthClientRow {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    ownerId: row.owner_id,
    createdAt: Number(row.created_at),
  };
}

function toOAuthCode(row: Selectable<OAuthCodeTable>): OAuthCodeRow {
  return {
    codeHash: row.code_hash,
    clientId: row.client_id,
    accountId: row.account_id,
    redirectUri: row.redirect_uri,
    scopes: splitScopes(row.scopes),
    codeChallenge: row.code_challenge,
    challengeMethod: row.challenge_method,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: row.used_at === null ? null : Number(row.used_at),
  };
}

function toOAuthToken(row: Selectable<OAuthTokenTable>): OAuthTokenRow {
  return {
    tokenHash: row.token_hash,
    kind: row.kind,
    clientId: row.client_id,
    accountId: row.account_id,
    scopes: splitScopes(row.scopes),
    familyId: row.family_id,
    codeHash: row.code_hash,
    grantedAt: Number(row.granted_at),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

function credentialColumns(accountId: string, c: PasswordCredentials): CredentialTable {
  return {
    account_id: accountId,
    argon2: c.argon2,
    scram_sha1_salt: c.scramSha1.salt,
    scram_sha1_iterations: c.scramSha1.iterations,
    scram_sha1_stored_key: c.scramSha1.storedKey,
    scram_sha1_server_key: c.scramSha1.serverKey,
    scram_sha256_salt: c.scramSha256.salt,
    scram_sha256_iterations: c.scramSha256.iterations,
    scram_sha256_stored_key: c.scramSha256.storedKey,
    scram_sha256_server_key: c.scramSha256.serverKey,
    md5_salt: c.md5Salt,
    md5_digest: c.md5Digest,
    legacy_hash: c.legacyHash ?? null,
  };
}

function toCredentials(row: Selectable<CredentialTable>): PasswordCredentials {
  return {
    argon2: row.argon2,
    scramSha1: {
      salt: row.scram_sha1_salt,
      iterations: Number(row.scram_sha1_iterations),
      storedKey: row.scram_sha1_stored_key,
      serverKey: row.scram_sha1_server_key,
    },
    scramSha256: {
      salt: row.scram_sha256_salt,
      iterations: Number(row.scram_sha256_iterations),
      storedKey: row.scram_sha256_stored_key,
      serverKey: row.scram_sha256_server_key,
    },
    md5Salt: row.md5_salt,
    md5Digest: row.md5_digest,
    ...(row.legacy_hash ? { legacyHash: row.legacy_hash } : {}),
  };
}
