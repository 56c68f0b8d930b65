/**
 * The Redis bus's data layout and the Lua scripts that change it. Each script runs
 * atomically (Redis runs one script at a time), so the registry and its per-node
 * index never disagree, and a dead node is claimed by exactly one sweeper.
 *
 * Keys (all under the bus's prefix `P`):
 * - `P endpoints:<accountId>`: hash, endpointId → the EndpointRecord as JSON;
 * - `P node-endpoints:<nodeId>`: set of `[accountId, endpointId]` (JSON), the records
 *   a node holds, so dropping a node reads its own records and nothing else;
 * - `P heartbeats`: sorted set, nodeId → its last heartbeat (Redis's clock, in ms,
 *   so nodes whose clocks disagree still agree on who is late);
 * - `P claims:<key>`: string, the holder of a `Bus.claim`, expiring with it.
 *
 * The scripts build key names from the prefix they are given: they suit one Redis
 * server (or a primary with replicas), not Redis Cluster.
 */

/** Shared Lua: Redis's own clock in ms, and dropping every record a node holds. */
const HELPERS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function node_of(json)
  return cjson.decode(json).nodeId
end
local function remove_node(prefix, node, out)
  local index = prefix .. 'node-endpoints:' .. node
  for _, member in ipairs(redis.call('SMEMBERS', index)) do
    local ids = cjson.decode(member)
    local account = prefix .. 'endpoints:' .. ids[1]
    local record = redis.call('HGET', account, ids[2])
    -- The endpoint may have moved to another node since: only this node's record goes.
    if record and node_of(record) == node then
      redis.call('HDEL', account, ids[2])
      out[#out + 1] = record
    end
  end
  redis.call('DEL', index)
end
`;

export const SCRIPTS = {
  // ARGV: prefix, key, holder, ttl ms, replace ('' none, '*' anyone, else that holder).
  papillonClaim: `
local key = ARGV[1] .. 'claims:' .. ARGV[2]
local held = redis.call('GET', key)
local replace = ARGV[5]
if held and held ~= ARGV[3] and replace ~= '*' and replace ~= held then
  return held
end
redis.call('SET', key, ARGV[3], 'PX', tonumber(ARGV[4]))
return ARGV[3]
`,
  // ARGV: prefix, key, holder.
  papillonRelease: `
local key = ARGV[1] .. 'claims:' .. ARGV[2]
if redis.call('GET', key) == ARGV[3] then
  redis.call('DEL', key)
end
return 0
`,
  /** ARGV: prefix, accountId, endpointId, nodeId, record JSON, index member. Adds or replaces. */
  papillonPutEndpoint: `${HELPERS}
local prefix, account_id, endpoint_id, node, json, member = unpack(ARGV)
local account = prefix .. 'endpoints:' .. account_id
local old = redis.call('HGET', account, endpoint_id)
if old then
  local old_node = node_of(old)
  if old_node ~= node then redis.call('SREM', prefix .. 'node-endpoints:' .. old_node, member) end
end
redis.call('HSET', account, endpoint_id, json)
redis.call('SADD', prefix .. 'node-endpoints:' .. node, member)
return 1
`,
  /** ARGV: prefix, accountId, endpointId, index member. Returns 1 when a record was removed. */
  papillonRemoveEndpoint: `${HELPERS}
local prefix, account_id, endpoint_id, member = unpack(ARGV)
local account = prefix .. 'endpoints:' .. account_id
local old = redis.call('HGET', account, endpoint_id)
if not old then return 0 end
redis.call('HDEL', account, endpoint_id)
redis.call('SREM', prefix .. 'node-endpoints:' .. node_of(old), member)
return 1
`,
  /** ARGV: prefix, nodeId. Returns the removed records (JSON). */
  papillonRemoveNode: `${HELPERS}
local out = {}
remove_node(ARGV[1], ARGV[2], out)
return out
`,
  /** ARGV: prefix, nodeId. Drops the node's records and its heartbeat (a clean stop). */
  papillonLeave: `${HELPERS}
local out = {}
remove_node(ARGV[1], ARGV[2], out)
redis.call('ZREM', ARGV[1] .. 'heartbeats', ARGV[2])
return #out
`,
  /**
   * ARGV: prefix, nodeId. Records the heartbeat; returns 1 when the node had none (Redis
   * lost its data, or the node was declared dead): its records must be put back.
   */
  papillonBeat: `${HELPERS}
return redis.call('ZADD', ARGV[1] .. 'heartbeats', now_ms(), ARGV[2])
`,
  /**
   * ARGV: prefix, then per record: accountId, endpointId, nodeId, record JSON, index
   * member. Puts a node's own records back, unless another node holds the endpoint now.
   */
  papillonRestore: `${HELPERS}
local prefix = ARGV[1]
for i = 2, #ARGV, 5 do
  local account = prefix .. 'endpoints:' .. ARGV[i]
  local old = redis.call('HGET', account, ARGV[i + 1])
  if not old or node_of(old) == ARGV[i + 2] then
    redis.call('HSET', account, ARGV[i + 1], ARGV[i + 3])
    redis.call('SADD', prefix .. 'node-endpoints:' .. ARGV[i + 2], ARGV[i + 4])
  end
end
return 1
`,
  /**
   * ARGV: prefix, timeout ms. Claims every node whose heartbeat is older than the
   * timeout (removing the heartbeat is the claim: the script is atomic, so one sweeper
   * gets each node) and drops its records. Returns { dead nodeIds, removed records }.
   */
  papillonSweep: `${HELPERS}
local prefix, timeout = ARGV[1], tonumber(ARGV[2])
local beats = prefix .. 'heartbeats'
local dead = redis.call('ZRANGEBYSCORE', beats, '-inf', string.format('%.0f', now_ms() - timeout))
local out = {}
for _, node in ipairs(dead) do
  redis.call('ZREM', beats, node)
  remove_node(prefix, node, out)
end
return { dead, out }
`,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** The registry's index member for one endpoint (JSON, so no separator can be forged). */
export function indexMember(accountId: string, endpointId: string): string {
  return JSON.stringify([accountId, endpointId]);
}
