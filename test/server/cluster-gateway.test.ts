import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisBus } from '../../src/bus/redis.ts';
import {
  type Cluster,
  type ClusterOptions,
  createPeople,
  msnOnline,
  startCluster,
} from '../support/cluster.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { GatewayClient, gatewayGoOnline, gatewayTwnLogin } from '../support/msnp-gateway.ts';
import type { TestServer } from '../support/papillon-server.ts';
import { testPrefix, testRedisUrl } from '../support/redis.ts';
import { newSwitchboard, textMessage, typingMessage } from '../transcripts/msnp-session.ts';

const PEOPLE = ['gia', 'hal', 'ivy'] as const;

/** MSN Messenger 7.5 behind a proxy: MSNP12 over `node`'s HTTP gateway, synced and online. */
async function gateway(node: TestServer, name: string): Promise<GatewayClient> {
  const base = `http://127.0.0.1:${node.port('http')}`;
  const { gw } = await gatewayTwnLogin(node, base, `${name}@localhost`, `${name}-secret`, 12);
  await gw.send(`SYN ${gw.trid()} 0 0`);
  await gw.expect('SYN');
  await gatewayGoOnline(gw, 12);
  return gw;
}

/**
 * As the official client answers an RNG over the gateway: `Action=open&Server=SB` at its
 * own gateway, `IP=` the host part of the RNG's address, `ANS` in the body.
 */
async function answerOverGateway(gw: GatewayClient, rng: { args: string[] }, handle: string) {
  const address = rng.args[1] ?? '';
  const sb = new GatewayClient(gw.base, 'SB', address.slice(0, address.lastIndexOf(':')));
  const trid = sb.trid();
  await sb.send(`ANS ${trid} ${handle} ${rng.args[3]} ${rng.args[0]}`);
  const iro = [];
  for (;;) {
    const next = await sb.expect('IRO').catch(() => undefined);
    if (!next) break;
    iro.push(next);
    if (next.args[1] === next.args[2]) break;
  }
  const ans = await sb.expect('ANS');
  assert.deepEqual(ans.args, [String(trid), 'OK']);
  return { sb, iro };
}

function body(cmd: { payload?: Buffer }): string {
  return cmd.payload?.toString() ?? '';
}

