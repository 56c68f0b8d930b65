import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RedisBus } from '../../src/bus/redis.ts';
import type { EndpointRecord, JsonValue } from '../../src/bus/types.ts';
import { busContract } from '../contract/bus.contract.ts';
import { deleteKeys, openNode, rawRedis, sleep, testPrefix, waitFor } from '../support/redis.ts';

// Two nodes of one cluster: two RedisBus instances, each with its own connections.
busContract('redis', async () => {
  const prefix = testPrefix();
  const a = await openNode(prefix, 'node-a');
  const b = await openNode(prefix, 'node-b');
  return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
});

const record = (bus: RedisBus, accountId: string, endpointId: string, state: JsonValue = null) => ({
  accountId,
  endpointId,
  nodeId: bus.nodeId,
  state,
  updatedAt: 1,
});
const ids = (records: EndpointRecord[]) => records.map((r) => `${r.nodeId}/${r.endpointId}`).sort();

/** The id of a node's connection (`commands` or `events`), from its CLIENT SETNAME name. */
async function clientId(redis: ReturnType<typeof rawRedis>, prefix: string, nodeId: string, role: string) {
  const list = (await redis.client('LIST')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=${prefix}${nodeId}:${role} `));
  const id = line?.match(/^id=(\d+)/)?.[1];
  assert.ok(id, `no ${role} connection of ${nodeId}`);
  return id;
}

describe('RedisBus in a cluster', () => {
  it('sweeps a node that stopped beating: its endpoints go, and one node hears of them', async () => {
    const prefix = testPrefix();
    const victim = await openNode(prefix, 'victim');
    const b = await openNode(prefix, 'survivor-b');
    const c = await openNode(prefix, 'survivor-c');
    const heard: { by: string; records: EndpointRecord[] }[] = [];
    b.onEndpointsLost((records) => heard.push({ by: 'b', records }));
    c.onEndpointsLost((records) => heard.push({ by: 'c', records }));
    try {
      await victim.putEndpoint(record(victim, 'alice', 'msnp:pc', { status: 'online' }));
      await victim.putEndpoint(record(victim, 'bob', 'xmpp:phone'));
      await b.putEndpoint(record(b, 'alice', 'xmpp:laptop'));

      victim.abandon(); // as kill -9: no goodbye, heartbeat and records left behind
      await waitFor('the victim to be swept', async () => (await b.listEndpoints('alice')).length === 1);
      assert.deepEqual(ids(await c.listEndpoints('alice')), ['survivor-b/xmpp:laptop']);
      assert.deepEqual(await c.listEndpoints('bob'), []);
      await waitFor('the sweeper to tell its handlers', () => heard.length > 0);
      await sleep(1000); // several more sweeps on both survivors: nobody claims it again
      assert.equal(heard.length, 1, `heard ${heard.length} times`);
      assert.deepEqual(ids(heard[0]?.records ?? []), ['victim/msnp:pc', 'victim/xmpp:phone']);
      const pc = heard[0]?.records.find((r) => r.endpointId === 'msnp:pc');
      assert.deepEqual(pc?.state, { status: 'online' });
    } finally {
      await Promise.all([b.close(), c.close()]);
    }
  });

  it('a clean close removes its own endpoints and heartbeat, and nobody hears of a loss', async () => {
    const prefix = testPrefix();
    const redis = rawRedis();
    const a = await openNode(prefix, 'leaving');
    const b = await openNode(prefix, 'staying');
    let lost = 0;
    b.onEndpointsLost(() => lost++);
    try {
      await a.putEndpoint(record(a, 'alice', 'e1'));
      await b.putEndpoint(record(b, 'alice', 'e2'));
      assert.notEqual(await redis.zscore(`${prefix}heartbeats`, 'leaving'), null);
      await a.close();
      assert.deepEqual(ids(await b.listEndpoints('alice')), ['staying/e2']);
      assert.equal(await redis.zscore(`${prefix}heartbeats`, 'leaving'), null);
      assert.equal(await redis.exists(`${prefix}node-endpoints:leaving`), 0);
      await sleep(800); // past the node timeout: nothing left to sweep
      assert.equal(lost, 0);
      await assert.rejects(a.publish('x', 1), /closed/);
    } finally {
      await b.close();
      redis.disconnect();
    }
  });

  it('keeps delivering after its connections are killed (reconnect, resubscribe)', async () => {
    const prefix = testPrefix();
    const redis = rawRedis();
    const a = await openNode(prefix, 'publisher');
    const b = await openNode(prefix, 'listener');
    try {
      const got: JsonValue[] = [];
      await b.subscribe('room', (m) => got.push(m));
      await a.publish('room', 'before');
      await waitFor('the first message', () => got.length === 1);

      await redis.client('KILL', 'ID', await clientId(redis, prefix, 'listener', 'events'));
      await redis.client('KILL', 'ID', await clientId(redis, prefix, 'publisher', 'commands'));
      await waitFor('the listener to subscribe again', async () => {
        const [, count] = (await redis.pubsub('NUMSUB', `${prefix}channel:room`)) as [string, number];
        return count === 1;
      });
      await a.publish('room', 'after');
      await waitFor('the message after the reconnect', () => got.length === 2);
      assert.deepEqual(got, ['before', 'after']);
    } finally {
      await Promise.all([a.close(), b.close()]);
      redis.disconnect();
    }
  });

  it("puts a node's endpoints back when Redis loses them", async () => {
    const prefix = testPrefix();
    const redis = rawRedis();
    const a = await openNode(prefix, 'keeper');
    const b = await openNode(prefix, 'other');
    try {
      await a.putEndpoint(record(a, 'alice', 'msnp:pc', { status: 'busy' }));
      await a.putEndpoint(record(a, 'bob', 'xmpp:phone'));
      await a.putEndpoint(record(a, 'bob', 'gone'));
      await a.removeEndpoint('bob', 'gone');
      assert.ok((await deleteKeys(redis, prefix)) > 0);
      assert.deepEqual(await b.listEndpoints('alice'), []);
      await waitFor('the records to come back', async () => (await b.listEndpoints('bob')).length === 1);
      await waitFor('alice too', async () => (await b.listEndpoints('alice')).length === 1);
      assert.deepEqual(await b.listEndpoints('alice'), [record(a, 'alice', 'msnp:pc', { status: 'busy' })]);
      assert.deepEqual(ids(await b.listEndpoints('bob')), ['keeper/xmpp:phone']);
      // And the index came back with them: the node's endpoints still go when it does.
      assert.deepEqual(ids(await b.removeNodeEndpoints('keeper')), ['keeper/msnp:pc', 'keeper/xmpp:phone']);
    } finally {
      await Promise.all([a.close(), b.close()]);
      redis.disconnect();
    }
  });

  it('subscribers added while the first SUBSCRIBE is on its way get the next message', async () => {
    const prefix = testPrefix();
    const a = await openNode(prefix, 'a');
    try {
      const got: string[] = [];
      await Promise.all([a.subscribe('ch', () => got.push('one')), a.subscribe('ch', () => got.push('two'))]);
      await a.publish('ch', null);
      await waitFor('both subscribers', () => got.length === 2);
      assert.deepEqual(got.sort(), ['one', 'two']);
    } finally {
      await a.close();
    }
  });

  it('refuses to start when Redis cannot be reached', async () => {
    await assert.rejects(
      openNode(testPrefix(), 'nowhere', { url: 'redis://127.0.0.1:1' }),
      /ECONNREFUSED|connect/,
    );
  });
});
