import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bus, JsonValue } from '../../src/bus/types.ts';

/** What every Bus (local, Redis) must do. `open` returns two buses of one cluster (two nodes). */
export function busContract(
  name: string,
  open: () => Promise<{ a: Bus; b: Bus; cleanup: () => Promise<void> }>,
) {
  const channel = () => `test:${Math.random().toString(36).slice(2)}`;
  const collect = (bus: Bus, ch: string) => {
    const got: JsonValue[] = [];
    return bus.subscribe(ch, (m) => got.push(m)).then((sub) => ({ got, sub }));
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  describe(`Bus contract: ${name}`, () => {
    it('delivers to subscribers on both nodes, in publish order, never synchronously', async () => {
      const { a, b, cleanup } = await open();
      try {
        const ch = channel();
        const onA = await collect(a, ch);
        const onB = await collect(b, ch);
        const publishing = a.publish(ch, { n: 1 });
        assert.equal(onA.got.length, 0, 'delivered before publish returned');
        await publishing;
        await a.publish(ch, { n: 2 });
        await b.publish(ch, { n: 3 });
        await settle();
        assert.deepEqual(onA.got, [{ n: 1 }, { n: 2 }, { n: 3 }]);
        assert.deepEqual(onB.got, [{ n: 1 }, { n: 2 }, { n: 3 }]);
      } finally {
        await cleanup();
      }
    });

    it('delivers a copy: a subscriber cannot change what another receives', async () => {
      const { a, cleanup } = await open();
      try {
        const ch = channel();
        const first = await a.subscribe(ch, (m) => {
          (m as { list: number[] }).list.push(99);
        });
        const second = await collect(a, ch);
        const sent = { list: [1] };
        await a.publish(ch, sent);
        await settle();
        assert.deepEqual(second.got, [{ list: [1] }]);
        assert.deepEqual(sent, { list: [1] });
        await first.unsubscribe();
      } finally {
        await cleanup();
      }
    });

    it('stops delivering after unsubscribe, and other channels are not seen', async () => {
      const { a, b, cleanup } = await open();
      try {
        const ch = channel();
        const sub = await collect(b, ch);
        const other = await collect(b, channel());
        await a.publish(ch, 'one');
        await settle();
        await sub.sub.unsubscribe();
        await a.publish(ch, 'two');
        await settle();
        assert.deepEqual(sub.got, ['one']);
        assert.deepEqual(other.got, []);
      } finally {
        await cleanup();
      }
    });

    it('keeps one endpoint registry for the cluster', async () => {
      const { a, b, cleanup } = await open();
      try {
        const account = channel();
        await a.putEndpoint({
          accountId: account,
          endpointId: 'e1',
          nodeId: a.nodeId,
          state: { s: 1 },
          updatedAt: 1,
        });
        await b.putEndpoint({
          accountId: account,
          endpointId: 'e2',
          nodeId: b.nodeId,
          state: { s: 2 },
          updatedAt: 2,
        });
        await a.putEndpoint({
          accountId: account,
          endpointId: 'e1',
          nodeId: a.nodeId,
          state: { s: 3 },
          updatedAt: 3,
        });
        const seen = (await b.listEndpoints(account)).sort((x, y) =>
          x.endpointId.localeCompare(y.endpointId),
        );
        assert.deepEqual(
          seen.map((e) => [e.endpointId, e.nodeId, e.state, e.updatedAt]),
          [
            ['e1', a.nodeId, { s: 3 }, 3],
            ['e2', b.nodeId, { s: 2 }, 2],
          ],
        );
        assert.equal(await b.removeEndpoint(account, 'e2'), true);
        assert.equal(await b.removeEndpoint(account, 'e2'), false);
        assert.deepEqual(
          (await a.listEndpoints(account)).map((e) => e.endpointId),
          ['e1'],
        );
        assert.deepEqual(await a.listEndpoints(channel()), []);
      } finally {
        await cleanup();
      }
    });

    it("reads several accounts' endpoints in one call, one list per account in the order asked", async () => {
      const { a, b, cleanup } = await open();
      try {
        const [amy, ben, nobody] = [channel(), channel(), channel()];
        const put = (bus: Bus, accountId: string, endpointId: string, state: JsonValue) =>
          bus.putEndpoint({ accountId, endpointId, nodeId: bus.nodeId, state, updatedAt: 7 });
        await put(a, amy, 'pc', { s: 'amy-pc' });
        await put(b, amy, 'phone', { s: 'amy-phone' });
        await put(b, ben, 'pc', { s: 'ben-pc' });
        await put(a, ben, 'gone', null);
        assert.equal(await a.removeEndpoint(ben, 'gone'), true);
        const lists = await a.listEndpointsOf([ben, nobody, amy, ben]);
        const shape = lists.map((list) =>
          list
            .map((e) => [e.endpointId, e.nodeId, e.state, e.updatedAt])
            .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
        );
        assert.deepEqual(shape, [
          [['pc', b.nodeId, { s: 'ben-pc' }, 7]],
          [],
          [
            ['pc', a.nodeId, { s: 'amy-pc' }, 7],
            ['phone', b.nodeId, { s: 'amy-phone' }, 7],
          ],
          [['pc', b.nodeId, { s: 'ben-pc' }, 7]],
        ]);
        // What one call per account reads, from either node.
        for (const [i, id] of [ben, nobody, amy].entries()) {
          const one = (await b.listEndpoints(id)).sort((x, y) => x.endpointId.localeCompare(y.endpointId));
          const many = [...((await b.listEndpointsOf([id]))[0] ?? [])].sort((x, y) =>
            x.endpointId.localeCompare(y.endpointId),
          );
          assert.deepEqual(many, one, `account ${i}`);
        }
        assert.deepEqual(await b.listEndpointsOf([]), []);
      } finally {
        await cleanup();
      }
    });

    it("drops a node's endpoints when the node goes", async () => {
      const { a, b, cleanup } = await open();
      try {
        const account = channel();
        await a.putEndpoint({
          accountId: account,
          endpointId: 'on-a',
          nodeId: a.nodeId,
          state: null,
          updatedAt: 1,
        });
        await b.putEndpoint({
          accountId: account,
          endpointId: 'on-b',
          nodeId: b.nodeId,
          state: null,
          updatedAt: 1,
        });
        const removed = await b.removeNodeEndpoints(a.nodeId);
        assert.deepEqual(
          removed.map((e) => e.endpointId),
          ['on-a'],
        );
        assert.deepEqual(
          (await b.listEndpoints(account)).map((e) => e.endpointId),
          ['on-b'],
        );
      } finally {
        await cleanup();
      }
    });

    it('keeps an endpoint that moved to another node when its first node goes', async () => {
      const { a, b, cleanup } = await open();
      try {
        const account = channel();
        const on = (bus: Bus) => ({ accountId: account, endpointId: 'pc', nodeId: bus.nodeId, state: null });
        await a.putEndpoint({ ...on(a), updatedAt: 1 });
        await b.putEndpoint({ ...on(b), updatedAt: 2 }); // signed in again through node b
        assert.deepEqual(await a.removeNodeEndpoints(a.nodeId), []);
        assert.deepEqual(
          (await a.listEndpoints(account)).map((e) => [e.endpointId, e.nodeId]),
          [['pc', b.nodeId]],
        );
        assert.deepEqual(
          (await a.removeNodeEndpoints(b.nodeId)).map((e) => e.endpointId),
          ['pc'],
        );
        assert.deepEqual(await b.listEndpoints(account), []);
      } finally {
        await cleanup();
      }
    });

    it('gives a claimed key one holder for the cluster, taken over or released only as asked', async () => {
      const { a, b, cleanup } = await open();
      try {
        const key = channel();
        const [first, second] = await Promise.all([
          a.claim(key, a.nodeId, 60_000),
          b.claim(key, b.nodeId, 60_000),
        ]);
        // Both asked at once: both see the same single holder.
        assert.equal(first, second);
        const holder = first === a.nodeId ? a : b;
        const other = holder === a ? b : a;
        assert.equal(await holder.claim(key, holder.nodeId, 60_000), holder.nodeId, 'renewed');
        // Taking it over names the holder being replaced; another name changes nothing.
        assert.equal(await other.claim(key, other.nodeId, 60_000, 'someone-else'), holder.nodeId);
        assert.equal(await other.claim(key, other.nodeId, 60_000, holder.nodeId), other.nodeId);
        // Only the holder's release frees it; `true` takes it from anyone.
        await holder.release(key, holder.nodeId);
        assert.equal(await holder.claim(key, holder.nodeId, 60_000), other.nodeId);
        assert.equal(await holder.claim(key, holder.nodeId, 60_000, true), holder.nodeId);
        await holder.release(key, holder.nodeId);
        assert.equal(await other.claim(key, other.nodeId, 60_000), other.nodeId);
        // A claim ends with its lifetime.
        const brief = channel();
        assert.equal(await a.claim(brief, a.nodeId, 20), a.nodeId);
        await settle();
        assert.equal(await b.claim(brief, b.nodeId, 60_000), b.nodeId);
      } finally {
        await cleanup();
      }
    });
  });
}
