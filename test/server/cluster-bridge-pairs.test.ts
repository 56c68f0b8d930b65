import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Element } from '@xmpp/xml';
import { RedisBus } from '../../src/bus/redis.ts';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import {
  type Cluster,
  type ClusterOptions,
  createPeople,
  msnOnline,
  startCluster,
} from '../support/cluster.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import type { TestServer } from '../support/papillon-server.ts';
import { testPrefix, testRedisUrl } from '../support/redis.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { newSwitchboard, textMessage } from '../transcripts/msnp-session.ts';

const PEOPLE = ['mo', 'zed'] as const;
const CARBONS = 'urn:xmpp:carbons:2';

/** XMPP resource `resource` of `name` on `node`: available, carbons on (XEP-0280), `contact`'s MSN presence seen. */
async function xmpp(
  node: TestServer,
  name: string,
  resource: string,
  contact: string,
): Promise<TestXmppClient> {
  const client = await connectXmpp(node, {
    username: name,
    password: `${name}-secret`,
    resource,
    mechanism: 'PLAIN',
  });
  await client.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  await client.iq(xml('iq', { type: 'set' }, xml('enable', { xmlns: CARBONS })));
  await client.xmpp.send(xml('presence'));
  await client.waitFor((el) => el.is('presence') && el.attrs.from === `${contact}@localhost/msn`, 10_000);
  return client;
}

/** A chat message with `text` from `from`, to this resource or as a carbon copy of one received (XEP-0280 §7). */
function heard(client: TestXmppClient, from: string, text: string): Promise<Element> {
  return client.waitFor((el) => {
    if (!el.is('message')) return false;
    const copy = el.getChild('received', CARBONS)?.getChild('forwarded')?.getChild('message');
    const message = copy ?? el;
    return message.attrs.from === from && message.getChildText('body') === text;
  }, 10_000);
}

async function answer(rng: MsnpCommand, handle: string): Promise<MsnpTestClient> {
  const [host, port] = (rng.args[1] ?? '').split(':');
  const sb = await MsnpTestClient.connect(Number(port), host);
  sb.send(`ANS ${sb.trid()} ${handle} ${rng.args[3]} ${rng.args[0]}`);
  for (;;) if ((await sb.next()).name === 'ANS') return sb;
}

function body(cmd: MsnpCommand): string {
  return cmd.payload?.toString() ?? '';
}

/** The next MSG in `sb` carrying text, skipping typing notifications. */
async function nextText(sb: MsnpTestClient): Promise<MsnpCommand> {
  for (;;) {
    const msg = await sb.expect('MSG');
    if (!body(msg).includes('TypingUser:')) return msg;
  }
}

