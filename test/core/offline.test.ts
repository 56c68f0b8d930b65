import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { isPapillonError } from '../../src/util/errors.ts';
import { type CoreFixture, coreFixture, recordEvents, settle } from '../support/core-fixture.ts';

describe('offline messages', () => {
  let fx: CoreFixture;
  before(async () => {
    fx = await coreFixture();
  });
  after(() => fx.close());

  it('are durable once save resolves, delivered in order, exactly once', async () => {
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

    const first = await fx.core.offline.claim(bob.id);
    assert.deepEqual(
      first.map((m) => [m.senderHandle, m.content.text]),
      [
        ['o-alice@localhost', 'message 1'],
        ['o-alice@localhost', 'message 2'],
        ['o-alice@localhost', 'message 3'],
      ],
    );
    assert.ok(first.every((m, i) => i === 0 || m.sentAt >= (first[i - 1]?.sentAt ?? 0)));
    assert.deepEqual(await fx.core.offline.claim(bob.id), []);
    assert.equal(await fx.core.offline.count(bob.id), 0);
  });

  it('can be looked at without taking them, and taken one sender at a time', async () => {
    const dan = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'o-dan@localhost',
      password: 'pw',
    });
    await fx.core.offline.save(dan.id, 'o-x@localhost', { kind: 'chat', text: 'x1' });
    await fx.core.offline.save(dan.id, 'o-y@localhost', { kind: 'chat', text: 'y1', senderName: 'Y' });
    await fx.core.offline.save(dan.id, 'o-x@localhost', { kind: 'chat', text: 'x2' });
    const texts = (messages: { content: { text: string } }[]) => messages.map((m) => m.content.text);
    assert.deepEqual(texts(await fx.core.offline.pending(dan.id)), ['x1', 'y1', 'x2']);
    assert.deepEqual(texts(await fx.core.offline.pending(dan.id)), ['x1', 'y1', 'x2']);
    assert.deepEqual(texts(await fx.core.offline.claim(dan.id, 'o-x@localhost')), ['x1', 'x2']);
    const rest = await fx.core.offline.pending(dan.id);
    assert.deepEqual(texts(rest), ['y1']);
    assert.equal(rest[0]?.content.senderName, 'Y');
    assert.deepEqual(texts(await fx.core.offline.claim(dan.id)), ['y1']);
  });

  it('two endpoints claiming at once never both get a message', async () => {
    const bob = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'o-bob2@localhost',
      password: 'pw',
    });
    for (let i = 0; i < 20; i++)
      await fx.core.offline.save(bob.id, 'x@localhost', { kind: 'normal', text: `${i}` });
    const [a, b] = await Promise.all([fx.core.offline.claim(bob.id), fx.core.offline.claim(bob.id)]);
    const ids = [...a, ...b].map((m) => m.id);
    assert.equal(ids.length, 20);
    assert.equal(new Set(ids).size, 20);
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
