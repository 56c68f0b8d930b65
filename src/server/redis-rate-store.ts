import { Redis } from 'ioredis';
import type { Counter, IncrementOptions, RateStore } from '../core/rate-store.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { redisUnreachable } from './startup-errors.ts';

/**
 * KEYS[1] counter; ARGV: by, ttl (ms), slide ('1' or '0'). Returns { count, ttl left }.
 * INCRBY and PEXPIRE in one script, so a counter never exists without its expiry
 * (a node dying between the two would otherwise leave a lock that never ends).
 */
const INCREMENT = `
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n <= 0 then
  redis.call('DEL', KEYS[1])
  return {0, 0}
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 or ARGV[3] == '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {n, ttl}
`;

/** KEYS[1] counter. Returns { count, ttl left }, { 0, 0 } when absent. */
const READ = `
local n = redis.call('GET', KEYS[1])
if not n then return {0, 0} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
return {tonumber(n), ttl}
`;

type Scripted = Redis & {
  rateIncrement(key: string, by: string, ttlMs: string, slide: string): Promise<[number, number]>;
  rateRead(key: string): Promise<[number, number]>;
};

export interface RedisRateStoreOptions {
  url: string;
  /** Prefix of every key; default `papillon:`. Nodes sharing limits use the same one. */
  keyPrefix?: string;
  /** A connection error (ioredis reconnects by itself); default: a process warning. */
  onError?: (err: Error) => void;
}

/**
 * The cluster `RateStore`: each counter is a Redis string with a TTL under
 * `<prefix>rate:`, changed by Lua scripts so each operation is atomic on every node.
 * Commands are auto-pipelined: the reads a log-in makes in one tick go in one round
 * trip, in the order they were called. While Redis is unreachable, operations fail
 * after a short wait (the log-in fails with the protocol's internal error) rather than
 * letting attempts through unthrottled.
 */
export class RedisRateStore implements RateStore {
  readonly #redis: Scripted;
  readonly #prefix: string;

  /** Connects; rejects when Redis cannot be reached. */
  static async open(options: RedisRateStoreOptions): Promise<RedisRateStore> {
    const store = new RedisRateStore(options);
    try {
      await store.#redis.connect();
      await store.#redis.ping();
    } catch (err) {
      store.#redis.disconnect();
      throw err;
    }
    return store;
  }

  private constructor(options: RedisRateStoreOptions) {
    this.#prefix = `${options.keyPrefix ?? 'papillon:'}rate:`;
    const onError =
      options.onError ?? ((err: Error) => process.emitWarning(`redis rate store: ${err.message}`));
    this.#redis = new Redis(options.url, {
      lazyConnect: true,
      enableAutoPipelining: true,
      connectionName: `${this.#prefix}limits`.replace(/[^\w.:@-]/g, '_'),
      retryStrategy: (times) => Math.min(times * 100, 2000),
      // A log-in waits a little for a reconnect, not for ever.
      maxRetriesPerRequest: 2,
      commandTimeout: 5000,
    }) as Scripted;
    this.#redis.on('error', onError);
    this.#redis.defineCommand('rateIncrement', { numberOfKeys: 1, lua: INCREMENT });
    this.#redis.defineCommand('rateRead', { numberOfKeys: 1, lua: READ });
  }

  async increment(key: string, by: number, ttlMs: number, options: IncrementOptions = {}): Promise<Counter> {
    const ttl = String(Math.max(1, Math.ceil(ttlMs)));
    const [count, left] = await this.#redis.rateIncrement(
      this.#prefix + key,
      String(by),
      ttl,
      options.slide ? '1' : '0',
    );
    return { count, ttlMs: left };
  }

  async read(key: string): Promise<Counter> {
    const [count, left] = await this.#redis.rateRead(this.#prefix + key);
    return { count, ttlMs: left };
  }

  async reset(key: string): Promise<void> {
    await this.#redis.del(this.#prefix + key);
  }

  async close(): Promise<void> {
    if (this.#redis.status === 'ready') await this.#redis.quit();
    else this.#redis.disconnect();
  }
}

/** The cluster's rate store from the config; Redis unreachable at start stops the start, naming the setting. */
export async function openRedisRateStore(
  config: Config,
  url: string,
  logger: Logger,
): Promise<RedisRateStore> {
  try {
    return await RedisRateStore.open({
      url,
      keyPrefix: config.redisKeyPrefix,
      onError: (err) => logger.warn({ err }, `Redis rate store: ${err.message}`),
    });
  } catch (err) {
    throw redisUnreachable(url, err);
  }
}
