import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RedisBus } from '../../src/bus/redis.ts';
import { type Core, createCore } from '../../src/core/core.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/types.ts';
import { recordEvents } from '../support/core-fixture.ts';
import { openNode, testPrefix, waitFor } from '../support/redis.ts';

// Two nodes of one cluster, as two servers would be: one store, a core on each RedisBus node.
describe('presence when a node dies', () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'papillon-node-lost-'));
    store = await openSqliteStore(path.join(dir, 'papillon.sqlite'));
    await store.migrate();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cluster() {
    const prefix = testPrefix();
    const busA = await openNode(prefix, 'node-a');
    const busB = await openNode(prefix, 'node-b');
    const nodeA = createCore(store, busA);
    const nodeB = createCore(store, busB);
    return { busA, busB, nodeA, nodeB, close: () => Promise.all([busA.close(), busB.close()]) };
  }

  async function pair(core: Core, name: string) {
    const alice = await core.accounts.create({
      privacy: 'allow-all',
      handle: `${name}-alice@localhost`,
      password: 'pw',
    });
    const bob = await core.accounts.create({
      privacy: 'allow-all',
      handle: `${name}-bob@localhost`,
      password: 'pw',
    });
    await core.relationships.addForward(bob.id, alice.handle);
    return { alice, bob };
  }

  it("shows the dead node's users offline to their contacts on the other nodes", async () => {
    const { busA, nodeA, nodeB, close } = await cluster();
    try {
      const { alice, bob } = await pair(nodeA, 'dead');
      const bobSees = await recordEvents(nodeB, bob.id); // Bob is signed in on node b
      await nodeA.presence.set(alice.id, 'msnp:pc', { status: 'online', statusText: 'here' });
      await waitFor('Bob to see Alice online', () => bobSees.of('presence').length === 1);

      (busA as RedisBus).abandon(); // node a is killed with Alice's connection on it
      await waitFor('Bob to see Alice go', () => bobSees.of('presence').length === 2);
      assert.deepEqual(
        bobSees.of('presence').map((e) => [e.contactHandle, e.presence.status]),
        [
          ['dead-alice@localhost', 'online'],
          ['dead-alice@localhost', 'offline'],
        ],
      );
      assert.equal((await nodeB.presence.seenBy(bob.id, alice.id)).status, 'offline');
      // XEP-0012: when Bob last saw her is known, as after any sign-out.
      const last = await nodeB.lastActivity.seenBy(bob.id, alice.id);
      assert.ok(last.kind === 'offline' && last.since !== undefined);
    } finally {
      await close();
    }
  });

  it('keeps the account online through its endpoints on the nodes still alive', async () => {
    const { busA, nodeA, nodeB, close } = await cluster();
    try {
      const { alice, bob } = await pair(nodeA, 'mpop');
      const bobSees = await recordEvents(nodeB, bob.id);
      await nodeB.presence.set(alice.id, 'xmpp:phone', { status: 'away' });
      await nodeA.presence.set(alice.id, 'msnp:pc', { status: 'online' });
      await waitFor(
        'Bob to see Alice online',
        () => bobSees.of('presence').at(-1)?.presence.status === 'online',
      );

      (busA as RedisBus).abandon();
      await waitFor('Bob to see Alice away', () => bobSees.of('presence').at(-1)?.presence.status === 'away');
      assert.deepEqual(
        (await nodeB.presence.endpoints(alice.id)).map((e) => e.endpointId),
        ['xmpp:phone'],
      );
    } finally {
      await close();
    }
  });
});