// An MSN client on the HTTP gateway of one node, in switchboards other nodes host: the
// web ports are balanced by source address, so its gateway session stays on the node
// that opened it, and that node carries its switchboard session to the host's switchboard.
function clusterSuite(name: string, busFor?: ClusterOptions['busFor']) {
  describe(`the MSN HTTP gateway across cluster nodes (${name})`, () => {
    let cluster: Cluster;
    let a: TestServer;
    let b: TestServer;
    let c: TestServer;
    before(async () => {
      const env = { PAPILLON_PUBLIC_HOST: '127.0.0.1' };
      cluster = await startCluster(3, busFor ? { env, busFor } : { env });
      [a, b, c] = cluster.nodes as [TestServer, TestServer, TestServer];
      await createPeople(a.server.core, PEOPLE);
    });
    after(() => cluster.stop());

    it("a gateway client on node A is rung into node B's switchboard by a TCP client there, and they chat both ways", async () => {
      const gia = await gateway(a, 'gia');
      const hal = await msnOnline(b, 'hal');
      try {
        const halSb = await newSwitchboard(hal, 'hal@localhost');
        halSb.send(`CAL ${halSb.trid()} gia@localhost`);
        const sessionId = (await halSb.expect('CAL')).args[2];
        const rng = await gia.expect('RNG');
        // The conversation is B's: B's switchboard, the cookie B issued.
        assert.deepEqual(rng.args.slice(0, 2), [sessionId, `127.0.0.1:${b.port('msnp-sb')}`]);
        const { sb, iro } = await answerOverGateway(gia, rng, 'gia@localhost');
        assert.deepEqual(
          iro.map((l) => l.args[3]),
          ['hal@localhost'],
        );
        assert.equal((await halSb.expect('JOI')).args[0], 'gia@localhost');

        // Gateway → TCP, acknowledged by B's switchboard.
        const trid = sb.trid();
        await sb.sendPayload('MSG', [trid, 'A'], textMessage('Hi Hal, from behind a proxy'));
        assert.deepEqual((await sb.expect('ACK')).args, [String(trid)]);
        const got = await halSb.expect('MSG');
        assert.equal(got.args[0], 'gia@localhost');
        assert.match(body(got), /Hi Hal, from behind a proxy$/);

        // TCP → gateway, picked up by polling node A.
        halSb.sendPayload('MSG', [halSb.trid(), 'U'], typingMessage('hal@localhost'));
        halSb.sendPayload('MSG', [halSb.trid(), 'N'], textMessage('Hi Gia, from B'));
        assert.match(body(await sb.expect('MSG')), /TypingUser: hal@localhost/);
        const back = await sb.expect('MSG');
        assert.equal(back.args[0], 'hal@localhost');
        assert.equal(body(back), textMessage('Hi Gia, from B'));

        // OUT over the gateway reaches B's switchboard: Hal sees her leave.
        const out = await sb.send('OUT');
        assert.match(out.messenger, /^Session=close; SessionID=/);
        assert.equal((await halSb.expect('BYE')).args[0], 'gia@localhost');
        await halSb.close();
      } finally {
        await hal.close();
        await gia.send('OUT').catch(() => {});
      }
    });

    it('a gateway client on node A is called into a conversation on node C that has a member on B; everyone sees everyone', async () => {
      const gia = await gateway(a, 'gia');
      const hal = await msnOnline(b, 'hal');
      const ivy = await msnOnline(c, 'ivy');
      try {
        // Ivy's switchboard is on C; Hal (signed in on B) joins, then Gia (A, over HTTP).
        const ivySb = await newSwitchboard(ivy, 'ivy@localhost');
        ivySb.send(`CAL ${ivySb.trid()} hal@localhost`);
        await ivySb.expect('CAL');
        const halRng = await hal.expect('RNG');
        assert.equal(halRng.args[1], `127.0.0.1:${c.port('msnp-sb')}`);
        const halSb = await MsnpTestClient.connect(c.port('msnp-sb'));
        halSb.send(`ANS ${halSb.trid()} hal@localhost ${halRng.args[3]} ${halRng.args[0]}`);
        await halSb.expect('ANS');
        assert.equal((await ivySb.expect('JOI')).args[0], 'hal@localhost');

        ivySb.send(`CAL ${ivySb.trid()} gia@localhost`);
        await ivySb.expect('CAL');
        const rng = await gia.expect('RNG');
        assert.equal(rng.args[1], `127.0.0.1:${c.port('msnp-sb')}`);
        assert.equal(rng.args[4], 'ivy@localhost');
        const { sb, iro } = await answerOverGateway(gia, rng, 'gia@localhost');
        assert.deepEqual(iro.map((l) => l.args[3]).sort(), ['hal@localhost', 'ivy@localhost']);
        assert.equal((await ivySb.expect('JOI')).args[0], 'gia@localhost');
        assert.equal((await halSb.expect('JOI')).args[0], 'gia@localhost');

        await sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('hello from the gateway'));
        assert.match(body(await ivySb.expect('MSG')), /hello from the gateway$/);
        assert.match(body(await halSb.expect('MSG')), /hello from the gateway$/);
        halSb.sendPayload('MSG', [halSb.trid(), 'N'], textMessage('hello from B'));
        const fromHal = await sb.expect('MSG');
        assert.equal(fromHal.args[0], 'hal@localhost');
        assert.match(body(fromHal), /hello from B$/);

        // Ivy leaves; Gia hears it on her next poll.
        ivySb.send('OUT');
        await ivySb.closed();
        assert.equal((await sb.expect('BYE')).args[0], 'ivy@localhost');
        assert.equal((await halSb.expect('BYE')).args[0], 'ivy@localhost');
        await sb.send('OUT');
        assert.equal((await halSb.expect('BYE')).args[0], 'gia@localhost');
        await halSb.close();
      } finally {
        await Promise.all([hal.close(), ivy.close()]);
        await gia.send('OUT').catch(() => {});
      }
    });

    it('a gateway client on node A opens a switchboard there (XFR SB) and calls a TCP client on node B', async () => {
      const gia = await gateway(a, 'gia');
      const hal = await msnOnline(b, 'hal');
      try {
        await gia.send(`XFR ${gia.trid()} SB`);
        const xfr = await gia.expect('XFR');
        assert.equal(xfr.args[2], `127.0.0.1:${a.port('msnp-sb')}`);
        const sb = new GatewayClient(gia.base, 'SB', '127.0.0.1');
        await sb.send(`USR ${sb.trid()} gia@localhost ${xfr.args[4]}`);
        await sb.expect('USR');
        await sb.send(`CAL ${sb.trid()} hal@localhost`);
        await sb.expect('CAL');
        const rng = await hal.expect('RNG');
        assert.equal(rng.args[1], `127.0.0.1:${a.port('msnp-sb')}`);
        const halSb = await MsnpTestClient.connect(a.port('msnp-sb'));
        halSb.send(`ANS ${halSb.trid()} hal@localhost ${rng.args[3]} ${rng.args[0]}`);
        await halSb.expect('ANS');
        assert.equal((await sb.expect('JOI')).args[0], 'hal@localhost');
        await sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('over here on A'));
        assert.match(body(await halSb.expect('MSG')), /over here on A$/);
        halSb.sendPayload('MSG', [halSb.trid(), 'N'], textMessage('seen from B'));
        assert.match(body(await sb.expect('MSG')), /seen from B$/);
        await sb.send('OUT');
        await halSb.close();
      } finally {
        await hal.close();
        await gia.send('OUT').catch(() => {});
      }
    });
  });
}

clusterSuite('one LocalBus seen as three nodes');

// The real Redis (CI sets PAPILLON_TEST_REDIS_URL; without it this fails, it is never skipped).
const prefix = testPrefix();
clusterSuite('Redis bus', (nodeId) => RedisBus.open({ url: testRedisUrl(), nodeId, keyPrefix: prefix }));
