import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisBus } from '../../src/bus/redis.ts';
import { isPapillonError } from '../../src/util/errors.ts';
import { startTestServer } from '../support/papillon-server.ts';
import { rawRedis, testPrefix, testRedisUrl } from '../support/redis.ts';

describe('server on the Redis bus (redisUrl)', () => {
  it('joins the cluster under its node id, and leaves it when stopped', async () => {
    const prefix = testPrefix();
    const redis = rawRedis();
    const server = await startTestServer({
      PAPILLON_REDIS_URL: testRedisUrl(),
      PAPILLON_REDIS_KEY_PREFIX: prefix,
      PAPILLON_NODE_ID: 'node-1',
    });
    try {
      assert.ok(server.server.core.bus instanceof RedisBus);
      assert.equal(server.server.core.bus.nodeId, 'node-1');
      assert.notEqual(await redis.zscore(`${prefix}heartbeats`, 'node-1'), null);
    } finally {
      await server.stop();
    }
    assert.equal(await redis.zscore(`${prefix}heartbeats`, 'node-1'), null);
    redis.disconnect();
  });

  it('does not start when Redis cannot be reached, and says which setting', async () => {
    await assert.rejects(
      startTestServer({ PAPILLON_REDIS_URL: 'redis://127.0.0.1:1', PAPILLON_REDIS_KEY_PREFIX: testPrefix() }),
      (err: unknown) => isPapillonError(err, 'bad-config') && /PAPILLON_REDIS_URL/.test(err.message),
    );
  });
});
