import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RedisBus } from '../../src/bus/redis.ts';
import { createCore } from '../../src/core/core.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/types.ts';
import { recordEvents } from '../support/core-fixture.ts';
import { openNode, testPrefix, waitFor } from '../support/redis.ts';

// Issue 13 in a cluster: a node killed while it delivered offline messages held them
// (a lease). The node that finds it dead gives them back at once, rather than when the
// lease runs out, and the recipient's live sessions elsewhere hear of them.
describe('offline messages when the delivering node dies', () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'papillon-offline-node-lost-'));
    store = await openSqliteStore(path.join(dir, 'papillon.sqlite'));
    await store.migrate();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the surviving node releases the dead node's deliveries", async () => {
    const prefix = testPrefix();
    const busA = await openNode(prefix, 'node-a');
    const busB = await openNode(prefix, 'node-b');
    try {
      const nodeA = createCore(store, busA);
      const nodeB = createCore(store, busB);
      const kim = await nodeA.accounts.create({
        privacy: 'allow-all',
        handle: 'kim@localhost',
        password: 'pw',
      });
      for (const text of ['one', 'two', 'three'])
        await nodeA.offline.save(kim.id, 'lee@localhost', { kind: 'chat', text });
      // Kim signs in on node a, which starts delivering.
      await nodeA.presence.set(kim.id, 'xmpp:phone', { status: 'online' });
      const held = await nodeA.offline.lease(kim.id);
      assert.equal(held.messages.length, 3);
      assert.deepEqual((await nodeB.offline.lease(kim.id)).messages, [], 'held by node a');

      // Kim's other session, on node b, hears when they are free again.
      const kimOnB = await recordEvents(nodeB, kim.id);
      (busA as RedisBus).abandon(); // kill -9
      await waitFor('the release', () => kimOnB.of('offline-stored').length > 0);
      const again = await nodeB.offline.lease(kim.id);
      assert.deepEqual(again.messages, held.messages, 'the same messages: ids and times');
      await again.acknowledge();
      assert.equal(await nodeB.offline.count(kim.id), 0);
    } finally {
      await Promise.all([busA.close().catch(() => {}), busB.close()]);
    }
  });
});
