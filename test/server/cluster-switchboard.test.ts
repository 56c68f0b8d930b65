import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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
import { newSwitchboard, textMessage, typingMessage } from '../transcripts/msnp-session.ts';

const NUDGE = 'MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n';
const PEOPLE = ['mia', 'xan', 'ben', 'cy', 'dee'] as const;

/** An XMPP client on `node`, available, that has seen `contact`'s MSN presence. */
async function xmpp(node: TestServer, name: string, contact: string): Promise<TestXmppClient> {
  // PLAIN (over TLS): the client library's SCRAM hashes in JavaScript, holding up this
  // process, and with it the three servers, for seconds on a busy machine.
  const client = await connectXmpp(node, {
    username: name,
    password: `${name}-secret`,
    resource: 'gajim',
    mechanism: 'PLAIN',
  });
  await client.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  await client.xmpp.send(xml('presence'));
  // Generous: on a loaded machine the presence probe across nodes can take seconds.
  await client.waitFor((el) => el.is('presence') && el.attrs.from === `${contact}@localhost/msn`, 10_000);
  return client;
}

/** Answers an RNG at the switchboard it names; resolves once `ANS OK` came, with the IRO lines. */
async function answer(rng: MsnpCommand, handle: string): Promise<{ sb: MsnpTestClient; iro: MsnpCommand[] }> {
  const [host, port] = (rng.args[1] ?? '').split(':');
  const sb = await MsnpTestClient.connect(Number(port), host);
  sb.send(`ANS ${sb.trid()} ${handle} ${rng.args[3]} ${rng.args[0]}`);
  const iro: MsnpCommand[] = [];
  for (;;) {
    const next = await sb.next();
    if (next.name === 'ANS') return { sb, iro };
    iro.push(next);
  }
}

function body(cmd: MsnpCommand): string {
  return cmd.payload?.toString() ?? '';
}

