import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type CoreFixture, coreFixture, recordEvents, settle } from '../support/core-fixture.ts';

describe('presence', () => {
  let fx: CoreFixture;
  before(async () => {
    fx = await coreFixture();
  });
  after(() => fx.close());

  it('watchers get changes of the aggregate, not of every endpoint', async () => {
    const alice = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'p-alice@localhost',
      password: 'pw',
      displayName: 'Alice',
    });
    const bob = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'p-bob@localhost',
      password: 'pw',
    });
    await fx.core.relationships.addForward(bob.id, alice.handle);
    const bobSees = await recordEvents(fx.core, bob.id);

    await fx.core.presence.set(alice.id, 'msnp:pc', { status: 'online', statusText: 'hi' });
    await fx.core.presence.set(alice.id, 'xmpp:phone', { status: 'away' }); // aggregate stays online
    await settle();
    assert.deepEqual(
      bobSees.of('presence').map((e) => [e.contactHandle, e.presence.status, e.presence.displayName]),
      [['p-alice@localhost', 'online', 'Alice']],
    );

    await fx.core.presence.disconnect(alice.id, 'msnp:pc'); // now only the phone: away
    await fx.core.presence.disconnect(alice.id, 'xmpp:phone'); // offline
    await settle();
    assert.deepEqual(
      bobSees.of('presence').map((e) => e.presence.status),
      ['online', 'away', 'offline'],
    );
  });

  it('invisible looks offline to others and invisible to the account itself', async () => {
    const alice = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'i-alice@localhost',
      password: 'pw',
    });
    const bob = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'i-bob@localhost',
      password: 'pw',
    });
    await fx.core.relationships.addForward(bob.id, alice.handle);
    const bobSees = await recordEvents(fx.core, bob.id);
    await fx.core.presence.set(alice.id, 'msnp:pc', { status: 'invisible', statusText: 'hidden' });
    await settle();
    assert.equal(bobSees.of('presence').length, 0, 'offline → invisible is no change to others');
    assert.equal((await fx.core.presence.seenBy(bob.id, alice.id)).status, 'offline');
    assert.equal((await fx.core.presence.seenBy(alice.id, alice.id)).status, 'invisible');
  });

  it('allow-list privacy hides presence from watchers not on the allow list', async () => {
    const alice = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'q-alice@localhost',
      password: 'pw',
    });
    const bob = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'q-bob@localhost',
      password: 'pw',
    });
    await fx.core.relationships.addForward(bob.id, alice.handle);
    await fx.core.presence.set(alice.id, 'e1', { status: 'online' });
    const bobSees = await recordEvents(fx.core, bob.id);
    await fx.core.relationships.setPrivacy(alice.id, 'allow-list');
    await settle();
    assert.equal(bobSees.of('presence').at(-1)?.presence.status, 'offline');
    await fx.core.relationships.allow(alice.id, bob.handle);
    await settle();
    assert.equal(bobSees.of('presence').at(-1)?.presence.status, 'online');
  });

  it('a new watcher learns the current presence when adding the contact', async () => {
    const alice = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'n-alice@localhost',
      password: 'pw',
    });
    const bob = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'n-bob@localhost',
      password: 'pw',
    });
    await fx.core.presence.set(alice.id, 'e1', { status: 'be-right-back' });
    const bobSees = await recordEvents(fx.core, bob.id);
    await fx.core.relationships.addForward(bob.id, alice.handle);
    await settle();
    assert.equal(bobSees.of('presence').at(-1)?.presence.status, 'be-right-back');
  });
});
