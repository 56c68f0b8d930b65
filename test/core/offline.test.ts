import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OfflineMessages } from '../../src/core/offline.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { isPapillonError } from '../../src/util/errors.ts';
import { type CoreFixture, coreFixture, recordEvents, settle } from '../support/core-fixture.ts';

describe('offline messages', () => {
  let fx: CoreFixture;
  before(async () => {
    fx = await coreFixture();
  });
  after(() => fx.close());

  it('are durable once save resolves, leased in order, and leave only when acknowledged', async () => {
    const bob = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'o-bob@localhost',
      password: 'pw',
    });
    const events = await recordEvents(fx.core, bob.id);
    for (let i = 1; i <= 3; i++) {
      await fx.core.offline.save(bob.id, 'o-alice@localhost', { kind: 'chat', text: `message ${i}` });
    }
    await settle();
    assert.equal(events.of('offline-stored').length, 3);

    // A second connection to the same file sees them: they are on disk, not in memory.
    const other = await openSqliteStore(fx.file);
    assert.equal(await other.countOffline(bob.id), 3);
    await other.close();

    const first = await fx.core.offline.lease(bob.id);
    assert.deepEqual(
      first.messages.map((m) => [m.senderHandle, m.content.text]),
      [
        ['o-alice@localhost', 'message 1'],
        ['o-alice@localhost', 'message 2'],
        ['o-alice@localhost', 'message 3'],
      ],
    );
    assert.ok(first.messages.every((m, i) => i === 0 || m.sentAt >= (first.messages[i - 1]?.sentAt ?? 0)));
    // Held by this delivery: still stored, but no other delivery gets them.
    assert.equal(await fx.core.offline.count(bob.id), 3);
    assert.deepEqual((await fx.core.offline.lease(bob.id)).messages, []);
    assert.deepEqual(await fx.core.offline.deliverable(bob.id), []);
    await first.acknowledge();
    assert.ok(first.settled);
    assert.equal(await fx.core.offline.count(bob.id), 0);
  });

  it('a released delivery gives them back with their ids and times, and tells the live sessions', async () => {
    const cy = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'o-cy@localhost',
      password: 'pw',
    });
    for (const text of ['a', 'b', 'c'])
      await fx.core.offline.save(cy.id, 'o-alice@localhost', { kind: 'chat', text });
    const events = await recordEvents(fx.core, cy.id);
    const first = await fx.core.offline.lease(cy.id);
    const [a, b, c] = first.messages;
    // Written in part: the one acknowledged is gone, the others come back unchanged.
    await first.acknowledge([a?.id ?? '']);
    await first.release();
    await settle();
    assert.equal(events.of('offline-stored').length, 1);
    const again = await fx.core.offline.lease(cy.id);
    assert.deepEqual(again.messages, [b, c]);
    await again.release();
  });

  it("leases one sender's messages, and a few at a time", async () => {
    const dan = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'o-dan@localhost',
      password: 'pw',
    });
    await fx.core.offline.save(dan.id, 'o-x@localhost', { kind: 'chat', text: 'x1' });
    await fx.core.offline.save(dan.id, 'o-y@localhost', { kind: 'chat', text: 'y1', senderName: 'Y' });
    await fx.core.offline.save(dan.id, 'o-x@localhost', { kind: 'chat', text: 'x2' });
    const texts = (messages: readonly { content: { text: string } }[]) => messages.map((m) => m.content.text);
    assert.deepEqual(texts(await fx.core.offline.pending(dan.id)), ['x1', 'y1', 'x2']);
    const x = await fx.core.offline.lease(dan.id, { senderHandle: 'o-x@localhost', limit: 1 });
    assert.deepEqual(texts(x.messages), ['x1']);
    // A peek sees everything stored; what can be delivered now leaves out what a delivery holds.
    assert.deepEqual(texts(await fx.core.offline.pending(dan.id)), ['x1', 'y1', 'x2']);
    const rest = await fx.core.offline.deliverable(dan.id);
    assert.deepEqual(texts(rest), ['y1', 'x2']);
    assert.equal(rest[0]?.content.senderName, 'Y');
    await x.acknowledge();
    const all = await fx.core.offline.lease(dan.id);
    assert.deepEqual(texts(all.messages), ['y1', 'x2']);
    await all.acknowledge();
  });

  it('two endpoints leasing at once never both get a message', async () => {
    const bob = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'o-bob2@localhost',
      password: 'pw',
    });
    for (let i = 0; i < 20; i++)
      await fx.core.offline.save(bob.id, 'x@localhost', { kind: 'normal', text: `${i}` });
    const [a, b] = await Promise.all([fx.core.offline.lease(bob.id), fx.core.offline.lease(bob.id)]);
    const ids = [...a.messages, ...b.messages].map((m) => m.id);
    assert.equal(ids.length, 20);
    assert.equal(new Set(ids).size, 20);
    await Promise.all([a.acknowledge(), b.acknowledge()]);
  });

  it('without an acknowledgement: kept when the connection drops, gone when it stays up or closes cleanly', async () => {
    const eve = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'o-eve@localhost',
      password: 'pw',
    });
    const save = (text: string) => fx.core.offline.save(eve.id, 'x@localhost', { kind: 'chat', text });
    const never = new Promise<never>(() => {});
    // What happens second happens a moment later, as on a real connection.
    const later = <T>(value: T) => new Promise<T>((r) => setTimeout(() => r(value), 5));
    const cases: Array<[string, Promise<unknown>, Promise<'clean' | 'dropped'>, number]> = [
      ['dropped after the flush', Promise.resolve(), later('dropped'), 1],
      ['dropped before the flush', never, Promise.resolve('dropped'), 1],
      ['closed by the client before the flush', later(undefined), Promise.resolve('clean'), 1],
      ['closed by the client after the flush', Promise.resolve(), later('clean'), 0],
      ['up for the grace period', Promise.resolve(), never, 0],
    ];
    // The grace timer does not hold the process open (a server has its listeners for that).
    const alive = setInterval(() => {}, 1000);
    try {
      for (const [what, flushed, ended, kept] of cases) {
        await save(what);
        const batch = await fx.core.offline.lease(eve.id);
        await batch.settleByConnection(flushed, ended, 20);
        assert.equal(await fx.core.offline.count(eve.id), kept, what);
        if (kept) await (await fx.core.offline.lease(eve.id)).acknowledge();
      }
    } finally {
      clearInterval(alive);
    }
  });

  it("a node's deliveries are void when it restarts or dies; a lease that is renewed holds", async () => {
    const fay = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'o-fay@localhost',
      password: 'pw',
    });
    await fx.core.offline.save(fay.id, 'x@localhost', { kind: 'chat', text: 'held' });
    let now = 1_000_000;
    const clock = () => now;
    const mine = new OfflineMessages(fx.core.store, fx.core.events, clock, 'node-a', 3000);
    const theirs = new OfflineMessages(fx.core.store, fx.core.events, clock, 'node-b', 3000);
    const held = await mine.lease(fay.id);
    assert.equal(held.messages.length, 1);
    // Renewed every third of the lease: still held long after the first end.
    for (let i = 0; i < 4; i++) {
      now += 1000;
      await new Promise((r) => setTimeout(r, 1100));
    }
    assert.deepEqual((await theirs.lease(fay.id)).messages, [], 'renewed');
    // node-a died: node-b voids its leases, and the message is deliverable there.
    assert.ok((await theirs.releaseNode('node-a')) >= 1);
    const taken = await theirs.lease(fay.id);
    assert.deepEqual(taken.messages, held.messages);
    await held.release(); // too late: node-b holds it now
    assert.deepEqual((await mine.lease(fay.id)).messages, []);
    await taken.acknowledge();
    assert.equal(await fx.core.offline.count(fay.id), 0);
  });

  it('refuses an oversized message before storing it', async () => {
    const bob = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'o-bob3@localhost',
      password: 'pw',
    });
    await assert.rejects(
      fx.core.offline.save(bob.id, 'x@localhost', { kind: 'chat', text: 'x'.repeat(70_000) }),
      (e: unknown) => isPapillonError(e, 'conflict'),
    );
    assert.equal(await fx.core.offline.count(bob.id), 0);
  });
});
