import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalBus } from '../../src/bus/local.ts';
import type { ArchivedMessage } from '../../src/core/archive.ts';
import type { ConversationEvent, Participant } from '../../src/core/conversations.ts';
import { type Core, createCore } from '../../src/core/core.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { AccountRow, Store } from '../../src/store/types.ts';

const DAY = 86_400_000;

describe('message archive (core)', () => {
  let store: Store;
  let bus: LocalBus;
  let core: Core;
  let now = Date.UTC(2024, 0, 1);
  let ann: AccountRow;
  let ben: AccountRow;
  let cy: AccountRow;
  before(async () => {
    store = await openSqliteStore(':memory:');
    await store.migrate();
    bus = new LocalBus();
    core = createCore(store, bus, { clock: () => now, archiveDays: 2 });
    ann = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'ann@localhost',
      password: 'ann-secret',
    });
    ben = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'ben@localhost',
      password: 'ben-secret',
    });
    cy = await core.accounts.create({ privacy: 'allow-all', handle: 'cy@localhost', password: 'cy-secret' });
  });
  after(async () => {
    await core.archive.flush();
    await bus.close();
    await store.close();
  });

  it('keeps a message once for each party under one id, and pages through it both ways', async () => {
    const sent: string[] = [];
    for (let i = 1; i <= 5; i++) {
      now += 1000;
      const id = core.archive.record(ann, ben, `hello ${i}`);
      assert.ok(id);
      sent.push(id);
    }
    now += 1000;
    core.archive.record(ann, cy, 'to cy');

    const benSees = await core.archive.query(ben.id, {}, { max: 10 });
    assert.deepEqual(
      benSees?.messages.map((m) => [m.id, m.peer, m.outgoing, m.body]),
      sent.map((id, i) => [id, 'ann@localhost', false, `hello ${i + 1}`]),
    );
    assert.deepEqual([benSees?.complete, benSees?.count, benSees?.index], [true, 5, 0]);

    // Forward: two at a time, then the next two after the last one seen.
    const page1 = await core.archive.query(ann.id, { peer: 'ben@localhost' }, { max: 2 });
    assert.deepEqual(
      page1?.messages.map((m) => m.id),
      sent.slice(0, 2),
    );
    assert.deepEqual([page1?.complete, page1?.count, page1?.index], [false, 5, 0]);
    const page2 = await core.archive.query(ann.id, { peer: 'ben@localhost' }, { max: 2, after: sent[1] });
    assert.deepEqual(
      page2?.messages.map((m) => m.id),
      sent.slice(2, 4),
    );
    assert.equal(page2?.index, 2);

    // Backward: the last page, then the page before it, to the start.
    const last = await core.archive.query(ann.id, {}, { max: 2, last: true });
    assert.deepEqual(
      last?.messages.map((m) => m.body),
      ['hello 5', 'to cy'],
    );
    assert.deepEqual([last?.complete, last?.count, last?.index], [false, 6, 4]);
    const before = await core.archive.query(ann.id, {}, { max: 4, before: sent[4] });
    assert.deepEqual(
      before?.messages.map((m) => m.id),
      sent.slice(0, 4),
    );
    assert.deepEqual([before?.complete, before?.index], [true, 0]);

    // Time and id filters; an id the archive does not hold.
    const start = (await core.archive.query(ann.id, {}, { max: 10 }))?.messages[3]?.at;
    const late = await core.archive.query(ann.id, { start: start as number, beforeId: sent[4] }, { max: 10 });
    assert.deepEqual(
      late?.messages.map((m) => m.id),
      [sent[3]],
    );
    assert.equal(await core.archive.query(ann.id, {}, { max: 10, after: 'nope' }), undefined);
    assert.equal(await core.archive.query(cy.id, { ids: [sent[0] as string] }, { max: 10 }), undefined);
    assert.equal(core.archive.record(ann, ben, ''), undefined);
  });

  it('archives one-to-one conversation text (not typing, not three-party talk, not what is archived already)', async () => {
    const conversations = core.conversations;
    const participant = (a: AccountRow, endpoint: string, archived = false): Participant => ({
      accountId: a.id,
      handle: a.handle,
      displayName: a.handle,
      endpointId: endpoint,
      capabilities: {},
      ...(archived ? { archived } : {}),
    });
    const conversation = conversations.create();
    const heard: ConversationEvent[] = [];
    conversations.join(conversation.id, participant(ben, 'msnp:ben'), () => {});
    conversations.join(conversation.id, participant(cy, 'msnp:cy'), (e) => heard.push(e));
    conversations.send(conversation.id, 'msnp:ben', { kind: 'text', text: 'just us' });
    conversations.send(conversation.id, 'msnp:ben', { kind: 'typing' });
    const message = heard.find((e) => e.type === 'message');
    assert.ok(message?.type === 'message' && message.archiveId);
    const cySees = await core.archive.query(cy.id, { peer: 'ben@localhost' }, { max: 10 });
    assert.deepEqual(
      cySees?.messages.map((m) => [m.id, m.body, m.outgoing]),
      [[message.archiveId, 'just us', false]],
    );

    conversations.join(conversation.id, participant(ann, 'bridge:ann', true), () => {});
    conversations.send(conversation.id, 'msnp:ben', { kind: 'text', text: 'three of us' });
    conversations.leave(conversation.id, 'msnp:cy');
    conversations.send(conversation.id, 'bridge:ann', { kind: 'text', text: 'archived elsewhere' });
    const benHas = await core.archive.query(ben.id, {}, { max: 50 });
    assert.deepEqual(
      benHas?.messages.filter((m) => m.peer !== 'ann@localhost').map((m) => m.body),
      ['just us'],
    );
    assert.ok(!benHas?.messages.some((m) => m.body === 'archived elsewhere' || m.body === 'three of us'));
  });

  it('keeps messages archiveDays, then purges them on the way past a write', async () => {
    now += 3 * DAY;
    // Past retention, a message is out of every query before the purge comes by.
    assert.equal((await core.archive.query(ann.id, {}, { max: 10 }))?.count, 0);
    assert.ok(((await store.countArchive({ ownerId: ann.id })) ?? 0) > 0);
    core.archive.record(ann, ben, 'fresh');
    await core.archive.flush();
    assert.equal(await store.countArchive({ ownerId: ann.id }), 1);
    assert.deepEqual(
      (await core.archive.query(ben.id, {}, { max: 10 }))?.messages.map((m) => m.body),
      ['fresh'],
    );
  });

  it('keeps every message of a burst larger than one write, in order, with its time', async () => {
    // Written in slices (a backlog: 2,500 messages recorded in one batch are 2 writes).
    now += 4 * DAY;
    const ids: string[] = [];
    for (let i = 0; i < 2500; i++) {
      now += 1;
      const id = core.archive.record(cy, ben, `burst ${i}`);
      assert.ok(id);
      ids.push(id);
    }
    // More come while the burst is being written: a query still sees every one.
    const writing = core.archive.flush();
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (let i = 0; i < 5; i++) core.archive.record(cy, ben, `late ${i}`);
    await writing;
    assert.equal((await core.archive.query(cy.id, {}, { max: 1, last: true }))?.count, 2505);
    // Every page of the burst, in order, with its ids (MAX_ARCHIVE_PAGE at a time).
    const seen: ArchivedMessage[] = [];
    let cursor: string | undefined;
    while (seen.length < 2500) {
      const page = await core.archive.query(cy.id, {}, { max: 250, ...(cursor ? { after: cursor } : {}) });
      assert.ok(page && page.messages.length > 0);
      seen.push(...page.messages);
      cursor = page.messages.at(-1)?.id;
    }
    assert.deepEqual(
      seen.slice(0, 2500).map((m) => [m.id, m.body, m.outgoing]),
      ids.map((id, i) => [id, `burst ${i}`, true]),
    );
    assert.equal(seen[2499]?.at, now);
    assert.deepEqual(
      (await core.archive.query(cy.id, {}, { max: 5, last: true }))?.messages.map((m) => m.body),
      ['late 0', 'late 1', 'late 2', 'late 3', 'late 4'],
    );
  });

  it('is off with archiveDays 0', async () => {
    const off = createCore(store, bus, { clock: () => now });
    assert.equal(off.archive.enabled, false);
    assert.equal(off.archive.record(ann, ben, 'not kept'), undefined);
  });
});
