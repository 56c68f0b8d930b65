import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalBus } from '../../src/bus/local.ts';
import type { Bus } from '../../src/bus/types.ts';
import type { Membership } from '../../src/core/conversation-membership.ts';
import type { ConversationEvent, Participant } from '../../src/core/conversations.ts';
import { type Core, createCore } from '../../src/core/core.ts';
import { RemoteConversations } from '../../src/core/remote-conversations.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/types.ts';
import { settle } from '../support/core-fixture.ts';

function participant(handle: string, endpointId: string): Participant {
  return { accountId: `id-${handle}`, handle, displayName: handle, endpointId, capabilities: {} };
}

/** Events a listener heard, in order. */
function recorder() {
  const heard: ConversationEvent[] = [];
  return { heard, listener: (event: ConversationEvent) => heard.push(event) };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await settle();
  assert.ok(condition(), 'condition never held');
}

// Three cores on one store and one bus, as three nodes: node-a hosts a conversation, a
// participant on node-b takes part through the bus (core/remote-conversations.ts).
describe('conversations across nodes', () => {
  let dir: string;
  let store: Store;
  let bus: LocalBus;
  let nodes: Record<'a' | 'b' | 'c', Core>;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'papillon-remote-'));
    store = await openSqliteStore(path.join(dir, 'papillon.sqlite'));
    await store.migrate();
    bus = new LocalBus('node-a');
    const view = (nodeId: string) => Object.create(bus, { nodeId: { value: nodeId } }) as Bus;
    nodes = {
      a: createCore(store, bus),
      b: createCore(store, view('node-b')),
      c: createCore(store, view('node-c')),
    };
  });
  after(async () => {
    await bus.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A conversation on node-a with `ann` in it, and `bob` on node-b joined through the bus. */
  async function hostedOnA() {
    const a = nodes.a.conversations;
    const conversation = a.create();
    const ann = recorder();
    a.join(conversation.id, participant('ann@localhost', 'msnp-sb:ann'), ann.listener);
    const bob = recorder();
    const membership = (await nodes.b.conversations.enter(
      conversation.id,
      'node-a',
      participant('bob@localhost', 'xmpp-bridge:bob'),
      bob.listener,
    )) as Membership;
    assert.ok(membership, 'bob joined');
    return { id: conversation.id, ann, bob, membership };
  }

  it('a member on another node hears the others, with their bytes, and speaks to them', async () => {
    const { id, ann, bob, membership } = await hostedOnA();
    assert.deepEqual(
      membership.others().map((p) => p.handle),
      ['ann@localhost'],
    );
    assert.equal(ann.heard[0]?.type, 'joined');
    const payload = Buffer.from([0, 1, 2, 250, 13, 10]);
    nodes.a.conversations.send(id, 'msnp-sb:ann', { kind: 'other' }, payload);
    await until(() => bob.heard.length === 1);
    const message = bob.heard[0];
    assert.equal(message?.type, 'message');
    assert.deepEqual(message?.type === 'message' ? message.payload : undefined, payload);
    assert.equal(await membership.send({ kind: 'text', text: 'hi from b' }), 1);
    const last = ann.heard.at(-1);
    assert.deepEqual(last?.type === 'message' ? last.content : undefined, {
      kind: 'text',
      text: 'hi from b',
    });
    membership.leave();
    await until(() => ann.heard.at(-1)?.type === 'left');
  });

  it('the host refuses an endpoint already in, and a conversation it does not have', async () => {
    const { id, membership } = await hostedOnA();
    const again = await nodes.c.conversations.enter(id, 'node-a', membership.participant, () => {});
    assert.equal(again, undefined);
    const none = await nodes.b.conversations.enter(
      '123456789',
      'node-a',
      participant('x@localhost', 'x'),
      () => {},
    );
    assert.equal(none, undefined);
    membership.leave();
  });

  it('a lost host ends its conversations for members elsewhere, whichever node noticed', async () => {
    const { id, bob, membership } = await hostedOnA();
    // The bus tells one node (here node-c); it passes it on.
    nodes.c.conversations.nodeLost('node-a');
    await until(() => !membership.active);
    assert.deepEqual(bob.heard.at(-1), {
      type: 'left',
      participant: participant('ann@localhost', 'msnp-sb:ann'),
      reason: 'closed',
    });
    assert.equal(await membership.send({ kind: 'text', text: 'anyone?' }), 0);
    nodes.a.conversations.leave(id, 'msnp-sb:ann');
  });

  it('a lost member node leaves the conversations the host has', async () => {
    const { ann } = await hostedOnA();
    nodes.a.conversations.nodeLost('node-b');
    assert.deepEqual(ann.heard.at(-1), {
      type: 'left',
      participant: participant('bob@localhost', 'xmpp-bridge:bob'),
      reason: 'closed',
    });
  });

  it('a host that stops tells its members elsewhere that everyone left', async () => {
    const { id, bob, membership } = await hostedOnA();
    await nodes.a.conversations.close();
    await until(() => membership.others().length === 0);
    assert.deepEqual(bob.heard.at(-1), {
      type: 'left',
      participant: participant('ann@localhost', 'msnp-sb:ann'),
      reason: 'closed',
    });
    nodes.a.conversations.leave(id, 'msnp-sb:ann');
  });

  it('a host that never answers is taken for lost: the join gives up', async () => {
    const remote = new RemoteConversations(nodes.b.bus, nodes.b.conversations, { requestTimeoutMs: 20 });
    // The request timer does not hold a process open by itself (a server's sockets do).
    const alive = setInterval(() => {}, 1000);
    try {
      const joined = await remote.join('node-gone', '123456789', participant('x@localhost', 'x'), () => {});
      assert.equal(joined, undefined);
    } finally {
      clearInterval(alive);
      await remote.close();
    }
  });

  it('an invitation names the host node', async () => {
    const account = await nodes.a.accounts.create({ handle: 'dan@localhost', password: 'dan-secret-1' });
    const events: unknown[] = [];
    const sub = await nodes.b.events.subscribe(account.id, (e) => events.push(e));
    const conversation = nodes.a.conversations.create();
    await nodes.a.conversations.ring(
      conversation.id,
      participant('ann@localhost', 'msnp-sb:ann'),
      account.id,
    );
    await until(() => events.length === 1);
    assert.deepEqual(events[0], {
      type: 'conversation-invite',
      conversationId: conversation.id,
      inviterHandle: 'ann@localhost',
      inviterName: 'ann@localhost',
      hostNodeId: 'node-a',
    });
    assert.match(conversation.id, /^\d{9}$/);
    await sub.unsubscribe();
  });
});
