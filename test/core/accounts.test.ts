import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPapillonError } from '../../src/util/errors.ts';
import { type CoreFixture, coreFixture, recordEvents, settle } from '../support/core-fixture.ts';

describe('accounts', () => {
  let fx: CoreFixture;
  before(async () => {
    fx = await coreFixture();
  });
  after(() => fx.close());

  it('creates an account with the handle as default display name and allow-list privacy', async () => {
    const a = await fx.core.accounts.create({ handle: 'Dave@Localhost', password: 'pw' });
    assert.equal(a.handle, 'dave@localhost');
    assert.equal(a.displayName, 'dave@localhost');
    // Issue 9 part 1: nobody sees a new account without its approval (was MSN's open mode).
    assert.equal(a.privacy, 'allow-list');
    assert.equal((await fx.core.accounts.get('DAVE@localhost')).id, a.id);
    // MSN's open mode stays a choice.
    const open = await fx.core.accounts.create({
      handle: 'olga@localhost',
      password: 'pw',
      privacy: 'allow-all',
    });
    assert.equal(open.privacy, 'allow-all');
  });

  it('refuses a duplicate handle whatever its case', async () => {
    await assert.rejects(
      fx.core.accounts.create({ handle: 'dave@LOCALHOST', password: 'other-pw' }),
      (err: unknown) => isPapillonError(err, 'handle-taken'),
    );
  });

  it('refuses bad handles, weak passwords and bad display names before storing anything', async () => {
    const count = (await fx.core.accounts.list()).length;
    await assert.rejects(fx.core.accounts.create({ handle: 'no-at-sign', password: 'pw' }), (e: unknown) =>
      isPapillonError(e, 'bad-handle'),
    );
    await assert.rejects(fx.core.accounts.create({ handle: 'erin@localhost', password: '' }), (e: unknown) =>
      isPapillonError(e, 'weak-password'),
    );
    await assert.rejects(
      fx.core.accounts.create({ handle: 'erin@localhost', password: 'pw', displayName: 'x'.repeat(200) }),
      (e: unknown) => isPapillonError(e, 'bad-display-name'),
    );
    assert.equal((await fx.core.accounts.list()).length, count);
  });

  it('lists accounts by handle', async () => {
    await fx.core.accounts.create({ handle: 'zed@localhost', password: 'pw' });
    await fx.core.accounts.create({ handle: 'amy@localhost', password: 'pw' });
    const handles = (await fx.core.accounts.list()).map((a) => a.handle);
    assert.deepEqual(handles, [...handles].sort());
    assert.ok(handles.includes('amy@localhost') && handles.includes('zed@localhost'));
  });

  it('deleting signs the account out, drops it from contacts, and frees the handle', async () => {
    const gone = await fx.core.accounts.create({ handle: 'gone@localhost', password: 'pw' });
    const friend = await fx.core.accounts.create({ handle: 'friend@localhost', password: 'pw' });
    await fx.core.relationships.addForward(friend.id, 'gone@localhost');
    const goneEvents = await recordEvents(fx.core, gone.id);
    const friendEvents = await recordEvents(fx.core, friend.id);
    await fx.core.accounts.delete('gone@localhost');
    await settle();
    assert.deepEqual(goneEvents.of('sign-out'), [
      { type: 'sign-out', endpointId: null, reason: 'account-deleted' },
    ]);
    assert.equal(friendEvents.of('lists-changed').length, 1);
    assert.equal((await fx.core.relationships.snapshot(friend.id)).contacts.length, 0);
    await assert.rejects(fx.core.accounts.delete('gone@localhost'), (e: unknown) =>
      isPapillonError(e, 'no-such-account'),
    );
    assert.equal(
      (await fx.core.accounts.create({ handle: 'gone@localhost', password: 'pw' })).handle,
      'gone@localhost',
    );
  });
});
