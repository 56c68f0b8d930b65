import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccountRow } from '../../src/store/types.ts';
import { isPapillonError } from '../../src/util/errors.ts';
import { type CoreFixture, coreFixture, recordEvents, settle } from '../support/core-fixture.ts';

describe('relationships', () => {
  let fx: CoreFixture;
  let n = 0;
  const pair = async (): Promise<[AccountRow, AccountRow]> => {
    n++;
    return [
      await fx.core.accounts.create({
        privacy: 'allow-all',
        handle: `a${n}@localhost`,
        password: 'pw',
        displayName: `A${n}`,
      }),
      await fx.core.accounts.create({
        privacy: 'allow-all',
        handle: `b${n}@localhost`,
        password: 'pw',
        displayName: `B${n}`,
      }),
    ];
  };
  before(async () => {
    fx = await coreFixture();
  });
  after(() => fx.close());

  it('adding a contact tells them "X has added you" and derives both sides', async () => {
    const [a, b] = await pair();
    const bEvents = await recordEvents(fx.core, b.id);
    const view = await fx.core.relationships.addForward(a.id, b.handle.toUpperCase(), 'Bee');
    await settle();
    assert.deepEqual(view.mine, { forward: true, allow: false, block: false, noticed: false, listed: false });
    assert.equal(view.nickname, 'Bee');
    // B chose MSN's open mode (allow all), so A sees B at once: subscription "to".
    assert.equal(view.derived.subscription, 'to');
    assert.deepEqual(bEvents.of('contact-added-me'), [
      { type: 'contact-added-me', contactId: a.id, contactHandle: a.handle, displayName: a.displayName },
    ]);
    const fromB = await fx.core.relationships.contact(b.id, a.id);
    assert.equal(fromB.theirs.forward, true, 'A is on B’s reverse list');
    assert.equal(fromB.pending, true, 'B has not answered yet');
    assert.equal(fromB.derived.subscription, 'from');
  });

  it('an acknowledged add leaves the pending list until the contact adds again', async () => {
    const [a, b] = await pair();
    await fx.core.relationships.setPrivacy(b.id, 'allow-list');
    await fx.core.relationships.addForward(a.id, b.handle);
    const bEvents = await recordEvents(fx.core, b.id);
    assert.equal(await fx.core.relationships.acknowledgeAdded(b.id, a.id), true);
    await settle();
    const seen = await fx.core.relationships.contact(b.id, a.id);
    assert.equal(seen.pending, false, 'no longer asked');
    assert.equal(seen.theirs.forward, true, 'still on the reverse list');
    // Issue 9 part 1: acknowledged without an allow is a refusal (MSN REM PL = XMPP
    // `unsubscribed`, RFC 6121 §3.2): no longer pending in, and A no longer asks.
    assert.equal(seen.derived.pendingIn, false, 'answered: a refusal');
    const asker = await fx.core.relationships.contact(a.id, b.id);
    assert.deepEqual([asker.derived.subscription, asker.derived.ask], ['none', false]);
    assert.equal(bEvents.of('lists-changed').length, 1, "B's other sessions hear of it");
    assert.equal(await fx.core.relationships.acknowledgeAdded(b.id, a.id), false, 'nothing pending');
    await fx.core.relationships.removeForward(a.id, b.id);
    await fx.core.relationships.addForward(a.id, b.handle);
    assert.equal((await fx.core.relationships.contact(b.id, a.id)).pending, true, 'a new add asks again');
  });

  it('with allow-list privacy the request waits until allowed (XMPP pending in / ask)', async () => {
    const [a, b] = await pair();
    await fx.core.relationships.setPrivacy(b.id, 'allow-list');
    const asked = await fx.core.relationships.addForward(a.id, b.handle);
    assert.equal(asked.derived.subscription, 'none');
    assert.equal(asked.derived.ask, true);
    assert.equal((await fx.core.relationships.contact(b.id, a.id)).derived.pendingIn, true);
    await fx.core.relationships.allow(b.id, a.handle);
    const approved = await fx.core.relationships.contact(a.id, b.id);
    assert.equal(approved.derived.subscription, 'to');
    assert.equal(approved.derived.ask, false);
    const fromB = await fx.core.relationships.contact(b.id, a.id);
    assert.equal(fromB.pending, false);
    assert.equal(fromB.derived.subscription, 'from');
  });

  it('blocking hides presence from the blocked watcher, unblocking shows it again', async () => {
    const [a, b] = await pair();
    await fx.core.relationships.addForward(a.id, b.handle);
    await fx.core.presence.set(b.id, 'xmpp:home', { status: 'busy', statusText: 'working' });
    const aEvents = await recordEvents(fx.core, a.id);
    await fx.core.relationships.block(b.id, a.handle);
    await settle();
    assert.equal(aEvents.of('presence').at(-1)?.presence.status, 'offline');
    assert.equal((await fx.core.presence.seenBy(a.id, b.id)).status, 'offline');
    aEvents.clear();
    await fx.core.relationships.unblock(b.id, a.id);
    await settle();
    assert.equal(aEvents.of('presence').at(-1)?.presence.status, 'busy');
    assert.equal(aEvents.of('presence').at(-1)?.presence.statusText, 'working');
  });

  it('allow and block stay exclusive, like MSN AL and BL', async () => {
    const [a, b] = await pair();
    await fx.core.relationships.allow(a.id, b.handle);
    const blocked = await fx.core.relationships.block(a.id, b.handle);
    assert.deepEqual(blocked.mine, {
      forward: false,
      allow: false,
      block: true,
      noticed: false,
      listed: false,
    });
    const allowed = await fx.core.relationships.allow(a.id, b.handle);
    assert.deepEqual(allowed.mine, {
      forward: false,
      allow: true,
      block: false,
      noticed: false,
      listed: false,
    });
  });

  it('every change moves the list version and announces it to the owner', async () => {
    const [a, b] = await pair();
    const events = await recordEvents(fx.core, a.id);
    const v0 = (await fx.core.relationships.snapshot(a.id)).listVersion;
    await fx.core.relationships.addForward(a.id, b.handle);
    const { group } = await fx.core.relationships.createGroup(a.id, 'Friends');
    await fx.core.relationships.addToGroup(a.id, b.id, group.id);
    await fx.core.relationships.setNickname(a.id, b.id, 'Bob');
    await settle();
    const snap = await fx.core.relationships.snapshot(a.id);
    assert.equal(snap.listVersion, v0 + 4);
    assert.deepEqual(
      events.of('lists-changed').map((e) => e.listVersion),
      [v0 + 1, v0 + 2, v0 + 3, v0 + 4],
    );
    const contact = snap.contacts.find((c) => c.contact.id === b.id);
    assert.deepEqual(contact?.groupIds, [group.id]);
    assert.equal(contact?.nickname, 'Bob');
  });

  it('removing a contact takes it out of its groups and off the other side’s reverse list', async () => {
    const [a, b] = await pair();
    await fx.core.relationships.addForward(a.id, b.handle);
    const { group } = await fx.core.relationships.createGroup(a.id, 'Work');
    await fx.core.relationships.addToGroup(a.id, b.id, group.id);
    const bEvents = await recordEvents(fx.core, b.id);
    const view = await fx.core.relationships.removeForward(a.id, b.id);
    await settle();
    assert.equal(view.mine.forward, false);
    assert.deepEqual(view.groupIds, []);
    assert.equal(bEvents.of('contact-removed-me').length, 1);
    assert.equal((await fx.core.relationships.contact(b.id, a.id)).theirs.forward, false);
  });

  it('groups: names checked, duplicates refused, at most 30, MSNP numbers reused', async () => {
    const [a] = await pair();
    await assert.rejects(fx.core.relationships.createGroup(a.id, '   '), (e: unknown) =>
      isPapillonError(e, 'bad-group-name'),
    );
    const one = await fx.core.relationships.createGroup(a.id, 'One');
    await assert.rejects(fx.core.relationships.createGroup(a.id, 'One'), (e: unknown) =>
      isPapillonError(e, 'group-name-taken'),
    );
    const two = await fx.core.relationships.createGroup(a.id, 'Two');
    assert.deepEqual([one.group.number, two.group.number], [1, 2]);
    await fx.core.relationships.deleteGroup(a.id, one.group.id);
    assert.equal((await fx.core.relationships.createGroup(a.id, 'Again')).group.number, 1);
    for (let i = 3; i <= 30; i++) await fx.core.relationships.createGroup(a.id, `G${i}`);
    await assert.rejects(fx.core.relationships.createGroup(a.id, 'G31'), (e: unknown) =>
      isPapillonError(e, 'too-many-groups'),
    );
  });

  it('refuses unknown contacts and yourself', async () => {
    const [a] = await pair();
    await assert.rejects(fx.core.relationships.addForward(a.id, 'nobody@localhost'), (e: unknown) =>
      isPapillonError(e, 'no-such-account'),
    );
    await assert.rejects(fx.core.relationships.addForward(a.id, a.handle), (e: unknown) =>
      isPapillonError(e, 'self-contact'),
    );
  });
});
