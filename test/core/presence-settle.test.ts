/** Core presence `settle`: a change its sender says is followed by another reaches watchers once. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SETTLE_MS } from '../../src/core/presence.ts';
import { type CoreFixture, coreFixture, recordEvents, settle } from '../support/core-fixture.ts';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('presence settle window', () => {
  let fx: CoreFixture;
  before(async () => {
    fx = await coreFixture();
  });
  after(() => fx.close());

  async function pair(name: string) {
    const core = fx.core;
    const alice = await core.accounts.create({ handle: `${name}-a@localhost`, password: 'pw' });
    const bob = await core.accounts.create({ handle: `${name}-b@localhost`, password: 'pw' });
    await core.relationships.addForward(bob.id, alice.handle);
    await core.relationships.allow(alice.id, bob.handle);
    return { alice, bob, bobSees: await recordEvents(core, bob.id) };
  }

  it('a settled change and the next one reach watchers as one', async () => {
    const { alice, bobSees } = await pair('one');
    await fx.core.presence.set(alice.id, 'msnp:pc', { status: 'busy' }, { settle: true });
    // Written at once (others can reach the endpoint), announced later.
    assert.equal((await fx.core.presence.current(alice.id)).status, 'busy');
    await settle();
    assert.equal(bobSees.of('presence').length, 0);
    await fx.core.presence.set(alice.id, 'msnp:pc', { statusText: 'In a meeting' });
    await settle();
    assert.deepEqual(
      bobSees.of('presence').map((e) => [e.presence.status, e.presence.statusText]),
      [['busy', 'In a meeting']],
    );
  });

  it('a settled change alone is announced after the window', async () => {
    const { alice, bobSees } = await pair('alone');
    await fx.core.presence.set(alice.id, 'msnp:pc', { status: 'away' }, { settle: true });
    await wait(SETTLE_MS + 100);
    assert.deepEqual(
      bobSees.of('presence').map((e) => e.presence.status),
      ['away'],
    );
  });

  it('signing out within the window announces nothing, and still records the last activity', async () => {
    const { alice, bobSees } = await pair('gone');
    await fx.core.presence.set(alice.id, 'msnp:pc', { status: 'online' }, { settle: true });
    await fx.core.presence.disconnect(alice.id, 'msnp:pc');
    await wait(SETTLE_MS + 100);
    assert.deepEqual(bobSees.of('presence'), [], 'online then offline: watchers saw no change');
    const seen = await fx.core.accounts.properties(alice.id);
    assert.ok(
      Object.keys(seen).some((k) => /seen/i.test(k)),
      'the sign-out is the last activity',
    );
  });
});