// Three nodes on one database and one bus; each client signs in on the node it is told.
// A conversation lives on the node whose switchboard its first MSN client reached (or
// whose XMPP user opened it): XFR and RNG send every MSN client to that node's
// switchboard, and an XMPP user on another node takes part through the bus.
function clusterSuite(name: string, busFor?: ClusterOptions['busFor']) {
  describe(`switchboards across cluster nodes (${name})`, () => {
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

    it('an XMPP user on node B writes first to an MSNP12 user on node A: RNG sends her to B, and they chat both ways', async () => {
      const mia = await msnOnline(a, 'mia');
      const xan = await xmpp(b, 'xan', 'mia');
      try {
        await xan.xmpp.send(
          xml('message', { to: 'mia@localhost', type: 'chat' }, xml('body', {}, 'Hi from B')),
        );
        const rng = await mia.expect('RNG');
        // The conversation is B's (its XMPP user opened it): B's switchboard, B's cookie.
        assert.equal(rng.args[1], `127.0.0.1:${b.port('msnp-sb')}`);
        assert.equal(rng.args[4], 'xan@localhost');
        const { sb, iro } = await answer(rng, 'mia@localhost');
        assert.equal(iro[0]?.args[3], 'xan@localhost');
        assert.match(body(await sb.expect('MSG')), /\r\n\r\nHi from B$/);

        sb.sendPayload('MSG', [sb.trid(), 'U'], typingMessage('mia@localhost'));
        await xan.waitFor((el) => el.is('message') && el.getChild('composing') !== undefined);
        const trid = sb.trid();
        sb.sendPayload('MSG', [trid, 'A'], textMessage('Hi Xan, from A'));
        assert.deepEqual((await sb.expect('ACK')).args, [String(trid)]);
        const reply = await xan.waitFor(
          (el) => el.is('message') && el.getChildText('body') === 'Hi Xan, from A',
        );
        assert.equal(reply.attrs.from, 'mia@localhost/msn');

        await xan.xmpp.send(
          xml(
            'message',
            { to: 'mia@localhost/msn', type: 'chat' },
            xml('attention', { xmlns: 'urn:xmpp:attention:0' }),
          ),
        );
        assert.match(body(await sb.expect('MSG')), /text\/x-msnmsgr-datacast[\s\S]*ID: 1/);
        await xan.xmpp.send(
          xml('message', { to: 'mia@localhost/msn', type: 'chat' }, xml('body', {}, 'Same window')),
        );
        assert.match(body(await sb.expect('MSG')), /Same window$/);
        await sb.close();
      } finally {
        await xan.stop();
        await mia.close();
      }
    });

    it('an MSNP12 user on node A calls an XMPP user on node B into her switchboard on A', async () => {
      const mia = await msnOnline(a, 'mia');
      const xan = await xmpp(b, 'xan', 'mia');
      try {
        mia.send(`XFR ${mia.trid()} SB`);
        const xfr = await mia.expect('XFR');
        assert.equal(xfr.args[2], `127.0.0.1:${a.port('msnp-sb')}`);
        const sb = await MsnpTestClient.connect(a.port('msnp-sb'));
        sb.send(`USR ${sb.trid()} mia@localhost ${xfr.args[4]}`);
        await sb.expect('USR');
        sb.send(`CAL ${sb.trid()} xan@localhost`);
        assert.equal((await sb.expect('CAL')).args[1], 'RINGING');
        // Xan's node joins him through the bus: Mia sees him come in.
        assert.equal((await sb.expect('JOI')).args[0], 'xan@localhost');

        sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('Are you on B?'));
        await xan.waitFor((el) => el.is('message') && el.getChildText('body') === 'Are you on B?');
        await xan.xmpp.send(
          xml(
            'message',
            { to: 'mia@localhost/msn', type: 'chat' },
            xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' }),
          ),
        );
        assert.match(body(await sb.expect('MSG')), /TypingUser: xan@localhost/);
        await xan.xmpp.send(
          xml('message', { to: 'mia@localhost/msn', type: 'chat' }, xml('body', {}, 'Yes, on B')),
        );
        const msg = await sb.expect('MSG');
        assert.deepEqual(msg.args.slice(0, 2), ['xan@localhost', 'XAN']);
        assert.match(body(msg), /Yes, on B$/);
        sb.sendPayload('MSG', [sb.trid(), 'U'], NUDGE);
        await xan.waitFor(
          (el) => el.is('message') && el.getChild('attention', 'urn:xmpp:attention:0') !== undefined,
        );

        // Mia closes the window: the conversation on A is over for Xan's node too, so his
        // next message rings her again (into a switchboard on B) instead of going nowhere.
        sb.send('OUT');
        await sb.closed();
        await xan.xmpp.send(
          xml('message', { to: 'mia@localhost', type: 'chat' }, xml('body', {}, 'Still there?')),
        );
        const rng = await mia.expect('RNG');
        assert.equal(rng.args[1], `127.0.0.1:${b.port('msnp-sb')}`);
        const again = await answer(rng, 'mia@localhost');
        assert.match(body(await again.sb.expect('MSG')), /Still there\?$/);
        await again.sb.close();
      } finally {
        await xan.stop();
        await mia.close();
      }
    });

    it('three MSNP12 users on three nodes share one switchboard on A; everyone sees everyone', async () => {
      const ben = await msnOnline(a, 'ben');
      const cy = await msnOnline(b, 'cy');
      const dee = await msnOnline(c, 'dee');
      try {
        const benSb = await newSwitchboard(ben, 'ben@localhost');
        benSb.send(`CAL ${benSb.trid()} cy@localhost`);
        const sessionId = (await benSb.expect('CAL')).args[2];
        const cyRng = await cy.expect('RNG');
        // Rung by node B, sent to A's switchboard with A's cookie.
        assert.deepEqual(cyRng.args.slice(0, 2), [sessionId, `127.0.0.1:${a.port('msnp-sb')}`]);
        const cySb = await answer(cyRng, 'cy@localhost');
        assert.deepEqual(
          cySb.iro.map((l) => l.args[3]),
          ['ben@localhost'],
        );
        assert.equal((await benSb.expect('JOI')).args[0], 'cy@localhost');

        benSb.send(`CAL ${benSb.trid()} dee@localhost`);
        await benSb.expect('CAL');
        const deeRng = await dee.expect('RNG');
        assert.deepEqual(deeRng.args.slice(0, 2), [sessionId, `127.0.0.1:${a.port('msnp-sb')}`]);
        const deeSb = await answer(deeRng, 'dee@localhost');
        assert.deepEqual(deeSb.iro.map((l) => l.args[3]).sort(), ['ben@localhost', 'cy@localhost']);
        // MSNP12 IRO/JOI carry the client id each client's node put in the registry.
        assert.equal(deeSb.iro[0]?.args.length, 6);
        assert.equal((await benSb.expect('JOI')).args[0], 'dee@localhost');
        assert.equal((await cySb.sb.expect('JOI')).args[0], 'dee@localhost');

        const sbs = { ben: benSb, cy: cySb.sb, dee: deeSb.sb };
        for (const [from, sb] of Object.entries(sbs)) {
          const trid = sb.trid();
          sb.sendPayload('MSG', [trid, 'A'], textMessage(`hello from ${from}`));
          assert.deepEqual((await sb.expect('ACK')).args, [String(trid)]);
          for (const [to, other] of Object.entries(sbs)) {
            if (to === from) continue;
            const msg = await other.expect('MSG');
            assert.equal(msg.args[0], `${from}@localhost`);
            assert.match(body(msg), new RegExp(`hello from ${from}$`));
          }
        }
        deeSb.sb.sendPayload('MSG', [deeSb.sb.trid(), 'U'], typingMessage('dee@localhost'));
        assert.match(body(await benSb.expect('MSG')), /TypingUser: dee@localhost/);
        assert.match(body(await cySb.sb.expect('MSG')), /TypingUser: dee@localhost/);
        cySb.sb.sendPayload('MSG', [cySb.sb.trid(), 'U'], NUDGE);
        assert.match(body(await benSb.expect('MSG')), /ID: 1/);
        assert.match(body(await deeSb.sb.expect('MSG')), /ID: 1/);

        for (const sb of Object.values(sbs)) await sb.close();
      } finally {
        await Promise.all([ben.close(), cy.close(), dee.close()]);
      }
    });

    it('when the node hosting a conversation stops, its members elsewhere are out of it: the next message rings anew', async () => {
      const mia = await msnOnline(a, 'mia');
      const ben = await msnOnline(c, 'ben');
      const xan = await xmpp(b, 'xan', 'ben');
      try {
        // Mia's switchboard is on A; Xan (XMPP, node B) and Ben (MSN, signed in on C) join it.
        const sb = await newSwitchboard(mia, 'mia@localhost');
        sb.send(`CAL ${sb.trid()} xan@localhost`);
        assert.equal((await sb.expect('JOI')).args[0], 'xan@localhost');
        sb.send(`CAL ${sb.trid()} ben@localhost`);
        const benSb = await answer(await ben.expect('RNG'), 'ben@localhost');
        sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('A is going down'));
        await xan.waitFor((el) => el.is('message') && el.getChildText('body') === 'A is going down');
        assert.match(body(await benSb.sb.expect('MSG')), /A is going down$/);

        await a.stop();
        await benSb.sb.closed();
        // Xan's node heard the switchboard end: what he writes to Ben now rings Ben into a
        // new one (on B), instead of going to the conversation A had.
        await xan.xmpp.send(
          xml('message', { to: 'ben@localhost', type: 'chat' }, xml('body', {}, 'Over here')),
        );
        const rng = await ben.expect('RNG');
        assert.equal(rng.args[1], `127.0.0.1:${b.port('msnp-sb')}`);
        const again = await answer(rng, 'ben@localhost');
        assert.match(body(await again.sb.expect('MSG')), /Over here$/);
        await again.sb.close();
      } finally {
        await xan.stop();
        await Promise.all([mia.close(), ben.close()]);
      }
    });
  });
}

clusterSuite('one LocalBus seen as three nodes');

// The real Redis (CI sets PAPILLON_TEST_REDIS_URL; without it this fails, it is never skipped).
// Every run its own key prefix: runs (and other tests) never see each other's channels.
const prefix = testPrefix();
clusterSuite('Redis bus', (nodeId) => RedisBus.open({ url: testRedisUrl(), nodeId, keyPrefix: prefix }));
