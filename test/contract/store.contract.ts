/**
 * The behaviour every Store implementation must have. A backend's test file calls
 * `storeContract` with an opener; the cases share one store per run and keep apart
 * by creating their own accounts (unique handles), so they can run in any order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type {
  AccountRow,
  NewAccount,
  NewLoginTicket,
  NewOAuthCode,
  NewOAuthToken,
  OAuthClientRow,
  PasswordCredentials,
  SignupInviteRow,
  Store,
  WebSessionRow,
} from '../../src/store/types.ts';
import { isPapillonError } from '../../src/util/errors.ts';
import { newId } from '../../src/util/ids.ts';
import { offline, offlineContract } from './offline.contract.ts';

export interface OpenedStore {
  store: Store;
  /** Closes the store and removes whatever storage `open` created. */
  cleanup: () => Promise<void>;
}

/** `open` must return a store on empty, not yet migrated storage. */
export function storeContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store contract: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    before(async () => {
      opened = await open();
      store = opened.store;
      await store.migrate();
    });
    after(async () => {
      await opened?.cleanup();
    });

    let serial = 0;
    /** A fresh account with a handle no other case uses. */
    const account = async (overrides: Partial<NewAccount> = {}): Promise<AccountRow> => {
      serial += 1;
      const tag = `${serial}-${newId().slice(0, 8)}`;
      return store.createAccount(
        {
          id: newId(),
          handle: `user${tag}@example.test`,
          displayName: `User ${tag}`,
          privacy: 'allow-all',
          createdAt: 1_700_000_000_000 + serial,
          ...overrides,
        },
        credentials(tag),
      );
    };
    const versionOf = async (id: string): Promise<number | undefined> =>
      (await store.getAccountById(id))?.listVersion;

    describe('migrations', () => {
      it('applies pending migrations once; a second migrate() is a no-op', async () => {
        const fresh = await open();
        try {
          const first = await fresh.store.migrate();
          assert.ok(first.includes('0001-initial'), `applied: ${first.join(', ')}`);
          assert.ok(first.includes('0002-login-ticket'), `applied: ${first.join(', ')}`);
          assert.deepEqual(await fresh.store.migrate(), []);
          // The schema is really there.
          assert.deepEqual(await fresh.store.listAccounts(), []);
        } finally {
          await fresh.cleanup();
        }
      });

      it('reports its kind', () => {
        assert.equal(store.kind, name);
      });
    });

    describe('accounts', () => {
      it('creates an account readable by id and by handle', async () => {
        const id = newId();
        const created = await store.createAccount(
          {
            id,
            handle: `alice-${id}@example.test`,
            displayName: 'Alice',
            privacy: 'allow-list',
            createdAt: 1_234_567_890_123,
          },
          credentials('alice'),
        );
        const expected: AccountRow = {
          id,
          handle: `alice-${id}@example.test`,
          displayName: 'Alice',
          privacy: 'allow-list',
          listVersion: 0,
          createdAt: 1_234_567_890_123,
          picture: null,
        };
        assert.deepEqual(created, expected);
        assert.deepEqual(await store.getAccountById(id), expected);
        assert.deepEqual(await store.getAccountByHandle(expected.handle), expected);
        assert.equal(await store.getAccountById(newId()), undefined);
        assert.equal(await store.getAccountByHandle('nobody@example.test'), undefined);
      });

      it('gets several accounts by id, ignoring unknown ids', async () => {
        const a = await account();
        const b = await account();
        const found = await store.getAccountsByIds([b.id, newId(), a.id]);
        assert.deepEqual(found.map((x) => x.id).sort(), [a.id, b.id].sort());
        assert.deepEqual(
          found.find((x) => x.id === a.id),
          a,
        );
        assert.deepEqual(await store.getAccountsByIds([]), []);
      });

      it('lists accounts ordered by handle (code-point order, whatever the collation)', async () => {
        const domain = `order-${newId().slice(0, 8)}.test`;
        for (const local of ['zed', 'a_b', 'ab', 'a.b', 'a-b']) {
          await account({ handle: `${local}@${domain}` });
        }
        const all = await store.listAccounts();
        const ours = all.filter((a) => a.handle.endsWith(`@${domain}`)).map((a) => a.handle.split('@')[0]);
        assert.deepEqual(ours, ['a-b', 'a.b', 'a_b', 'ab', 'zed']);
        const handles = all.map((a) => a.handle);
        assert.deepEqual(handles, [...handles].sort());
      });

      it('rejects a duplicate handle with handle-taken and keeps nothing of the second account', async () => {
        const first = await account();
        const secondId = newId();
        await assert.rejects(
          store.createAccount(
            { id: secondId, handle: first.handle, displayName: 'Copy', privacy: 'allow-all', createdAt: 1 },
            credentials('copy'),
          ),
          (err) => isPapillonError(err, 'handle-taken'),
        );
        assert.equal(await store.getAccountById(secondId), undefined);
        assert.equal(await store.getCredentials(secondId), undefined);
        assert.deepEqual(await store.getAccountByHandle(first.handle), first);
      });

      it('updates the display name without moving the list version', async () => {
        const a = await account();
        const updated = await store.updateAccount(a.id, { displayName: 'Renamed' });
        assert.deepEqual(updated, { ...a, displayName: 'Renamed' });
        assert.deepEqual(await store.getAccountById(a.id), updated);
      });

      it('bumps the list version when privacy changes, and only then', async () => {
        const a = await account();
        assert.equal((await store.updateAccount(a.id, { privacy: 'allow-list' }))?.listVersion, 1);
        assert.equal((await store.updateAccount(a.id, { privacy: 'allow-list' }))?.listVersion, 1);
        const both = await store.updateAccount(a.id, { privacy: 'allow-all', displayName: 'Both' });
        assert.deepEqual(both, { ...a, privacy: 'allow-all', displayName: 'Both', listVersion: 2 });
        assert.deepEqual(await store.getAccountById(a.id), both);
        assert.deepEqual(await store.updateAccount(a.id, {}), both);
      });

      it('returns undefined when updating an unknown account', async () => {
        assert.equal(await store.updateAccount(newId(), { displayName: 'Ghost' }), undefined);
        assert.equal(await store.updateAccount(newId(), { privacy: 'allow-list' }), undefined);
      });

      it('deletes an account with everything it owns or that points at it', async () => {
        const gone = await account();
        const friend = await account();
        const fan = await account();
        const bystander = await account();

        const group = (await store.createGroup(gone.id, newId(), 'Friends')).value;
        await store.updateRelationship(gone.id, friend.id, { forward: true });
        await store.addToGroup(gone.id, friend.id, group.id);
        await store.updateRelationship(friend.id, gone.id, { forward: true, allow: true });
        await store.updateRelationship(friend.id, bystander.id, { forward: true });
        const friendGroup = (await store.createGroup(friend.id, newId(), 'Mates')).value;
        await store.addToGroup(friend.id, gone.id, friendGroup.id);
        await store.updateRelationship(fan.id, gone.id, { block: true });
        await store.enqueueOffline(offline(gone.id, 'hi'));
        const friendVersion = await versionOf(friend.id);
        const fanVersion = await versionOf(fan.id);

        assert.equal(await store.deleteAccount(gone.id), true);
        assert.equal(await store.getAccountById(gone.id), undefined);
        assert.equal(await store.getAccountByHandle(gone.handle), undefined);
        assert.equal(await store.getCredentials(gone.id), undefined);
        assert.deepEqual(await store.listRelationships(gone.id), []);
        assert.deepEqual(await store.listRelationshipsTo(gone.id), []);
        assert.equal(await store.getRelationship(friend.id, gone.id), undefined);
        assert.equal(await store.getRelationship(fan.id, gone.id), undefined);
        assert.deepEqual(await store.listGroups(gone.id), []);
        assert.equal(await store.countOffline(gone.id), 0);
        assert.deepEqual(await store.listOffline(gone.id), []);
        // Other rows survive, and owners who lost a row see a new list version.
        assert.deepEqual(
          (await store.listRelationships(friend.id)).map((r) => r.contactId),
          [bystander.id],
        );
        assert.deepEqual(await store.listGroups(friend.id), [friendGroup]);
        assert.equal(await versionOf(friend.id), (friendVersion ?? 0) + 1);
        assert.equal(await versionOf(fan.id), (fanVersion ?? 0) + 1);
        assert.equal(await versionOf(bystander.id), 0);

        assert.equal(await store.deleteAccount(gone.id), false);
      });
    });

    describe('credentials', () => {
      it('round-trips credentials and replaces them', async () => {
        const id = newId();
        await store.createAccount(
          {
            id,
            handle: `creds-${id}@example.test`,
            displayName: 'Creds',
            privacy: 'allow-all',
            createdAt: 1,
          },
          credentials('original'),
        );
        assert.deepEqual(await store.getCredentials(id), credentials('original'));
        const replacement = credentials('replacement');
        await store.setCredentials(id, replacement);
        assert.deepEqual(await store.getCredentials(id), replacement);
        assert.equal(await store.getCredentials(newId()), undefined);
      });

      it('empties every MD5 digest at once, and nothing else', async () => {
        const id = newId();
        await store.createAccount(
          { id, handle: `md5-${id}@example.test`, displayName: 'Md5', privacy: 'allow-all', createdAt: 1 },
          credentials('md5'),
        );
        assert.ok((await store.clearMd5Digests()) >= 1);
        assert.deepEqual(await store.getCredentials(id), { ...credentials('md5'), md5Digest: '' });
        assert.equal(await store.clearMd5Digests(), 0, 'none left to clear');
      });
    });

    describe('relationships', () => {
      it('keeps whether the contact noticed the add, without keeping an empty row alive', async () => {
        const [owner, contact] = [await account(), await account()];
        await store.updateRelationship(owner.id, contact.id, { forward: true });
        assert.equal((await store.getRelationship(owner.id, contact.id))?.noticed, false);
        await store.updateRelationship(owner.id, contact.id, { noticed: true });
        assert.equal((await store.getRelationship(owner.id, contact.id))?.noticed, true);
        await store.updateRelationship(owner.id, contact.id, { forward: false });
        assert.equal(await store.getRelationship(owner.id, contact.id), undefined);
      });

      it('tells which of two accounts block the other, in one read', async () => {
        const [a, b, c] = [await account(), await account(), await account()];
        assert.deepEqual(await store.blockersBetween(a.id, b.id), []);
        await store.updateRelationship(a.id, b.id, { forward: true });
        await store.updateRelationship(b.id, c.id, { block: true });
        assert.deepEqual(await store.blockersBetween(a.id, b.id), []);
        await store.updateRelationship(b.id, a.id, { block: true });
        assert.deepEqual(await store.blockersBetween(a.id, b.id), [b.id]);
        assert.deepEqual(await store.blockersBetween(b.id, a.id), [b.id]);
        await store.updateRelationship(a.id, b.id, { block: true });
        assert.deepEqual((await store.blockersBetween(a.id, b.id)).sort(), [a.id, b.id].sort());
        assert.deepEqual(await store.blockersBetween(a.id, c.id), []);
      });

      it('keeps a contact listed without any list, until it is unlisted', async () => {
        const [owner, contact] = [await account(), await account()];
        await store.updateRelationship(owner.id, contact.id, { forward: true, listed: true });
        await store.updateRelationship(owner.id, contact.id, { forward: false });
        const row = await store.getRelationship(owner.id, contact.id);
        assert.equal(row?.listed, true);
        assert.equal(row?.forward, false);
        assert.deepEqual(
          (await store.listRelationships(owner.id)).map((r) => r.listed),
          [true],
        );
        await store.updateRelationship(owner.id, contact.id, { listed: false });
        assert.equal(await store.getRelationship(owner.id, contact.id), undefined);
      });

      it('creates a row from a patch, with unspecified lists false', async () => {
        const [owner, contact] = [await account(), await account()];
        const start = Date.now();
        const result = await store.updateRelationship(owner.id, contact.id, {
          forward: true,
          nickname: 'Bob',
        });
        assert.equal(result.listVersion, 1);
        const row = result.value;
        assert.ok(row);
        assert.deepEqual(
          { ...row, updatedAt: 0 },
          {
            ownerId: owner.id,
            contactId: contact.id,
            forward: true,
            allow: false,
            block: false,
            nickname: 'Bob',
            noticed: false,
            listed: false,
            groupIds: [],
            updatedAt: 0,
          },
        );
        assert.ok(row.updatedAt >= start && row.updatedAt <= Date.now(), `updatedAt ${row.updatedAt}`);
        assert.deepEqual(await store.getRelationship(owner.id, contact.id), row);
        assert.equal(await store.getRelationship(contact.id, owner.id), undefined);
      });

      it('patches only the fields given; nickname can be cleared with null', async () => {
        const [owner, contact] = [await account(), await account()];
        await store.updateRelationship(owner.id, contact.id, {
          forward: true,
          allow: true,
          nickname: 'Nick',
        });
        const blocked = await store.updateRelationship(owner.id, contact.id, { allow: false, block: true });
        assert.deepEqual(
          { ...blocked.value, updatedAt: 0 },
          {
            ownerId: owner.id,
            contactId: contact.id,
            forward: true,
            allow: false,
            block: true,
            nickname: 'Nick',
            noticed: false,
            listed: false,
            groupIds: [],
            updatedAt: 0,
          },
        );
        const cleared = await store.updateRelationship(owner.id, contact.id, { nickname: null });
        assert.equal(cleared.value?.nickname, null);
        assert.equal(cleared.value?.forward, true);
        assert.deepEqual(await store.getRelationship(owner.id, contact.id), cleared.value);
        assert.equal(cleared.listVersion, 3);
      });

      it('deletes a row left with no list, no nickname and no group', async () => {
        const [owner, contact] = [await account(), await account()];
        await store.updateRelationship(owner.id, contact.id, { allow: true, nickname: 'N' });
        const partly = await store.updateRelationship(owner.id, contact.id, { allow: false });
        assert.ok(partly.value, 'the nickname alone keeps the row');
        const emptied = await store.updateRelationship(owner.id, contact.id, { nickname: null });
        assert.deepEqual(emptied, { value: undefined, listVersion: 3 });
        assert.equal(await store.getRelationship(owner.id, contact.id), undefined);
        assert.deepEqual(await store.listRelationships(owner.id), []);
        assert.equal(await versionOf(owner.id), 3);
      });

      it('does not create a row, nor bump the version, for an all-false patch on a missing row', async () => {
        const [owner, contact] = [await account(), await account()];
        await store.updateRelationship(owner.id, (await account()).id, { forward: true });
        const result = await store.updateRelationship(owner.id, contact.id, {
          forward: false,
          allow: false,
          block: false,
          nickname: null,
        });
        assert.deepEqual(result, { value: undefined, listVersion: 1 });
        assert.deepEqual(await store.updateRelationship(owner.id, contact.id, {}), {
          value: undefined,
          listVersion: 1,
        });
        assert.equal(await store.getRelationship(owner.id, contact.id), undefined);
        assert.equal(await versionOf(owner.id), 1);
      });

      it('does not bump the version for a patch that changes nothing', async () => {
        const [owner, contact] = [await account(), await account()];
        const created = await store.updateRelationship(owner.id, contact.id, {
          forward: true,
          nickname: 'x',
        });
        const again = await store.updateRelationship(owner.id, contact.id, {
          forward: true,
          block: false,
          nickname: 'x',
        });
        assert.deepEqual(again, created);
        assert.equal(await versionOf(owner.id), 1);
      });

      it('keeps a row that is only in a group, and deletes it once it leaves the group', async () => {
        const [owner, contact] = [await account(), await account()];
        const group = (await store.createGroup(owner.id, newId(), 'G')).value;
        await store.updateRelationship(owner.id, contact.id, { forward: true });
        await store.addToGroup(owner.id, contact.id, group.id);
        const kept = await store.updateRelationship(owner.id, contact.id, { forward: false });
        assert.deepEqual(kept.value?.groupIds, [group.id]);
        assert.equal(kept.value?.forward, false);
        const removed = await store.removeFromGroup(owner.id, contact.id, group.id);
        assert.deepEqual(removed, { value: true, listVersion: 5 });
        assert.equal(await store.getRelationship(owner.id, contact.id), undefined);
      });

      it("lists an owner's rows by contact id, and the rows others keep about a contact by owner id", async () => {
        const target = await account();
        const owners = [await account(), await account(), await account()];
        for (const owner of owners) await store.updateRelationship(owner.id, target.id, { forward: true });
        const contacts = [await account(), await account(), await account()];
        for (const contact of contacts)
          await store.updateRelationship(owners[0]?.id ?? '', contact.id, { allow: true });
        // Read by contact id too, each row with its owner's groups for that contact only.
        const groupOf = new Map<string, string>();
        for (const owner of owners.slice(0, 2)) {
          const group = (await store.createGroup(owner.id, newId(), 'G')).value;
          await store.addToGroup(owner.id, target.id, group.id);
          groupOf.set(owner.id, group.id);
        }
        await store.addToGroup(
          owners[0]?.id ?? '',
          contacts[0]?.id ?? '',
          groupOf.get(owners[0]?.id ?? '') ?? '',
        );

        const to = await store.listRelationshipsTo(target.id);
        assert.deepEqual(
          to.map((r) => r.ownerId),
          owners.map((o) => o.id).sort(),
        );
        assert.deepEqual(
          to.map((r) => r.groupIds),
          to.map((r) => (groupOf.has(r.ownerId) ? [groupOf.get(r.ownerId)] : [])),
        );
        assert.ok(to.every((r) => r.contactId === target.id && r.forward && !r.allow));

        const mine = await store.listRelationships(owners[0]?.id ?? '');
        assert.deepEqual(
          mine.map((r) => r.contactId),
          [target.id, ...contacts.map((c) => c.id)].sort(),
        );
        assert.deepEqual(await store.listRelationshipsTo(contacts[0]?.id ?? ''), [
          mine.find((r) => r.contactId === contacts[0]?.id),
        ]);
      });

      it('rejects a relationship with an unknown owner or contact as no-such-account', async () => {
        const owner = await account();
        await assert.rejects(store.updateRelationship(owner.id, newId(), { forward: true }), (err) =>
          isPapillonError(err, 'no-such-account'),
        );
        await assert.rejects(store.updateRelationship(newId(), owner.id, { forward: true }), (err) =>
          isPapillonError(err, 'no-such-account'),
        );
        assert.equal(await versionOf(owner.id), 0);
      });
    });

    describe('list versions', () => {
      it('bumps exactly once per list mutation and returns the new version', async () => {
        const [owner, c1, c2] = [await account(), await account(), await account()];
        const group = newId();
        const steps: Array<() => Promise<{ listVersion: number }>> = [
          () => store.updateRelationship(owner.id, c1.id, { forward: true }),
          () => store.updateRelationship(owner.id, c2.id, { allow: true }),
          () => store.createGroup(owner.id, group, 'One'),
          () => store.renameGroup(owner.id, group, 'Uno'),
          () => store.addToGroup(owner.id, c1.id, group),
          () => store.removeFromGroup(owner.id, c1.id, group),
          () => store.addToGroup(owner.id, c1.id, group),
          () => store.deleteGroup(owner.id, group),
          () => store.updateRelationship(owner.id, c2.id, { allow: false }),
        ];
        let expected = 0;
        for (const step of steps) {
          expected += 1;
          assert.equal((await step()).listVersion, expected, `returned by step ${expected}`);
          assert.equal(await versionOf(owner.id), expected, `stored after step ${expected}`);
        }
        assert.equal(
          (await store.updateAccount(owner.id, { privacy: 'allow-list' }))?.listVersion,
          expected + 1,
        );
      });

      it('serializes concurrent mutations of one owner: one bump each, none lost', async () => {
        const owner = await account();
        const contacts = await Promise.all(Array.from({ length: 10 }, () => account()));
        const results = await Promise.all(
          contacts.map((c) => store.updateRelationship(owner.id, c.id, { forward: true })),
        );
        assert.deepEqual(
          results.map((r) => r.listVersion).sort(byNumber),
          Array.from({ length: 10 }, (_, i) => i + 1),
        );
        assert.equal(await versionOf(owner.id), 10);
        assert.equal((await store.listRelationships(owner.id)).length, 10);
      });

      it('leaves the version alone for mutations that change nothing', async () => {
        const [owner, contact] = [await account(), await account()];
        const missing = newId();
        assert.deepEqual(await store.renameGroup(owner.id, missing, 'x'), {
          value: undefined,
          listVersion: 0,
        });
        assert.deepEqual(await store.deleteGroup(owner.id, missing), { value: false, listVersion: 0 });
        assert.deepEqual(await store.addToGroup(owner.id, contact.id, missing), {
          value: false,
          listVersion: 0,
        });
        assert.deepEqual(await store.removeFromGroup(owner.id, contact.id, missing), {
          value: false,
          listVersion: 0,
        });
        assert.equal(await versionOf(owner.id), 0);
      });
    });

    describe('groups', () => {
      it('numbers groups with the smallest unused number and reuses freed numbers', async () => {
        const owner = await account();
        const ids = [newId(), newId(), newId()];
        const numbers = [];
        for (const [i, id] of ids.entries()) {
          numbers.push((await store.createGroup(owner.id, id, `Group ${i}`)).value.number);
        }
        assert.deepEqual(numbers, [1, 2, 3]);
        assert.deepEqual(await store.deleteGroup(owner.id, ids[1] ?? ''), { value: true, listVersion: 4 });
        const reused = await store.createGroup(owner.id, newId(), 'Again');
        assert.equal(reused.value.number, 2);
        assert.equal(reused.listVersion, 5);
        assert.equal((await store.createGroup(owner.id, newId(), 'Next')).value.number, 4);
        await store.deleteGroup(owner.id, ids[0] ?? '');
        assert.equal((await store.createGroup(owner.id, newId(), 'First again')).value.number, 1);

        const groups = await store.listGroups(owner.id);
        assert.deepEqual(
          groups.map((g) => [g.number, g.name]),
          [
            [1, 'First again'],
            [2, 'Again'],
            [3, 'Group 2'],
            [4, 'Next'],
          ],
        );
        assert.ok(groups.every((g) => g.ownerId === owner.id));
      });

      it('numbers each owner separately', async () => {
        const [a, b] = [await account(), await account()];
        const ga = await store.createGroup(a.id, newId(), 'Same name');
        const gb = await store.createGroup(b.id, newId(), 'Same name');
        assert.equal(ga.value.number, 1);
        assert.equal(gb.value.number, 1);
        assert.deepEqual(await store.listGroups(b.id), [gb.value]);
      });

      it('gives concurrent creations distinct numbers', async () => {
        const owner = await account();
        const created = await Promise.all(
          Array.from({ length: 5 }, (_, i) => store.createGroup(owner.id, newId(), `Parallel ${i}`)),
        );
        assert.deepEqual(created.map((c) => c.value.number).sort(byNumber), [1, 2, 3, 4, 5]);
        assert.deepEqual(created.map((c) => c.listVersion).sort(byNumber), [1, 2, 3, 4, 5]);
      });

      it('rejects a duplicate group name with group-name-taken, on create and on rename', async () => {
        const owner = await account();
        const friends = await store.createGroup(owner.id, newId(), 'Friends');
        const family = await store.createGroup(owner.id, newId(), 'Family');
        await assert.rejects(store.createGroup(owner.id, newId(), 'Friends'), (err) =>
          isPapillonError(err, 'group-name-taken'),
        );
        await assert.rejects(store.renameGroup(owner.id, family.value.id, 'Friends'), (err) =>
          isPapillonError(err, 'group-name-taken'),
        );
        assert.equal(await versionOf(owner.id), 2);
        assert.deepEqual(await store.listGroups(owner.id), [friends.value, family.value]);
      });

      it("renames a group, ignoring other owners' groups", async () => {
        const [owner, other] = [await account(), await account()];
        const group = (await store.createGroup(owner.id, newId(), 'Old')).value;
        assert.deepEqual(await store.renameGroup(owner.id, group.id, 'New'), {
          value: { ...group, name: 'New' },
          listVersion: 2,
        });
        assert.deepEqual(await store.renameGroup(owner.id, group.id, 'New'), {
          value: { ...group, name: 'New' },
          listVersion: 2,
        });
        assert.deepEqual(await store.renameGroup(other.id, group.id, 'Stolen'), {
          value: undefined,
          listVersion: 0,
        });
        assert.deepEqual(await store.deleteGroup(other.id, group.id), { value: false, listVersion: 0 });
        assert.deepEqual(await store.listGroups(owner.id), [{ ...group, name: 'New' }]);
      });

      it('adds and removes members; groupIds on the row are sorted', async () => {
        const [owner, contact] = [await account(), await account()];
        const ids = ['g-c', 'g-a', 'g-b'].map((p) => `${p}-${newId()}`);
        for (const [i, id] of ids.entries()) await store.createGroup(owner.id, id, `G${i}`);
        await store.updateRelationship(owner.id, contact.id, { forward: true });
        for (const id of ids) {
          assert.equal((await store.addToGroup(owner.id, contact.id, id)).value, true);
        }
        assert.deepEqual((await store.getRelationship(owner.id, contact.id))?.groupIds, [...ids].sort());
        const version = await versionOf(owner.id);

        // Already a member: still true, nothing changes.
        assert.deepEqual(await store.addToGroup(owner.id, contact.id, ids[0] ?? ''), {
          value: true,
          listVersion: version,
        });

        assert.deepEqual(await store.removeFromGroup(owner.id, contact.id, ids[1] ?? ''), {
          value: true,
          listVersion: (version ?? 0) + 1,
        });
        assert.deepEqual(await store.removeFromGroup(owner.id, contact.id, ids[1] ?? ''), {
          value: false,
          listVersion: (version ?? 0) + 1,
        });
        assert.deepEqual(
          (await store.getRelationship(owner.id, contact.id))?.groupIds,
          [ids[0], ids[2]].sort(),
        );
        assert.deepEqual(
          (await store.listRelationships(owner.id)).map((r) => r.groupIds),
          [[ids[0], ids[2]].sort()],
        );
      });

      it("refuses to add a missing relationship, a missing group or another owner's group", async () => {
        const [owner, other, contact, stranger] = [
          await account(),
          await account(),
          await account(),
          await account(),
        ];
        const group = (await store.createGroup(owner.id, newId(), 'Mine')).value;
        const foreign = (await store.createGroup(other.id, newId(), 'Theirs')).value;
        await store.updateRelationship(owner.id, contact.id, { forward: true });
        assert.deepEqual(await store.addToGroup(owner.id, stranger.id, group.id), {
          value: false,
          listVersion: 2,
        });
        assert.deepEqual(await store.addToGroup(owner.id, contact.id, newId()), {
          value: false,
          listVersion: 2,
        });
        assert.deepEqual(await store.addToGroup(owner.id, contact.id, foreign.id), {
          value: false,
          listVersion: 2,
        });
        assert.equal(await store.getRelationship(owner.id, stranger.id), undefined);
        assert.deepEqual((await store.getRelationship(owner.id, contact.id))?.groupIds, []);
      });

      it('removes memberships with the group, and rows kept only by that group', async () => {
        const [owner, listed, onlyGrouped] = [await account(), await account(), await account()];
        const doomed = (await store.createGroup(owner.id, newId(), 'Doomed')).value;
        const kept = (await store.createGroup(owner.id, newId(), 'Kept')).value;
        await store.updateRelationship(owner.id, listed.id, { forward: true });
        await store.addToGroup(owner.id, listed.id, doomed.id);
        await store.addToGroup(owner.id, listed.id, kept.id);
        await store.updateRelationship(owner.id, onlyGrouped.id, { forward: true });
        await store.addToGroup(owner.id, onlyGrouped.id, doomed.id);
        await store.updateRelationship(owner.id, onlyGrouped.id, { forward: false });
        const version = (await versionOf(owner.id)) ?? 0;

        assert.deepEqual(await store.deleteGroup(owner.id, doomed.id), {
          value: true,
          listVersion: version + 1,
        });
        assert.deepEqual((await store.getRelationship(owner.id, listed.id))?.groupIds, [kept.id]);
        assert.equal(await store.getRelationship(owner.id, onlyGrouped.id), undefined);
        assert.deepEqual(await store.listGroups(owner.id), [kept]);
        assert.deepEqual(await store.deleteGroup(owner.id, doomed.id), {
          value: false,
          listVersion: version + 1,
        });
      });
    });

    offlineContract(
      () => store,
      () => account(),
    );

    describe('login tickets', () => {
      const hour = 60 * 60 * 1000;
      const t0 = 1_700_000_000_000;
      /** A fresh ticket hash: 64 hex characters, like a SHA-256. */
      const hash = (): string => `${newId().replaceAll('-', '')}${newId().replaceAll('-', '')}`;
      const ticket = (accountId: string, overrides: Partial<NewLoginTicket> = {}): NewLoginTicket => ({
        tokenHash: hash(),
        accountId,
        purpose: 'msnp-login',
        createdAt: t0,
        expiresAt: t0 + hour,
        ...overrides,
      });

      it('redeems a ticket once, for its account', async () => {
        const [a, b] = [await account(), await account()];
        const ta = ticket(a.id);
        const tb = ticket(b.id);
        await store.saveTicket(ta);
        await store.saveTicket(tb);
        assert.equal(await store.redeemTicket(ta.tokenHash, 'msnp-login', t0 + 1), a.id);
        assert.equal(await store.redeemTicket(ta.tokenHash, 'msnp-login', t0 + 2), undefined);
        assert.equal(await store.redeemTicket(tb.tokenHash, 'msnp-login', t0 + 3), b.id);
        assert.equal(await store.redeemTicket(hash(), 'msnp-login', t0 + 4), undefined);
      });

      it('lets exactly one of concurrent redemptions succeed', async () => {
        const a = await account();
        const t = ticket(a.id);
        await store.saveTicket(t);
        const results = await Promise.all(
          Array.from({ length: 10 }, () => store.redeemTicket(t.tokenHash, 'msnp-login', t0 + 1)),
        );
        assert.deepEqual(
          results.filter((r) => r !== undefined),
          [a.id],
        );
      });

      it('refuses an expired ticket: valid only while now < expiresAt', async () => {
        const a = await account();
        const [early, onTime] = [ticket(a.id), ticket(a.id)];
        await store.saveTicket(early);
        await store.saveTicket(onTime);
        assert.equal(await store.redeemTicket(early.tokenHash, 'msnp-login', t0 + hour), undefined);
        assert.equal(await store.redeemTicket(early.tokenHash, 'msnp-login', t0 + 2 * hour), undefined);
        assert.equal(await store.redeemTicket(onTime.tokenHash, 'msnp-login', t0 + hour - 1), a.id);
      });

      it('refuses a ticket redeemed for another purpose, and keeps it for its own', async () => {
        const a = await account();
        const t = ticket(a.id, { purpose: 'msnp-login' });
        await store.saveTicket(t);
        assert.equal(await store.redeemTicket(t.tokenHash, 'web-session', t0 + 1), undefined);
        assert.equal(await store.redeemTicket(t.tokenHash, 'msnp-login', t0 + 2), a.id);
      });

      it("deletes an account's tickets with the account, and refuses tickets for unknown accounts", async () => {
        const a = await account();
        const t = ticket(a.id);
        await store.saveTicket(t);
        assert.equal(await store.deleteAccount(a.id), true);
        assert.equal(await store.redeemTicket(t.tokenHash, 'msnp-login', t0 + 1), undefined);
        await assert.rejects(store.saveTicket(ticket(newId())), (err) =>
          isPapillonError(err, 'no-such-account'),
        );
      });

      it('reads a ticket without using it, with its proof key, until it expires', async () => {
        const a = await account();
        const t = ticket(a.id, { purpose: 'msn-service', proofKey: 'c2VjcmV0' });
        const plain = ticket(a.id);
        await store.saveTicket(t);
        await store.saveTicket(plain);
        const read = await store.findTicket(t.tokenHash, 'msn-service', t0 + 1);
        assert.deepEqual(read, { accountId: a.id, proofKey: 'c2VjcmV0', usedAt: null, expiresAt: t0 + hour });
        assert.deepEqual(await store.findTicket(t.tokenHash, 'msn-service', t0 + 2), read, 'not used up');
        assert.equal(await store.findTicket(t.tokenHash, 'msnp-login', t0 + 1), undefined);
        assert.equal(await store.findTicket(t.tokenHash, 'msn-service', t0 + hour), undefined);
        assert.equal((await store.findTicket(plain.tokenHash, 'msnp-login', t0 + 1))?.proofKey, null);
        assert.equal(await store.redeemTicket(plain.tokenHash, 'msnp-login', t0 + 2), a.id);
        assert.equal((await store.findTicket(plain.tokenHash, 'msnp-login', t0 + 3))?.usedAt, t0 + 2);
      });

      it('purges tickets expired at the cut-off, used or not', async () => {
        const a = await account();
        // Times far in the past, so no other case's tickets are affected.
        const used = ticket(a.id, { createdAt: 1_000, expiresAt: 2_000 });
        const unused = ticket(a.id, { createdAt: 1_000, expiresAt: 3_000 });
        const live = ticket(a.id, { createdAt: 1_000, expiresAt: 5_000 });
        for (const t of [used, unused, live]) await store.saveTicket(t);
        assert.equal(await store.redeemTicket(used.tokenHash, 'msnp-login', 1_500), a.id);

        assert.equal(await store.purgeTickets(1_999), 0);
        assert.equal(await store.purgeTickets(3_000), 2);
        assert.equal(await store.purgeTickets(3_000), 0);
        assert.equal(await store.redeemTicket(live.tokenHash, 'msnp-login', 4_000), a.id);
      });
    });

    describe('profile properties', () => {
      it('sets, replaces, lists and clears properties per account', async () => {
        const a = await account();
        const b = await account();
        assert.deepEqual(await store.getProperties(a.id), {});
        await store.setProperty(a.id, 'phone.home', '+1 555 0100');
        await store.setProperty(a.id, 'phone.work', '+1 555 0199');
        await store.setProperty(a.id, 'phone.home', '+1 555 0101');
        await store.setProperty(b.id, 'phone.home', 'other');
        assert.deepEqual(await store.getProperties(a.id), {
          'phone.home': '+1 555 0101',
          'phone.work': '+1 555 0199',
        });
        assert.deepEqual(await store.getProperties(a.id, ['phone.work', 'missing']), {
          'phone.work': '+1 555 0199',
        });
        assert.deepEqual(await store.getProperties(a.id, []), {});
        await store.setProperty(a.id, 'phone.work', null);
        assert.deepEqual(await store.getProperties(a.id), { 'phone.home': '+1 555 0101' });
        assert.deepEqual(await store.getProperties(b.id), { 'phone.home': 'other' });
      });

      it('refuses an unknown account and goes with a deleted one', async () => {
        await assert.rejects(store.setProperty(newId(), 'phone.home', 'x'), (e: unknown) =>
          isPapillonError(e, 'no-such-account'),
        );
        const a = await account();
        await store.setProperty(a.id, 'phone.home', 'x');
        await store.deleteAccount(a.id);
        assert.deepEqual(await store.getProperties(a.id), {});
      });
    });

    describe('account picture', () => {
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 255]);

      it('stores the picture with the account row, replaces and removes it', async () => {
        const a = await account();
        const b = await account();
        assert.equal(await store.getPicture(a.id), undefined);
        const info = { sha1: 'a'.repeat(40), size: png.length, type: 'image/png' as const };
        const updated = await store.setPicture(a.id, { ...info, data: png });
        assert.deepEqual(updated?.picture, info);
        assert.deepEqual((await store.getAccountById(a.id))?.picture, info);
        assert.deepEqual((await store.getAccountByHandle(a.handle))?.picture, info);
        assert.deepEqual(await store.getPicture(a.id), { ...info, data: png });
        const gif = Buffer.from('GIF89a-tiny');
        const next = { sha1: 'b'.repeat(40), size: gif.length, type: 'image/gif' as const };
        await store.setPicture(a.id, { ...next, data: gif });
        assert.deepEqual((await store.getAccountById(a.id))?.picture, next);
        assert.deepEqual(await store.getPicture(a.id), { ...next, data: gif });
        assert.equal((await store.getAccountById(b.id))?.picture, null);
        assert.equal((await store.setPicture(a.id, null))?.picture, null);
        assert.equal((await store.getAccountById(a.id))?.picture, null);
        assert.equal(await store.getPicture(a.id), undefined);
      });

      it('answers undefined for an unknown account and goes with a deleted one', async () => {
        const info = { sha1: 'c'.repeat(40), size: png.length, type: 'image/png' as const };
        assert.equal(await store.setPicture(newId(), { ...info, data: png }), undefined);
        const a = await account();
        await store.setPicture(a.id, { ...info, data: png });
        await store.deleteAccount(a.id);
        assert.equal(await store.getPicture(a.id), undefined);
      });
    });

    describe('oauth', () => {
      const t0 = 1_700_000_000_000;
      const hour = 60 * 60 * 1000;
      /** A fresh 64-hex-digit hash, like a SHA-256. */
      const hash = (): string => `${newId().replaceAll('-', '')}${newId().replaceAll('-', '')}`;
      const client = async (overrides: Partial<OAuthClientRow> = {}): Promise<OAuthClientRow> => {
        const row: OAuthClientRow = {
          id: newId(),
          name: 'App',
          secretHash: hash(),
          redirectUris: ['https://app.example/cb', 'com.example.app:/cb'],
          ownerId: null,
          createdAt: t0,
          ...overrides,
        };
        await store.createOAuthClient(row);
        return row;
      };
      const code = (
        clientId: string,
        accountId: string,
        overrides: Partial<NewOAuthCode> = {},
      ): NewOAuthCode => ({
        codeHash: hash(),
        clientId,
        accountId,
        redirectUri: 'https://app.example/cb',
        scopes: ['wl.messenger', 'wl.offline_access'],
        codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        challengeMethod: 'S256',
        createdAt: t0,
        expiresAt: t0 + hour,
        ...overrides,
      });
      const token = (
        clientId: string,
        accountId: string,
        overrides: Partial<NewOAuthToken> = {},
      ): NewOAuthToken => ({
        tokenHash: hash(),
        kind: 'access',
        clientId,
        accountId,
        scopes: ['wl.messenger'],
        familyId: newId(),
        codeHash: null,
        grantedAt: t0,
        createdAt: t0,
        expiresAt: t0 + hour,
        ...overrides,
      });
      const live = async (tokenHash: string): Promise<boolean> =>
        (await store.getOAuthToken(tokenHash))?.revokedAt === null;

      it('creates, reads, lists (per owner) and deletes clients', async () => {
        const owner = await account();
        const mine = await client({ ownerId: owner.id, createdAt: t0 + 2, name: 'Mine' });
        const operators = await client({ secretHash: null, createdAt: t0 + 1 });
        assert.deepEqual(await store.getOAuthClient(mine.id), mine);
        assert.deepEqual(await store.getOAuthClient(operators.id), operators);
        assert.equal(await store.getOAuthClient(newId()), undefined);
        assert.deepEqual(await store.listOAuthClients(owner.id), [mine]);
        const all = await store.listOAuthClients();
        assert.ok(all.findIndex((c) => c.id === operators.id) < all.findIndex((c) => c.id === mine.id));

        assert.equal(await store.deleteOAuthClient(mine.id, operators.id), false, 'not its owner');
        assert.equal(await store.deleteOAuthClient(mine.id, owner.id), true);
        assert.equal(await store.deleteOAuthClient(mine.id), false);
        assert.equal(await store.deleteOAuthClient(operators.id), true);
        assert.equal(await store.getOAuthClient(operators.id), undefined);
        await assert.rejects(client({ ownerId: newId() }), (e: unknown) =>
          isPapillonError(e, 'no-such-account'),
        );
      });

      it('redeems a code once, storing its tokens with it', async () => {
        const [a, c] = [await account(), await client()];
        const saved = code(c.id, a.id);
        await store.saveOAuthCode(saved);
        assert.deepEqual(await store.getOAuthCode(saved.codeHash), { ...saved, usedAt: null });
        const issued = [
          token(c.id, a.id, { codeHash: saved.codeHash }),
          token(c.id, a.id, { kind: 'refresh', codeHash: saved.codeHash }),
        ];
        assert.equal(await store.redeemOAuthCode(saved.codeHash, t0 + 1, issued), true);
        assert.equal((await store.getOAuthCode(saved.codeHash))?.usedAt, t0 + 1);
        for (const t of issued) {
          assert.deepEqual(await store.getOAuthToken(t.tokenHash), {
            ...t,
            revokedAt: null,
            lastUsedAt: null,
          });
        }
        const again = token(c.id, a.id);
        assert.equal(await store.redeemOAuthCode(saved.codeHash, t0 + 2, [again]), false);
        assert.equal(await store.getOAuthToken(again.tokenHash), undefined);
        assert.equal(await store.redeemOAuthCode(hash(), t0 + 2, []), false);
      });

      it('refuses an expired code, and lets one of concurrent redemptions win', async () => {
        const [a, c] = [await account(), await client()];
        const expired = code(c.id, a.id);
        await store.saveOAuthCode(expired);
        assert.equal(await store.redeemOAuthCode(expired.codeHash, t0 + hour, []), false);

        const contested = code(c.id, a.id);
        await store.saveOAuthCode(contested);
        const attempts = Array.from({ length: 8 }, () => [
          token(c.id, a.id, { codeHash: contested.codeHash }),
        ]);
        const results = await Promise.all(
          attempts.map((tokens) => store.redeemOAuthCode(contested.codeHash, t0 + 1, tokens)),
        );
        assert.equal(results.filter((r) => r).length, 1);
        const winner = attempts[results.indexOf(true)]?.[0];
        assert.ok(winner);
        assert.equal(await live(winner.tokenHash), true);
        // Whoever lost can revoke what the winner got.
        assert.equal(await store.revokeOAuthTokensByCode(contested.codeHash, t0 + 2), 1);
        assert.equal(await live(winner.tokenHash), false);
      });

      it('refuses a code for an unknown account or client', async () => {
        const [a, c] = [await account(), await client()];
        await assert.rejects(store.saveOAuthCode(code(c.id, newId())), (e: unknown) =>
          isPapillonError(e, 'no-such-account'),
        );
        await assert.rejects(store.saveOAuthCode(code(newId(), a.id)), (e: unknown) =>
          isPapillonError(e, 'no-such-account'),
        );
        await assert.rejects(store.saveOAuthTokens([token(c.id, newId())]), (e: unknown) =>
          isPapillonError(e, 'no-such-account'),
        );
      });

      it('rotates a refresh token once; concurrent rotations: exactly one wins', async () => {
        const [a, c] = [await account(), await client()];
        const family = newId();
        const first = token(c.id, a.id, { kind: 'refresh', familyId: family });
        await store.saveOAuthTokens([first]);
        const next = [
          token(c.id, a.id, { familyId: family }),
          token(c.id, a.id, { kind: 'refresh', familyId: family }),
        ];
        assert.equal(await store.rotateRefreshToken(first.tokenHash, t0 + 5, next), true);
        const old = await store.getOAuthToken(first.tokenHash);
        assert.equal(old?.revokedAt, t0 + 5);
        assert.equal(old?.lastUsedAt, t0 + 5);
        for (const t of next) assert.equal(await live(t.tokenHash), true);
        assert.equal(await store.rotateRefreshToken(first.tokenHash, t0 + 6, [token(c.id, a.id)]), false);

        const refresh = next[1];
        assert.ok(refresh);
        const attempts = Array.from({ length: 6 }, () => [
          token(c.id, a.id, { kind: 'refresh', familyId: family }),
        ]);
        const results = await Promise.all(
          attempts.map((tokens) => store.rotateRefreshToken(refresh.tokenHash, t0 + 7, tokens)),
        );
        assert.equal(results.filter((r) => r).length, 1);
        // Not an access token, not expired.
        const access = next[0];
        assert.ok(access);
        assert.equal(await store.rotateRefreshToken(access.tokenHash, t0 + 8, []), false);
        const stale = token(c.id, a.id, { kind: 'refresh', expiresAt: t0 + 10 });
        await store.saveOAuthTokens([stale]);
        assert.equal(await store.rotateRefreshToken(stale.tokenHash, t0 + 10, []), false);
      });

      it('revokes one token, a family, what a code issued, and a client’s grants to an account', async () => {
        const [a, b, c, other] = [await account(), await account(), await client(), await client()];
        const family = newId();
        const codeRow = code(c.id, a.id);
        await store.saveOAuthCode(codeRow);
        const fromCode = token(c.id, a.id, { familyId: family, codeHash: codeRow.codeHash });
        await store.redeemOAuthCode(codeRow.codeHash, t0 + 1, [fromCode]);
        // A rotation descendant: same family, no code hash of its own.
        const descendant = token(c.id, a.id, { familyId: family, kind: 'refresh' });
        const single = token(c.id, a.id);
        const bystander = token(c.id, b.id);
        const otherClient = token(other.id, a.id);
        await store.saveOAuthTokens([descendant, single, bystander, otherClient]);

        assert.equal(await store.revokeOAuthToken(single.tokenHash, t0 + 2), true);
        assert.equal(await store.revokeOAuthToken(single.tokenHash, t0 + 3), false);
        assert.equal((await store.getOAuthToken(single.tokenHash))?.revokedAt, t0 + 2);
        assert.equal(await store.revokeOAuthTokensByCode(codeRow.codeHash, t0 + 4), 2);
        assert.equal(await live(descendant.tokenHash), false);
        assert.equal(await store.revokeOAuthFamily(family, t0 + 5), 0);
        assert.equal(await live(bystander.tokenHash), true);

        const pending = code(c.id, a.id);
        await store.saveOAuthCode(pending);
        const more = token(c.id, a.id);
        await store.saveOAuthTokens([more]);
        assert.equal(await store.revokeOAuthGrants(a.id, c.id, t0 + 6), 1);
        assert.equal(await live(more.tokenHash), false);
        assert.equal(await live(bystander.tokenHash), true);
        assert.equal(await live(otherClient.tokenHash), true);
        assert.equal(
          await store.redeemOAuthCode(pending.codeHash, t0 + 7, []),
          false,
          'spent with the grant',
        );
      });

      it('lists the live tokens of an account, touches them, and purges expired rows', async () => {
        const [a, c] = [await account(), await client()];
        // Times far in the past, so no other case's rows are purged.
        const early = token(c.id, a.id, { createdAt: 1_000, expiresAt: 5_000 });
        const later = token(c.id, a.id, { createdAt: 2_000, expiresAt: 9_000 });
        const revoked = token(c.id, a.id, { createdAt: 1_500, expiresAt: 9_000 });
        await store.saveOAuthTokens([later, early, revoked]);
        await store.revokeOAuthToken(revoked.tokenHash, 3_000);
        await store.touchOAuthToken(later.tokenHash, 4_000);
        assert.deepEqual(
          (await store.listOAuthTokens(a.id, 3_000)).map((t) => [t.tokenHash, t.lastUsedAt]),
          [
            [early.tokenHash, null],
            [later.tokenHash, 4_000],
          ],
        );
        assert.deepEqual(
          (await store.listOAuthTokens(a.id, 5_000)).map((t) => t.tokenHash),
          [later.tokenHash],
        );
        const old = code(c.id, a.id, { createdAt: 1_000, expiresAt: 2_000 });
        await store.saveOAuthCode(old);
        assert.equal(await store.purgeOAuth(1_999, 4_999), 0);
        assert.equal(await store.purgeOAuth(2_000, 5_000), 2);
        assert.equal(await store.getOAuthCode(old.codeHash), undefined);
        assert.equal(await store.purgeOAuth(2_000, 9_000), 2);
        assert.deepEqual(await store.listOAuthTokens(a.id, 0), []);
      });

      it('takes codes and tokens with a deleted client or account', async () => {
        const [a, b, c] = [await account(), await account(), await client()];
        const owned = await client({ ownerId: b.id });
        const codeRow = code(c.id, a.id);
        await store.saveOAuthCode(codeRow);
        const held = token(c.id, a.id);
        const ofB = token(c.id, b.id);
        const viaOwned = token(owned.id, a.id);
        await store.saveOAuthTokens([held, ofB, viaOwned]);
        assert.equal(await store.deleteAccount(b.id), true);
        assert.equal(await store.getOAuthToken(ofB.tokenHash), undefined);
        assert.equal(await store.getOAuthClient(owned.id), undefined, 'an account’s apps go with it');
        assert.equal(await store.getOAuthToken(viaOwned.tokenHash), undefined);
        assert.equal(await store.deleteOAuthClient(c.id), true);
        assert.equal(await store.getOAuthToken(held.tokenHash), undefined);
        assert.equal(await store.getOAuthCode(codeRow.codeHash), undefined);
      });
    });

    describe('web sessions', () => {
      const hash = (): string => `${newId().replaceAll('-', '')}${newId().replaceAll('-', '')}`;

      it('creates, reads, deletes and purges sessions; they go with the account', async () => {
        const [a, b] = [await account(), await account()];
        const session: WebSessionRow = {
          tokenHash: hash(),
          accountId: a.id,
          csrf: 'csrf-token',
          createdAt: 1_000,
          expiresAt: 3_000,
        };
        await store.createWebSession(session);
        assert.deepEqual(await store.getWebSession(session.tokenHash), session);
        assert.equal(await store.getWebSession(hash()), undefined);
        assert.equal(await store.purgeWebSessions(2_999), 0);
        assert.equal(await store.purgeWebSessions(3_000), 1);
        assert.equal(await store.getWebSession(session.tokenHash), undefined);

        const kept = { ...session, tokenHash: hash(), expiresAt: Date.now() + 60_000 };
        await store.createWebSession(kept);
        assert.equal(await store.deleteWebSession(kept.tokenHash), true);
        assert.equal(await store.deleteWebSession(kept.tokenHash), false);

        const ofB = { ...session, tokenHash: hash(), accountId: b.id, expiresAt: Date.now() + 60_000 };
        await store.createWebSession(ofB);
        await store.deleteAccount(b.id);
        assert.equal(await store.getWebSession(ofB.tokenHash), undefined);
        await assert.rejects(
          store.createWebSession({ ...session, tokenHash: hash(), accountId: newId() }),
          (e: unknown) => isPapillonError(e, 'no-such-account'),
        );
      });

      it("deletes an account's sessions but the one kept, and no one else's", async () => {
        const [a, b] = [await account(), await account()];
        const later = Date.now() + 60_000;
        const make = (accountId: string): WebSessionRow => ({
          tokenHash: hash(),
          accountId,
          csrf: 'c',
          createdAt: 1,
          expiresAt: later,
        });
        const [a1, a2, a3, b1] = [make(a.id), make(a.id), make(a.id), make(b.id)];
        for (const row of [a1, a2, a3, b1]) await store.createWebSession(row);
        assert.deepEqual(
          (await store.deleteWebSessionsOf(a.id, a2.tokenHash)).sort(),
          [a1.tokenHash, a3.tokenHash].sort(),
        );
        assert.equal(await store.getWebSession(a1.tokenHash), undefined);
        assert.deepEqual(await store.getWebSession(a2.tokenHash), a2);
        assert.equal(await store.getWebSession(a3.tokenHash), undefined);
        assert.deepEqual(await store.getWebSession(b1.tokenHash), b1);
        assert.deepEqual(await store.deleteWebSessionsOf(a.id), [a2.tokenHash]);
        assert.equal(await store.getWebSession(a2.tokenHash), undefined);
      });
    });

    describe('list version bump', () => {
      it('moves the version by one and returns it', async () => {
        const a = await account();
        const before = (await versionOf(a.id)) ?? -1;
        assert.equal(await store.bumpListVersion(a.id), before + 1);
        assert.equal(await versionOf(a.id), before + 1);
        await assert.rejects(store.bumpListVersion(newId()), (e: unknown) =>
          isPapillonError(e, 'no-such-account'),
        );
      });
    });

    describe('circles', () => {
      const circleId = (): string => `00000000-0000-0000-0009-${newId().replaceAll('-', '').slice(0, 12)}`;

      it('creates a circle with its owner as accepted administrator', async () => {
        const owner = await account();
        const id = circleId();
        await store.createCircle({ id, name: 'Friends', ownerId: owner.id, createdAt: 5 });
        assert.deepEqual(await store.getCircle(id), { id, name: 'Friends', ownerId: owner.id, createdAt: 5 });
        assert.deepEqual(await store.listCircleMembers(id), [
          { circleId: id, accountId: owner.id, role: 1, state: 'accepted', inviterId: null, changedAt: 5 },
        ]);
        assert.equal(await store.getCircle(circleId()), undefined);
        await assert.rejects(
          store.createCircle({ id: circleId(), name: 'X', ownerId: newId(), createdAt: 1 }),
          (e: unknown) => isPapillonError(e, 'no-such-account'),
        );
      });

      it('keeps invitations and memberships, replaces and deletes them', async () => {
        const owner = await account();
        const guest = await account();
        const id = circleId();
        await store.createCircle({ id, name: 'Team', ownerId: owner.id, createdAt: 1 });
        const invite = {
          circleId: id,
          accountId: guest.id,
          role: 3 as const,
          state: 'pending' as const,
          inviterId: owner.id,
          changedAt: 2,
        };
        await store.putCircleMember(invite);
        assert.deepEqual(await store.listCirclesOf(guest.id), [
          { circle: { id, name: 'Team', ownerId: owner.id, createdAt: 1 }, member: invite },
        ]);
        await store.putCircleMember({ ...invite, state: 'accepted', changedAt: 3 });
        const members = await store.listCircleMembers(id);
        assert.equal(members.length, 2);
        assert.equal(members.find((m) => m.accountId === guest.id)?.state, 'accepted');
        assert.equal(await store.deleteCircleMember(id, guest.id), true);
        assert.equal(await store.deleteCircleMember(id, guest.id), false);
        assert.deepEqual(await store.listCirclesOf(guest.id), []);
        await assert.rejects(store.putCircleMember({ ...invite, accountId: newId() }), (e: unknown) =>
          isPapillonError(e, 'no-such-account'),
        );
      });
    });

    describe('private xml', () => {
      it('keeps one element per namespace per account, replaced by the next, gone with the account', async () => {
        const owner = await account();
        const other = await account();
        const row = (ns: string, xml: string, updatedAt = 1) => ({
          accountId: owner.id,
          namespace: ns,
          xml,
          updatedAt,
        });
        assert.equal(await store.getPrivateXml(owner.id, 'storage:bookmarks'), undefined);
        await store.putPrivateXml(row('storage:bookmarks', '<storage xmlns="storage:bookmarks"/>'));
        await store.putPrivateXml(row('roster:delimiter', '<roster xmlns="roster:delimiter">::</roster>'));
        await store.putPrivateXml(
          row('storage:bookmarks', '<storage xmlns="storage:bookmarks"><url/></storage>', 2),
        );
        assert.deepEqual(await store.getPrivateXml(owner.id, 'storage:bookmarks'), {
          accountId: owner.id,
          namespace: 'storage:bookmarks',
          xml: '<storage xmlns="storage:bookmarks"><url/></storage>',
          updatedAt: 2,
        });
        assert.deepEqual(await store.listPrivateXmlNamespaces(owner.id), [
          'roster:delimiter',
          'storage:bookmarks',
        ]);
        assert.equal(await store.getPrivateXml(other.id, 'storage:bookmarks'), undefined);
        assert.deepEqual(await store.listPrivateXmlNamespaces(other.id), []);
        await assert.rejects(
          store.putPrivateXml({ ...row('a:b', '<a/>'), accountId: newId() }),
          (e: unknown) => isPapillonError(e, 'no-such-account'),
        );
        await store.deleteAccount(owner.id);
        assert.deepEqual(await store.listPrivateXmlNamespaces(owner.id), []);
      });
    });

    describe('pep nodes', () => {
      const item = (accountId: string, node: string, itemId: string, payload = `<x>${itemId}</x>`) => ({
        accountId,
        node,
        itemId,
        payload,
        publishedAt: 10,
      });

      it('keeps nodes and their newest items up to the limit; a republished id becomes the newest', async () => {
        const owner = await account();
        assert.equal(await store.putPepItem(item(owner.id, 'n', 'a'), 1), false, 'no node yet');
        await store.putPepNode({ accountId: owner.id, node: 'n', config: '{"maxItems":2}', createdAt: 1 });
        await store.putPepNode({ accountId: owner.id, node: 'm', config: '{}', createdAt: 2 });
        assert.equal((await store.getPepNode(owner.id, 'n'))?.config, '{"maxItems":2}');
        assert.deepEqual(
          (await store.listPepNodes(owner.id)).map((n) => n.node),
          ['m', 'n'],
        );
        for (const id of ['a', 'b', 'c'])
          assert.equal(await store.putPepItem(item(owner.id, 'n', id), 2), true);
        assert.deepEqual(
          (await store.listPepItems(owner.id, 'n')).map((i) => i.itemId),
          ['c', 'b'],
        );
        await store.putPepItem(item(owner.id, 'n', 'b', '<x>new</x>'), 2);
        const items = await store.listPepItems(owner.id, 'n');
        assert.deepEqual(
          items.map((i) => [i.itemId, i.payload]),
          [
            ['b', '<x>new</x>'],
            ['c', '<x>c</x>'],
          ],
        );
        assert.deepEqual(
          (await store.listPepItems(owner.id, 'n', { limit: 1 })).map((i) => i.itemId),
          ['b'],
        );
        assert.deepEqual(
          (await store.listPepItems(owner.id, 'n', { itemIds: ['c', 'zz'] })).map((i) => i.itemId),
          ['c'],
        );
        assert.deepEqual(await store.listPepItems(owner.id, 'm'), []);
        // Reconfiguring keeps the items.
        await store.putPepNode({ accountId: owner.id, node: 'n', config: '{"maxItems":5}', createdAt: 1 });
        assert.equal((await store.listPepItems(owner.id, 'n')).length, 2);
      });

      it('deletes items and nodes, and keeps accounts apart', async () => {
        const owner = await account();
        const other = await account();
        for (const a of [owner, other]) {
          await store.putPepNode({ accountId: a.id, node: 'n', config: '{}', createdAt: 1 });
          await store.putPepItem(item(a.id, 'n', 'a'), 10);
          await store.putPepItem(item(a.id, 'n', 'b'), 10);
        }
        assert.equal(await store.deletePepItem(owner.id, 'n', 'a'), true);
        assert.equal(await store.deletePepItem(owner.id, 'n', 'a'), false);
        assert.deepEqual(
          (await store.listPepItems(owner.id, 'n')).map((i) => i.itemId),
          ['b'],
        );
        assert.equal(await store.deletePepNode(owner.id, 'n'), true);
        assert.equal(await store.deletePepNode(owner.id, 'n'), false);
        assert.equal(await store.getPepNode(owner.id, 'n'), undefined);
        assert.deepEqual(await store.listPepItems(owner.id, 'n'), []);
        assert.equal((await store.listPepItems(other.id, 'n')).length, 2);
      });

      it('refuses an unknown account and goes with a deleted one', async () => {
        await assert.rejects(
          store.putPepNode({ accountId: newId(), node: 'n', config: '{}', createdAt: 1 }),
          (err) => isPapillonError(err, 'no-such-account'),
        );
        const owner = await account();
        await store.putPepNode({ accountId: owner.id, node: 'n', config: '{}', createdAt: 1 });
        await store.putPepItem(item(owner.id, 'n', 'a'), 1);
        await store.deleteAccount(owner.id);
        assert.deepEqual(await store.listPepNodes(owner.id), []);
        assert.deepEqual(await store.listPepItems(owner.id, 'n'), []);
      });
    });

    describe('message archive', () => {
      const T = 1_800_000_000_000;
      /** A message from `from` to `to`, with an id that sorts as given. */
      const message = (id: string, from: AccountRow, to: AccountRow, at: number, body: string) => ({
        id,
        senderId: from.id,
        recipientId: to.id,
        sender: from.handle,
        recipient: to.handle,
        at,
        body,
      });
      const ids = (page: { rows: Array<{ id: string }> }) => page.rows.map((r) => r.id);

      it('keeps a batch larger than one statement can bind (a busy second of messages)', async () => {
        const [a, b] = [await account(), await account()];
        const batch = Array.from({ length: 6000 }, (_, i) =>
          message(`big${String(i).padStart(5, '0')}`, a, b, T + i, `message ${i}`),
        );
        await store.appendArchive(batch);
        assert.equal(await store.countArchive({ ownerId: b.id, after: 'big', peer: a.handle }), 6000);
      });

      it("keeps a message in both parties' archives, filtered by peer and id, paged from either end", async () => {
        const [a, b, c] = [await account(), await account(), await account()];
        await store.appendArchive([
          message('m1', a, b, T + 10, 'one'),
          message('m2', b, a, T + 20, 'two ☺'),
          message('m3', a, c, T + 30, 'three'),
          message('m4', a, b, T + 40, 'four'),
          message('m5', a, a, T + 50, 'note to self'),
          message('m6', b, c, T + 60, 'not for a'),
        ]);
        const all = await store.queryArchive({ ownerId: a.id }, 10, false);
        assert.deepEqual(all, {
          rows: [
            { id: 'm1', ownerId: a.id, peer: b.handle, outgoing: true, at: T + 10, body: 'one' },
            { id: 'm2', ownerId: a.id, peer: b.handle, outgoing: false, at: T + 20, body: 'two ☺' },
            { id: 'm3', ownerId: a.id, peer: c.handle, outgoing: true, at: T + 30, body: 'three' },
            { id: 'm4', ownerId: a.id, peer: b.handle, outgoing: true, at: T + 40, body: 'four' },
            { id: 'm5', ownerId: a.id, peer: a.handle, outgoing: true, at: T + 50, body: 'note to self' },
          ],
          more: false,
        });
        const firstTwo = await store.queryArchive({ ownerId: a.id }, 2, false);
        assert.deepEqual([ids(firstTwo), firstTwo.more], [['m1', 'm2'], true]);
        const lastTwo = await store.queryArchive({ ownerId: a.id }, 2, true);
        assert.deepEqual([ids(lastTwo), lastTwo.more], [['m4', 'm5'], true]);
        assert.deepEqual(ids(await store.queryArchive({ ownerId: a.id, peer: b.handle }, 10, false)), [
          'm1',
          'm2',
          'm4',
        ]);
        assert.deepEqual(ids(await store.queryArchive({ ownerId: a.id, peer: a.handle }, 10, false)), ['m5']);
        const between = await store.queryArchive({ ownerId: a.id, after: 'm1', before: 'm4' }, 1, true);
        assert.deepEqual([ids(between), between.more], [['m3'], true]);
        assert.deepEqual(
          ids(await store.queryArchive({ ownerId: a.id, ids: ['m4', 'm1', 'm6'] }, 10, false)),
          ['m1', 'm4'],
        );
        assert.deepEqual(ids(await store.queryArchive({ ownerId: a.id, ids: [] }, 10, false)), []);
        assert.equal(await store.countArchive({ ownerId: a.id }), 5);
        assert.equal(await store.countArchive({ ownerId: a.id, peer: b.handle, after: 'm1' }), 2);
        assert.deepEqual((await store.archiveHas(a.id, ['m6', 'm2', 'nope', 'm5'])).sort(), ['m2', 'm5']);
        assert.deepEqual(ids(await store.queryArchive({ ownerId: c.id }, 10, false)), ['m3', 'm6']);
      });

      it('refuses messages of an unknown account (all or none); a deleted party leaves the other side its history', async () => {
        const [a, b] = [await account(), await account()];
        const ghost = { ...b, id: newId() };
        await assert.rejects(
          store.appendArchive([message('x1', a, b, T, 'hi'), message('x2', a, ghost, T, 'hi')]),
          (err) => isPapillonError(err, 'no-such-account'),
        );
        assert.equal(await store.countArchive({ ownerId: a.id }), 0);
        await store.appendArchive([message('x1', a, b, T, 'hi'), message('x2', b, a, T + 1, 'hello')]);
        await store.deleteAccount(a.id);
        assert.equal(await store.countArchive({ ownerId: a.id }), 0);
        const left = await store.queryArchive({ ownerId: b.id, peer: a.handle }, 10, false);
        assert.deepEqual(
          left.rows.map((r) => [r.id, r.outgoing, r.peer]),
          [
            ['x1', false, a.handle],
            ['x2', true, a.handle],
          ],
        );
      });

      it('purges the messages whose ids sort below the cut-off', async () => {
        const [a, b] = [await account(), await account()];
        // Ids this low sort before every other case's (lower-case letters and digits, as real ids:
        // database collations may order punctuation differently).
        await store.appendArchive([
          message('0000old1', a, b, 1000, 'old'),
          message('0000old2', b, a, 2000, 'older'),
          message('0000young', a, b, 3000, 'new'),
        ]);
        assert.ok((await store.purgeArchive('0000old3')) >= 2);
        assert.deepEqual(ids(await store.queryArchive({ ownerId: a.id }, 10, false)), ['0000young']);
      });
    });

    describe('invitations and roles', () => {
      const invite = (overrides: Partial<SignupInviteRow> = {}): SignupInviteRow => ({
        id: newId().slice(0, 12),
        tokenHash: newId(),
        createdAt: 1_700_000_000_000,
        expiresAt: 1_700_000_600_000,
        createdBy: null,
        usedAt: null,
        usedBy: null,
        ...overrides,
      });

      it('lets an invitation be claimed once, before it expires; a release makes it usable again', async () => {
        const fresh = invite({ createdBy: 'admin@example.test' });
        const expired = invite({ expiresAt: 1_700_000_000_500 });
        await store.createSignupInvite(fresh);
        await store.createSignupInvite(expired);
        const listed = await store.listSignupInvites();
        assert.deepEqual(
          listed.find((i) => i.id === fresh.id),
          fresh,
        );
        assert.equal(
          await store.claimSignupInvite(expired.tokenHash, 1_700_000_001_000, 'x@example.test'),
          false,
        );
        assert.equal(
          await store.claimSignupInvite('no such hash', 1_700_000_001_000, 'x@example.test'),
          false,
        );
        // Two at once: one wins.
        const both = await Promise.all([
          store.claimSignupInvite(fresh.tokenHash, 1_700_000_001_000, 'a@example.test'),
          store.claimSignupInvite(fresh.tokenHash, 1_700_000_001_000, 'b@example.test'),
        ]);
        assert.deepEqual(both.sort(), [false, true]);
        const used = (await store.listSignupInvites()).find((i) => i.id === fresh.id);
        assert.equal(used?.usedAt, 1_700_000_001_000);
        assert.match(used?.usedBy ?? '', /^[ab]@example.test$/);
        await store.releaseSignupInvite(fresh.tokenHash);
        assert.equal(
          await store.claimSignupInvite(fresh.tokenHash, 1_700_000_002_000, 'c@example.test'),
          true,
        );
        assert.equal(await store.deleteSignupInvite(fresh.id), true);
        assert.equal(await store.deleteSignupInvite(fresh.id), false);
        assert.equal(
          (await store.listSignupInvites()).find((i) => i.id === fresh.id),
          undefined,
        );
      });

      it('keeps the role of an account until removed, and drops it with the account', async () => {
        const admin = await account();
        const plain = await account();
        assert.equal(await store.getAccountRole(admin.id), undefined);
        await store.setAccountRole(admin.id, 'admin', 1);
        await store.setAccountRole(admin.id, 'admin', 2);
        assert.equal(await store.getAccountRole(admin.id), 'admin');
        assert.equal(await store.getAccountRole(plain.id), undefined);
        assert.ok(
          (await store.listAccountRoles()).some((r) => r.accountId === admin.id && r.role === 'admin'),
        );
        await assert.rejects(store.setAccountRole(newId(), 'admin', 1), (err: unknown) =>
          isPapillonError(err, 'no-such-account'),
        );
        await store.setAccountRole(admin.id, null, 3);
        assert.equal(await store.getAccountRole(admin.id), undefined);
        await store.setAccountRole(plain.id, 'admin', 4);
        await store.deleteAccount(plain.id);
        assert.ok(!(await store.listAccountRoles()).some((r) => r.accountId === plain.id));
      });
    });

    describe('settings', () => {
      it('stores the first value and returns it from then on', async () => {
        const name = `setting-${newId()}`;
        let calls = 0;
        const first = await store.getOrCreateSetting(name, () => {
          calls += 1;
          return 'first';
        });
        const second = await store.getOrCreateSetting(name, () => {
          calls += 1;
          return 'second';
        });
        assert.equal(first, 'first');
        assert.equal(second, 'first');
        assert.equal(calls, 1);
      });

      it('lets the first of concurrent writers win', async () => {
        const name = `setting-${newId()}`;
        const values = await Promise.all(
          Array.from({ length: 5 }, (_, i) => store.getOrCreateSetting(name, () => `value-${i}`)),
        );
        assert.equal(new Set(values).size, 1, `got ${values.join(', ')}`);
        assert.equal(await store.getOrCreateSetting(name, () => 'late'), values[0]);
      });
    });
  });
}

function credentials(seed: string): PasswordCredentials {
  return {
    argon2: `$argon2id$v=19$m=19456,t=2,p=1$${seed}$hash`,
    scramSha1: { salt: `s1-${seed}`, iterations: 4096, storedKey: `sk1-${seed}`, serverKey: `svk1-${seed}` },
    scramSha256: {
      salt: `s256-${seed}`,
      iterations: 8192,
      storedKey: `sk256-${seed}`,
      serverKey: `svk256-${seed}`,
    },
    md5Salt: `md5salt-${seed}`,
    md5Digest: `md5digest-${seed}`,
  };
}

function byNumber(a: number, b: number): number {
  return a - b;
}
