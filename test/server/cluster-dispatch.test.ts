import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisBus } from '../../src/bus/redis.ts';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import { type Cluster, startCluster } from '../support/cluster.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { rstTicket } from '../support/msnp-login.ts';
import type { TestServer } from '../support/papillon-server.ts';
import { deleteKeys, rawRedis, testPrefix, testRedisUrl } from '../support/redis.ts';

const PASSWORD = 'pw-pw-pw-pw';
const HANDLE = 'dora@localhost';
const opened: MsnpTestClient[] = [];

/** MSN Messenger 7.5 (MSNP12) up to its first `USR TWN I`: returns the connection and the answer. */
async function usrInitial(node: TestServer): Promise<{ client: MsnpTestClient; reply: MsnpCommand }> {
  const client = await MsnpTestClient.connect(node.port('msnp'));
  opened.push(client);
  client.send(`VER ${client.trid()} MSNP12 CVR0`);
  await client.expect('VER');
  client.send(`CVR ${client.trid()} 0x0409 winnt 5.1 i386 MSNMSGR 7.5.0324 MSMSGS ${HANDLE}`);
  await client.expect('CVR');
  client.send(`USR ${client.trid()} TWN I ${HANDLE}`);
  return { client, reply: await client.next() };
}

/**
 * Issue 11: the dispatch referral (`XFR … NS`, docs/msnp-reference.md §4) is remembered
 * in the rate store every node shares (Redis), so a client referred by node A and whose
 * next connection a balancer sends to node B is accepted there, not referred again
 * (before, it bounced between nodes until it reached the one that remembered it).
 */
describe('the MSNP dispatch referral across cluster nodes (Redis)', () => {
  const prefix = testPrefix();
  let cluster: Cluster;
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    const url = testRedisUrl();
    cluster = await startCluster(2, {
      env: { PAPILLON_PUBLIC_HOST: '127.0.0.1', PAPILLON_REDIS_URL: url, PAPILLON_REDIS_KEY_PREFIX: prefix },
      busFor: (nodeId) => RedisBus.open({ url, nodeId, keyPrefix: prefix }),
    });
    [a, b] = cluster.nodes as [TestServer, TestServer];
    await a.server.core.accounts.create({ handle: HANDLE, password: PASSWORD, displayName: 'Dora' });
  });
  after(async () => {
    for (const client of opened) await client.close().catch(() => {});
    await cluster.stop();
    const redis = rawRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('a client referred by node A signs in on node B at its next connection; a later login is referred again', async () => {
    const first = await usrInitial(a);
    assert.equal(first.reply.name, 'XFR', 'node A refers the first login (the dispatch step)');
    assert.equal(first.reply.args[1], 'NS');
    await first.client.closed();

    // The balancer sends the reconnection to node B, which accepts it.
    const second = await usrInitial(b);
    assert.equal(second.reply.name, 'USR', `node B accepts the referred login; got ${second.reply.name}`);
    assert.deepEqual(second.reply.args.slice(1, 3), ['TWN', 'S']);
    const { ticket } = await rstTicket(b, HANDLE, PASSWORD, second.reply.args[3] ?? '');
    second.client.send(`USR ${second.client.trid()} TWN S ${ticket}`);
    const ok = await second.client.expect('USR');
    assert.equal(ok.args[1], 'OK', 'signed in on node B');
    await second.client.close();

    // The referral was used once: the next login, on either node, goes through dispatch again.
    const third = await usrInitial(a);
    assert.equal(third.reply.name, 'XFR', 'a later login is referred again');
  });
});
