import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisBus } from '../../src/bus/redis.ts';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import { type Cluster, startCluster } from '../support/cluster.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { expectWhere, goOnline, signInEmptyList } from '../support/msnp13.ts';
import type { TestServer } from '../support/papillon-server.ts';
import { testPrefix, testRedisUrl } from '../support/redis.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { textMessage } from '../transcripts/msnp-session.ts';

const PASSWORD = 'pw-pw-pw-pw';
const DESKTOP = '{dddddddd-0000-0000-0000-000000000001}';
const LAPTOP = '{dddddddd-0000-0000-0000-000000000002}';
const SAM_GUID = '{dddddddd-0000-0000-0000-00000000000c}';
const UNA = 'una@localhost';

const payload = (c: MsnpCommand) => c.payload?.toString() ?? '';
/** An own-account UBX (MSNP18 writes the handle `1:handle`) whose payload passes `match`. */
const ownUbx = (client: MsnpTestClient, match: (xml: string) => boolean) =>
  expectWhere(client, 'UBX', (c) => c.args[0] === `1:${UNA}` && match(payload(c)));

/** Answers an RNG at the switchboard it names (the host node's); resolves after `ANS OK`. */
async function answer(ns: MsnpTestClient, who: string): Promise<{ sb: MsnpTestClient; rng: MsnpCommand }> {
  const rng = await ns.expect('RNG', 10_000);
  const [host, port] = (rng.args[1] ?? '').split(':');
  const sb = await MsnpTestClient.connect(Number(port), host);
  sb.send(`ANS ${sb.trid()} ${who} ${rng.args[3]} ${rng.args[0]}`);
  for (;;) if ((await sb.next()).name === 'ANS') return { sb, rng };
}

/**
 * Issue 11, MPOP endpoints on different nodes: one account signed in with MSNP18 (WLM
 * 2009) on node A and on node B at once behaves as the two endpoints do on one node
 * (test/msnp/msnp18-switchboard.test.ts, mpop-sync.test.ts): neither is signed out, each
 * sees the other in its own UBX EndpointData, a contact on node C reaches both, a change
 * at one is the other's self-sync, and signing out one leaves the other.
 */
