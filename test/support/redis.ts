import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisBus, type RedisBusOptions } from '../../src/bus/redis.ts';

/** The real Redis the cluster tests run on; CI (.ci/run) sets it. */
export function testRedisUrl(): string {
  const url = process.env.PAPILLON_TEST_REDIS_URL;
  if (!url) {
    throw new Error(
      'PAPILLON_TEST_REDIS_URL is not set: the Redis bus is tested against a real Redis ' +
        '(e.g. PAPILLON_TEST_REDIS_URL=redis://127.0.0.1:6379; .ci/run sets it)',
    );
  }
  return url;
}

/** A key prefix of its own, so tests running at once never see each other's keys or channels. */
export function testPrefix(): string {
  return `papillon-test:${randomBytes(6).toString('hex')}:`;
}

/** A RedisBus node of the cluster under `prefix`, with short liveness times unless given. */
export function openNode(prefix: string, nodeId: string, options: Partial<RedisBusOptions> = {}) {
  return RedisBus.open({
    url: testRedisUrl(),
    nodeId,
    keyPrefix: prefix,
    heartbeatMs: 100,
    nodeTimeoutMs: 500,
    onError: () => {}, // killed connections are the point of some tests
    ...options,
  });
}

/** A plain client, to look at or damage what the buses keep. */
export function rawRedis(): Redis {
  return new Redis(testRedisUrl());
}

/** Deletes every key under `prefix`, as a Redis restart without persistence would. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/**
 * Waits until `check` holds, polling; fails with `what` when it never does. The
 * deadline is a safety net against hanging, not a measured expectation.
 */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, deadlineMs = 15_000) {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
