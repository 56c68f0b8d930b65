/**
 * The offline-message part of the Store contract (store.contract.ts calls it inside its
 * suite): storage order, leases (issue 13: at least once) and acknowledgement.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccountRow, NewOfflineMessage, OfflineLease, Store } from '../../src/store/types.ts';
import { newId } from '../../src/util/ids.ts';

export function offlineContract(store: () => Store, account: () => Promise<AccountRow>): void {
  const lease = (token = newId(), until = 10_000_000, node = 'node-a'): OfflineLease => ({
    node,
    token,
    until,
  });
  const undelivered = (m: NewOfflineMessage, leasedUntil: number | null = null) => ({
    ...m,
    deliveredAt: null,
    leasedUntil,
  });
  const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

  describe('offline messages', () => {
    it('leases in storage order; leased messages stay queued until acknowledged, and lease once', async () => {
      const [recipient, other] = [await account(), await account()];
      // sentAt deliberately out of order: storage order is what counts.
      const messages = [
        offline(recipient.id, 'one', 3000),
        offline(recipient.id, 'two', 1000),
        offline(recipient.id, 'three', 2000),
      ];
      for (const m of messages) await store().enqueueOffline(m);
      await store().enqueueOffline(offline(other.id, 'not yours'));
      assert.equal(await store().countOffline(recipient.id), 3);

      const leased = await store().leaseOffline(recipient.id, lease('t1', 5_000_100), 5_000_000);
      assert.deepEqual(
        leased,
        messages.map((m) => undelivered(m, 5_000_100)),
      );
      // Still queued (a peek sees them, with their lease), but no other lease gets them.
      assert.equal(await store().countOffline(recipient.id), 3);
      assert.deepEqual(await store().listOffline(recipient.id), leased);
      assert.deepEqual(await store().leaseOffline(recipient.id, lease('t2', 5_000_200), 5_000_050), []);

      // Acknowledged: they leave the queue, with their delivery time.
      assert.deepEqual(await store().claimOfflineIds(recipient.id, ids(messages), 5_000_060), [
        ...messages.map((m) => ({ ...m, deliveredAt: 5_000_060, leasedUntil: null })),
      ]);
      assert.equal(await store().countOffline(recipient.id), 0);
      assert.equal(await store().countOffline(other.id), 1);
      // An acknowledged message is never leased again, even once its lease ran out.
      assert.deepEqual(await store().leaseOffline(recipient.id, lease(), 9_000_000), []);

      const later = offline(recipient.id, 'later');
      await store().enqueueOffline(later);
      assert.deepEqual(await store().leaseOffline(recipient.id, lease('t3', 9_500_000), 9_000_000), [
        undelivered(later, 9_500_000),
      ]);
    });

    it('leases the first `limit`, and one sender alone', async () => {
      const recipient = await account();
      const from = (sender: string, text: string): NewOfflineMessage => ({
        ...offline(recipient.id, text),
        senderHandle: sender,
      });
      const [x1, y1, x2, x3] = [
        from('x@example.test', 'x1'),
        from('y@example.test', 'y1'),
        from('x@example.test', 'x2'),
        from('x@example.test', 'x3'),
      ];
      for (const m of [x1, y1, x2, x3]) await store().enqueueOffline(m);
      const x = { senderHandle: 'x@example.test', limit: 2 };
      assert.deepEqual(ids(await store().leaseOffline(recipient.id, lease(), 1000, x)), [x1.id, x2.id]);
      assert.deepEqual(ids(await store().leaseOffline(recipient.id, lease(), 1000, x)), [x3.id]);
      assert.deepEqual(ids(await store().leaseOffline(recipient.id, lease(), 1000, x)), []);
      assert.deepEqual(ids(await store().leaseOffline(recipient.id, lease(), 1000, { limit: 5 })), [y1.id]);
    });

    it('never gives the same message to two concurrent leases, and loses none', async () => {
      const recipient = await account();
      const messages = Array.from({ length: 60 }, (_, i) => offline(recipient.id, `m${i}`));
      for (const m of messages) await store().enqueueOffline(m);
      const order = new Map(messages.map((m, i) => [m.id, i]));
      const inOrder = (batch: { id: string }[]) => {
        const positions = batch.map((m) => order.get(m.id) ?? -1);
        assert.deepEqual(
          positions,
          [...positions].sort((a, b) => a - b),
        );
      };
      // Whole queues at once, then pieces of one, as sign-ins on two nodes would take them.
      const [a, b] = await Promise.all([
        store().leaseOffline(recipient.id, lease(), 1000, { limit: 30 }),
        store().leaseOffline(recipient.id, lease(), 1000, { limit: 30 }),
      ]);
      const rest: { id: string }[][] = [];
      for (;;) {
        const pieces = await Promise.all([
          store().leaseOffline(recipient.id, lease(), 1000, { limit: 7 }),
          store().leaseOffline(recipient.id, lease(), 1000),
        ]);
        if (pieces.every((p) => p.length === 0)) break;
        rest.push(...pieces);
      }
      for (const batch of [a, b, ...rest]) inOrder(batch);
      const all = [a, b, ...rest].flatMap(ids);
      assert.equal(new Set(all).size, all.length, 'a message was leased twice');
      assert.deepEqual(new Set(all), new Set(ids(messages)));
    });

    it('a lease that runs out, or is released, gives the messages back unchanged', async () => {
      const [recipient, other] = [await account(), await account()];
      const [a, b, c] = [
        offline(recipient.id, 'a', 111),
        offline(recipient.id, 'b', 222),
        offline(recipient.id, 'c'),
      ];
      for (const m of [a, b, c]) await store().enqueueOffline(m);
      const theirs = offline(other.id, 'theirs');
      await store().enqueueOffline(theirs);
      await store().leaseOffline(recipient.id, lease('held', 2000), 1000);
      await store().leaseOffline(other.id, lease('theirs', 2000), 1000);

      // Renewed: still held past the old end.
      assert.equal(await store().renewOfflineLease('held', 3000), 3);
      assert.equal(await store().renewOfflineLease('no such lease', 3000), 0);
      assert.deepEqual(await store().leaseOffline(recipient.id, lease(), 2500), []);

      // Released in part: those are free again, the others still held; an unknown token
      // or another lease's ids release nothing.
      assert.deepEqual(await store().releaseOfflineLease('held', [b.id, theirs.id]), [
        { recipientId: recipient.id, messageId: b.id },
      ]);
      assert.deepEqual(await store().releaseOfflineLease('someone else', [a.id]), []);
      assert.deepEqual(await store().releaseOfflineLease('held', []), []);
      assert.deepEqual(await store().leaseOffline(recipient.id, lease('again', 4000), 2500), [
        undelivered(b, 4000),
      ]);

      // Run out (the node died): another lease takes them, ids and times unchanged.
      assert.deepEqual(await store().leaseOffline(recipient.id, lease('after', 9000), 3000), [
        undelivered(a, 9000),
        undelivered(c, 9000),
      ]);
      // The first lease no longer holds them: renewing or releasing it does nothing.
      assert.equal(await store().renewOfflineLease('held', 99_000), 0);
      assert.deepEqual(await store().releaseOfflineLease('held'), []);
      assert.deepEqual(await store().leaseOffline(recipient.id, lease(), 3500), []);
      // Released whole: one entry per recipient.
      const released = await store().releaseOfflineLease('after');
      assert.equal(released.length, 1);
      assert.equal(released[0]?.recipientId, recipient.id);
      assert.ok([a.id, c.id].includes(released[0]?.messageId ?? ''));
      assert.deepEqual(ids(await store().leaseOffline(recipient.id, lease(), 3500)), [a.id, c.id]);
      assert.equal(await store().countOffline(recipient.id), 3);
    });

    it("releases one node's leases, or every node's", async () => {
      const [r1, r2, r3] = [await account(), await account(), await account()];
      const [m1, m2, m3, m3b] = [
        offline(r1.id, '1'),
        offline(r2.id, '2'),
        offline(r3.id, '3'),
        offline(r3.id, '3b'),
      ];
      for (const m of [m1, m2, m3, m3b]) await store().enqueueOffline(m);
      const far = 9_000_000_000_000;
      await store().leaseOffline(r1.id, lease(newId(), far, 'dead-node'), 1000);
      await store().leaseOffline(r2.id, lease(newId(), far, 'live-node'), 1000);
      await store().leaseOffline(r3.id, lease(newId(), far, 'dead-node'), 1000);
      const mine = <T extends { recipientId: string }>(rows: T[]) =>
        rows.filter((r) => [r1.id, r2.id, r3.id].includes(r.recipientId));

      const dead = mine(await store().releaseNodeOfflineLeases('dead-node'));
      assert.deepEqual(dead.map((r) => r.recipientId).sort(), [r1.id, r3.id].sort());
      assert.ok([m3.id, m3b.id].includes(dead.find((r) => r.recipientId === r3.id)?.messageId ?? ''));
      assert.deepEqual(ids(await store().leaseOffline(r1.id, lease(), 1000)), [m1.id]);
      assert.deepEqual(ids(await store().leaseOffline(r3.id, lease(), 1000)), [m3.id, m3b.id]);
      assert.deepEqual(await store().leaseOffline(r2.id, lease(), 1000), [], 'a live node keeps its own');

      // A server alone, starting: every lease is void.
      const all = mine(await store().releaseNodeOfflineLeases());
      assert.deepEqual(all.map((r) => r.recipientId).sort(), [r1.id, r2.id, r3.id].sort());
      assert.deepEqual(ids(await store().leaseOffline(r2.id, lease(), 1000)), [m2.id]);
    });

    it("acknowledges listed ids only, leased or not, once, and never another recipient's", async () => {
      const [recipient, other] = [await account(), await account()];
      const [a, b, c] = [offline(recipient.id, 'a'), offline(recipient.id, 'b'), offline(recipient.id, 'c')];
      const theirs = offline(other.id, 'theirs');
      for (const m of [a, b, c, theirs]) await store().enqueueOffline(m);
      await store().leaseOffline(recipient.id, lease('ack', 5000), 1000, { limit: 1 });
      assert.deepEqual(await store().claimOfflineIds(recipient.id, [c.id, a.id, theirs.id, 'nope'], 9000), [
        { ...a, deliveredAt: 9000, leasedUntil: null },
        { ...c, deliveredAt: 9000, leasedUntil: null },
      ]);
      assert.deepEqual(await store().claimOfflineIds(recipient.id, [a.id], 9500), []);
      assert.deepEqual(await store().claimOfflineIds(recipient.id, [], 9500), []);
      assert.deepEqual(
        await store().releaseOfflineLease('ack'),
        [],
        'an acknowledged message stays delivered',
      );
      assert.deepEqual(await store().listOffline(recipient.id), [undelivered(b)]);
      assert.equal(await store().countOffline(other.id), 1);
    });

    it('purges only messages delivered before the cut-off', async () => {
      const recipient = await account();
      // Delivery times far in the past, so no other case's messages are affected.
      const [early, late, waiting] = [
        offline(recipient.id, 'early'),
        offline(recipient.id, 'late'),
        offline(recipient.id, 'pending'),
      ];
      for (const m of [early, late, waiting]) await store().enqueueOffline(m);
      await store().claimOfflineIds(recipient.id, [early.id], 1_000);
      await store().claimOfflineIds(recipient.id, [late.id], 3_000);

      assert.equal(await store().purgeDeliveredOffline(1_000), 0);
      assert.equal(await store().purgeDeliveredOffline(2_000), 1);
      assert.equal(await store().purgeDeliveredOffline(2_000), 0);
      assert.equal(await store().purgeDeliveredOffline(4_000), 1);
      assert.equal(await store().countOffline(recipient.id), 1);
      assert.deepEqual(
        (await store().leaseOffline(recipient.id, lease(), Date.now())).map((m) => m.payload),
        [JSON.stringify({ text: 'pending' })],
      );
    });

    it('returns nothing for a recipient without messages', async () => {
      const nobody = await account();
      assert.equal(await store().countOffline(nobody.id), 0);
      assert.deepEqual(await store().listOffline(nobody.id), []);
      assert.deepEqual(await store().leaseOffline(nobody.id, lease(), Date.now()), []);
    });
  });
}

/** A message to store for `recipientId`, sent now unless `sentAt` says. */
export function offline(recipientId: string, text: string, sentAt = Date.now()): NewOfflineMessage {
  return {
    id: newId(),
    recipientId,
    senderHandle: 'sender@example.test',
    payload: JSON.stringify({ text }),
    sentAt,
  };
}
