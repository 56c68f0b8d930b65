import assert from 'node:assert/strict';
import { it } from 'node:test';
import { RedisRateStore } from '../../src/server/redis-rate-store.ts';
import { rateStoreContract } from '../contract/rate-store.contract.ts';
import { deleteKeys, rawRedis, testPrefix, testRedisUrl } from '../support/redis.ts';

// Two nodes: two stores, each with its own connection, on one prefix.
rateStoreContract('redis', async () => {
  const keyPrefix = testPrefix();
  const a = await RedisRateStore.open({ url: testRedisUrl(), keyPrefix });
  const b = await RedisRateStore.open({ url: testRedisUrl(), keyPrefix });
  const cleanup = async () => {
    const redis = rawRedis();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
    await Promise.all([a.close(), b.close()]);
  };
  return { a, b, cleanup };
});

it('RedisRateStore keeps its counters under its prefix, apart from another deployment', async () => {
  const mine = testPrefix();
  const theirs = testPrefix();
  const a = await RedisRateStore.open({ url: testRedisUrl(), keyPrefix: mine });
  const b = await RedisRateStore.open({ url: testRedisUrl(), keyPrefix: theirs });
  const redis = rawRedis();
  try {
    await a.increment('signup:192.0.2.1', 1, 60_000);
    assert.equal((await b.read('signup:192.0.2.1')).count, 0);
    assert.deepEqual(await redis.keys(`${mine}*`), [`${mine}rate:signup:192.0.2.1`]);
    // Every counter has an expiry: none outlives its window, whatever happens to the node.
    const ttl = await redis.pttl(`${mine}rate:signup:192.0.2.1`);
    assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
  } finally {
    await deleteKeys(redis, mine);
    redis.disconnect();
    await Promise.all([a.close(), b.close()]);
  }
});

it('RedisRateStore.open fails when Redis cannot be reached', async () => {
  await assert.rejects(RedisRateStore.open({ url: 'redis://127.0.0.1:1', onError: () => {} }));
});