// An XMPP account signed in on two nodes (a resource on A, one on B) and an MSN user on
// node C: whichever resource writes, and whoever starts, the MSN user has one
// conversation with the account (one switchboard, one JOI), as with one node.
function clusterSuite(name: string, busFor?: ClusterOptions['busFor']) {
  describe(`one conversation per XMPP-MSN pair across cluster nodes (${name})`, () => {
    let cluster: Cluster;
    let a: TestServer;
    let b: TestServer;
    let c: TestServer;
    before(async () => {
      const env = { PAPILLON_PUBLIC_HOST: '127.0.0.1' };
      cluster = await startCluster(3, busFor ? { env, busFor } : { env });
      [a, b, c] = cluster.nodes as [TestServer, TestServer, TestServer];
      const core = a.server.core;
      const ids = await createPeople(core, PEOPLE, false);
      await core.relationships.addForward(ids.get('mo') ?? '', 'zed@localhost');
      await core.relationships.addForward(ids.get('zed') ?? '', 'mo@localhost');
    });
    after(() => cluster.stop());

    it('the MSN user on C writes first: one XMPP participant joins; replies from both resources come into that switchboard', async () => {
      const mo = await msnOnline(c, 'mo');
      const zedA = await xmpp(a, 'zed', 'laptop', 'mo');
      const zedB = await xmpp(b, 'zed', 'phone', 'mo');
      try {
        const sb = await newSwitchboard(mo, 'mo@localhost');
        sb.send(`CAL ${sb.trid()} zed@localhost`);
        await sb.expect('CAL');
        assert.equal((await sb.expect('JOI')).args[0], 'zed@localhost');

        // To the bare JID: every available resource (RFC 6121 §8.5.2.1.1), on both nodes.
        sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('Hi Zed'));
        await heard(zedA, 'mo@localhost/msn', 'Hi Zed');
        await heard(zedB, 'mo@localhost/msn', 'Hi Zed');

        // The resource on B answers, then the one on A: both into Mo's one switchboard.
        await zedB.xmpp.send(
          xml('message', { to: 'mo@localhost', type: 'chat' }, xml('body', {}, 'from the phone')),
        );
        const first = await nextText(sb);
        assert.equal(first.args[0], 'zed@localhost');
        assert.match(body(first), /from the phone$/);
        await zedA.xmpp.send(
          xml('message', { to: 'mo@localhost', type: 'chat' }, xml('body', {}, 'from the laptop')),
        );
        assert.match(body(await nextText(sb)), /from the laptop$/);

        // Mo answers: the resource that spoke last has it, the other a carbon copy.
        sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('Got both'));
        await heard(zedA, 'mo@localhost/msn', 'Got both');
        await heard(zedB, 'mo@localhost/msn', 'Got both');
        sb.send('OUT');
        await sb.closed();
      } finally {
        await Promise.all([zedA.stop(), zedB.stop()]);
        await mo.close();
      }
    });

    it('the XMPP account writes first from A, then from B: the MSN user on C is rung once and has both in one switchboard', async () => {
      const mo = await msnOnline(c, 'mo');
      const zedA = await xmpp(a, 'zed', 'laptop', 'mo');
      const zedB = await xmpp(b, 'zed', 'phone', 'mo');
      try {
        await zedA.xmpp.send(
          xml('message', { to: 'mo@localhost', type: 'chat' }, xml('body', {}, 'Hello Mo')),
        );
        const rng = await mo.expect('RNG');
        assert.equal(rng.args[4], 'zed@localhost');
        const sb = await answer(rng, 'mo@localhost');
        assert.match(body(await nextText(sb)), /Hello Mo$/);

        // The other resource, on the other node: the same conversation.
        await zedB.xmpp.send(
          xml('message', { to: 'mo@localhost', type: 'chat' }, xml('body', {}, 'me again')),
        );
        const again = await nextText(sb);
        assert.equal(again.args[0], 'zed@localhost');
        assert.match(body(again), /me again$/);

        // Mo answers: both resources have it.
        sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('Hi Zed, both of you'));
        await heard(zedA, 'mo@localhost/msn', 'Hi Zed, both of you');
        await heard(zedB, 'mo@localhost/msn', 'Hi Zed, both of you');

        // The switchboard ends; the next message from B rings Mo into a new one.
        sb.send('OUT');
        await sb.closed();
        await zedB.xmpp.send(
          xml('message', { to: 'mo@localhost', type: 'chat' }, xml('body', {}, 'new window')),
        );
        const next = await answer(await mo.expect('RNG'), 'mo@localhost');
        assert.match(body(await nextText(next)), /new window$/);
        await next.close();
      } finally {
        await Promise.all([zedA.stop(), zedB.stop()]);
        await mo.close();
      }
    });
  });
}

clusterSuite('one LocalBus seen as three nodes');

// The real Redis (CI sets PAPILLON_TEST_REDIS_URL; without it this fails, it is never skipped).
const prefix = testPrefix();
clusterSuite('Redis bus', (nodeId) => RedisBus.open({ url: testRedisUrl(), nodeId, keyPrefix: prefix }));