describe('MPOP endpoints on different cluster nodes (Redis bus)', () => {
  let cluster: Cluster;
  let a: TestServer;
  let b: TestServer;
  let c: TestServer;
  let desktop: MsnpTestClient;
  let laptop: MsnpTestClient;
  let sam: MsnpTestClient;
  let xan: TestXmppClient | undefined;
  const sbs: MsnpTestClient[] = [];

  before(async () => {
    const prefix = testPrefix();
    const url = testRedisUrl();
    cluster = await startCluster(3, {
      env: { PAPILLON_PUBLIC_HOST: '127.0.0.1' },
      busFor: (nodeId) => RedisBus.open({ url, nodeId, keyPrefix: prefix }),
    });
    [a, b, c] = cluster.nodes as [TestServer, TestServer, TestServer];
    const core = a.server.core;
    for (const name of ['una', 'sam', 'xan']) {
      await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: PASSWORD,
        displayName: name.toUpperCase(),
      });
    }
    const [sid, xid] = await Promise.all(
      ['sam', 'xan'].map(async (n) => (await core.accounts.get(`${n}@localhost`)).id),
    );
    await core.relationships.addForward(sid ?? '', UNA);
    await core.relationships.addForward(xid ?? '', UNA);
    sam = await signInEmptyList(c, {
      version: 18,
      handle: 'sam@localhost',
      password: PASSWORD,
      machineGuid: SAM_GUID,
    });
    await goOnline(sam, 18);
  });
  after(async () => {
    await xan?.stop().catch(() => {});
    for (const client of [desktop, laptop, sam, ...sbs]) await client?.close().catch(() => {});
    await cluster.stop();
  });

  it('the second endpoint on another node signs nobody out; each sees both in its EndpointData', async () => {
    desktop = await signInEmptyList(a, {
      version: 18,
      handle: UNA,
      password: PASSWORD,
      machineGuid: DESKTOP,
    });
    await goOnline(desktop, 18);
    laptop = await signInEmptyList(b, { version: 18, handle: UNA, password: PASSWORD, machineGuid: LAPTOP });
    const burst = await goOnline(laptop, 18);
    const ownUbxInBurst = burst.find((cmd) => cmd.name === 'UBX' && cmd.args[0] === `1:${UNA}`);
    assert.ok(ownUbxInBurst, 'the sign-in burst has the account’s own UBX');
    const own = payload(ownUbxInBurst);
    assert.match(own, new RegExp(`<EndpointData id="${DESKTOP}">`), own);
    assert.match(own, new RegExp(`<EndpointData id="${LAPTOP}">`), own);
    // The desktop, on node A, hears of the laptop on node B.
    await ownUbx(desktop, (x) => x.includes(`<EndpointData id="${LAPTOP}">`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(desktop.isOpen && laptop.isOpen, 'both stay signed in');
    assert.ok(![...desktop.lines, ...laptop.lines].some((l) => l.startsWith('OUT')), 'no OUT');
  });

  it('an endpoint name and a status set at one endpoint reach the other (self-sync); the PSM reaches contacts', async () => {
    desktop.sendPayload(
      'UUX',
      [desktop.trid()],
      '<PrivateEndpointData><EpName>Desktop</EpName><Idle>false</Idle><ClientType>1</ClientType><State>NLN</State></PrivateEndpointData>',
    );
    await desktop.expect('UUX');
    const named = await ownUbx(laptop, (x) => x.includes('<EpName>Desktop</EpName>'));
    assert.match(payload(named), new RegExp(`<PrivateEndpointData id="${DESKTOP}"><EpName>Desktop</EpName>`));
    desktop.send(`CHG ${desktop.trid()} BSY 2788999228:48`);
    await desktop.expect('CHG');
    const nln = await expectWhere(laptop, 'NLN', (cmd) => cmd.args[1] === `1:${UNA}`);
    assert.equal(nln.args[0], 'BSY');
    // Contacts see the most available endpoint (core presence-model.ts): busy once both are.
    laptop.send(`CHG ${laptop.trid()} BSY 2788999228:48`);
    await laptop.expect('CHG');
    await expectWhere(sam, 'NLN', (cmd) => cmd.args[1] === `1:${UNA}` && cmd.args[0] === 'BSY');
    // As on one node, a personal message is the account's as its contacts see it (from the
    // endpoint that changed last); the laptop's own UBX keeps the laptop's own
    // (render-presence.ts sendOwnEndpoints).
    desktop.sendPayload(
      'UUX',
      [desktop.trid()],
      '<Data><PSM>at my desk</PSM><CurrentMedia></CurrentMedia></Data>',
    );
    await desktop.expect('UUX');
    const ubx = await expectWhere(
      sam,
      'UBX',
      (cmd) => cmd.args[0] === `1:${UNA}` && payload(cmd).includes('at my desk'),
    );
    assert.match(payload(ubx), new RegExp(`<EndpointData id="${DESKTOP}">`));
  });

  it('a contact on node C calls the account: both endpoints are rung, join and get the message', async () => {
    sam.send(`XFR ${sam.trid()} SB`);
    const xfr = await sam.expect('XFR');
    const [host, port] = (xfr.args[2] ?? '').split(':');
    assert.equal(Number(port), c.port('msnp-sb'), 'the conversation lives on node C');
    const sb = await MsnpTestClient.connect(Number(port), host);
    sbs.push(sb);
    sb.send(`USR ${sb.trid()} sam@localhost;${SAM_GUID} ${xfr.args[4]}`);
    await sb.expect('USR');
    sb.send(`CAL ${sb.trid()} ${UNA}`);
    await sb.expect('CAL');
    const first = await answer(desktop, `${UNA};${DESKTOP}`);
    const second = await answer(laptop, `${UNA};${LAPTOP}`);
    sbs.push(first.sb, second.sb);
    for (const { rng } of [first, second]) assert.equal(rng.args[1], `127.0.0.1:${c.port('msnp-sb')}`);
    sb.sendPayload('MSG', [sb.trid(), 'U'], textMessage('to both of you'));
    for (const endpoint of [first.sb, second.sb]) {
      assert.match(payload(await endpoint.expect('MSG')), /to both of you$/);
    }
    first.sb.sendPayload('MSG', [first.sb.trid(), 'U'], textMessage('from the desktop'));
    assert.match(payload(await second.sb.expect('MSG')), /from the desktop$/);
    assert.match(payload(await sb.expect('MSG')), /from the desktop$/);
  });

  it('an XMPP contact on node C sends messages: both endpoints are rung and get them', async () => {
    xan = await connectXmpp(c, {
      username: 'xan',
      password: PASSWORD,
      resource: 'gajim',
      mechanism: 'PLAIN',
    });
    await xan.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    await xan.xmpp.send(xml('presence'));
    const say = (text: string) =>
      xan?.xmpp.send(xml('message', { to: UNA, type: 'chat' }, xml('body', {}, text)));
    await say('hello');
    const first = await answer(desktop, `${UNA};${DESKTOP}`);
    const second = await answer(laptop, `${UNA};${LAPTOP}`);
    sbs.push(first.sb, second.sb);
    // As on one node, what was waiting goes to the endpoint that answered first.
    assert.match(payload(await first.sb.expect('MSG')), /hello$/);
    await say('hello both');
    for (const { sb } of [first, second]) assert.match(payload(await sb.expect('MSG')), /hello both$/);
    // And either endpoint's answer reaches the XMPP user.
    second.sb.sendPayload('MSG', [second.sb.trid(), 'A'], textMessage('from the laptop'));
    await xan.waitFor((el) => el.is('message') && el.getChildText('body') === 'from the laptop');
  });

  it('UUN goawyplzthxbye from node B signs out only the named endpoint, on node C', async () => {
    const third = '{dddddddd-0000-0000-0000-000000000003}';
    const extra = await signInEmptyList(c, {
      version: 18,
      handle: UNA,
      password: PASSWORD,
      machineGuid: third,
    });
    await goOnline(extra, 18);
    const trid = String(laptop.trid());
    laptop.sendPayload('UUN', [trid, `${UNA};${third}`, 4], 'goawyplzthxbye');
    assert.deepEqual((await laptop.expect('UUN')).args, [trid, 'OK']);
    assert.deepEqual((await extra.expect('OUT', 10_000)).args, ['OTH']);
    await extra.closed();
    assert.ok(desktop.isOpen && laptop.isOpen);
  });

  it('signing in again from the desktop’s machine on node C replaces the desktop on node A only', async () => {
    const again = await signInEmptyList(c, {
      version: 18,
      handle: UNA,
      password: PASSWORD,
      machineGuid: DESKTOP,
    });
    assert.deepEqual((await desktop.expect('OUT', 10_000)).args, ['OTH']);
    await desktop.closed();
    desktop = again;
    await goOnline(desktop, 18);
    assert.ok(laptop.isOpen, 'the other machine stays signed in');
  });

  it('signing out the desktop leaves the laptop signed in, its EndpointData without the desktop', async () => {
    desktop.send(`OUT`);
    await desktop.closed();
    const ubx = await ownUbx(laptop, (x) => !x.includes(`<EndpointData id="${DESKTOP}">`));
    assert.match(payload(ubx), new RegExp(`<EndpointData id="${LAPTOP}">`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(laptop.isOpen, 'the laptop stays');
    assert.ok(!sam.drain().some((cmd) => cmd.name === 'FLN'), 'the contact still sees the account online');
    const endpoints = await c.server.core.presence.endpoints((await c.server.core.accounts.get(UNA)).id);
    assert.deepEqual(
      endpoints.map((e) => e.nodeId),
      ['node-b'],
    );
  });
});
