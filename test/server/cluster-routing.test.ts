import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisBus } from '../../src/bus/redis.ts';
import { kickAccount } from '../../src/core/operator-actions.ts';
import { type Cluster, msnOnline, startCluster } from '../support/cluster.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import type { TestServer } from '../support/papillon-server.ts';
import { testPrefix, testRedisUrl } from '../support/redis.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { RawXmppClient, targetOf } from '../support/xmpp-raw.ts';
import { addCommand } from '../transcripts/msnp-session.ts';

type Element = TestXmppClient['stanzas'][number];
const ROSTER = 'jabber:iq:roster';
const NICK = 'http://jabber.org/protocol/nick';
const isSub = (type: string, from: string) => (el: Element) =>
  el.is('presence') && el.attrs.type === type && el.attrs.from === from;
const isAvailable = (from: string) => (el: Element) =>
  el.is('presence') && el.attrs.from === from && !el.attrs.type;
const isBody = (text: string) => (el: Element) => el.is('message') && el.getChildText('body') === text;
/** The next `name` command about `handle` (others of that name are skipped). */
async function expectAbout(client: MsnpTestClient, name: string, handle: string) {
  for (;;) {
    const cmd = await client.expect(name, 10_000);
    if (cmd.args.includes(handle)) return cmd;
  }
}
const chat = (to: string, text: string) => xml('message', { type: 'chat', to }, xml('body', {}, text));

/**
 * Issue 11: every path that works on one node works when the users are on different
 * nodes of a cluster (three nodes, one database, the real Redis bus): subscriptions and
 * presence, messages to bare and full JIDs, offline delivery, the MSN second sign-in
 * (`OUT OTH`) and an operator's kick.
 */
describe('routing across cluster nodes (Redis bus)', () => {
  let cluster: Cluster;
  let a: TestServer;
  let b: TestServer;
  let c: TestServer;
  const open: Array<{ stop?(): Promise<void>; close?(): Promise<void> }> = [];
  let n = 0;

  before(async () => {
    const prefix = testPrefix();
    const url = testRedisUrl();
    cluster = await startCluster(3, {
      env: { PAPILLON_PUBLIC_HOST: '127.0.0.1' },
      busFor: (nodeId) => RedisBus.open({ url, nodeId, keyPrefix: prefix }),
    });
    [a, b, c] = cluster.nodes as [TestServer, TestServer, TestServer];
  });
  after(async () => {
    for (const client of open) await (client.close?.() ?? client.stop?.())?.catch(() => {});
    await cluster.stop();
  });

  /** A fresh account with the default privacy (whoever adds it is asked). */
  const account = async (display?: string) => {
    n += 1;
    const name = `r${n}`;
    await a.server.core.accounts.create({
      handle: `${name}@localhost`,
      password: `${name}-secret`,
      displayName: display ?? `User ${n}`,
    });
    return name;
  };
  const online = async (node: TestServer, name: string, resource = 'desk') => {
    const client = await connectXmpp(node, { username: name, password: `${name}-secret`, resource });
    open.push(client);
    await client.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
    await client.xmpp.send(xml('presence'));
    return client;
  };
  const msn = async (node: TestServer, name: string): Promise<MsnpTestClient> => {
    const client = await msnOnline(node, name);
    open.push(client);
    return client;
  };
  const send = (client: TestXmppClient, type: string, to: string) =>
    client.xmpp.send(xml('presence', { type, to }));

  it('two XMPP users on different nodes add each other: each is asked, both see each other', async () => {
    const [x, y] = [await account(), await account()];
    const alice = await online(a, x);
    const bob = await online(b, y);
    await send(alice, 'subscribe', `${y}@localhost`);
    await bob.waitFor(isSub('subscribe', `${x}@localhost`));
    await send(bob, 'subscribed', `${x}@localhost`);
    await send(bob, 'subscribe', `${x}@localhost`);
    await alice.waitFor(isSub('subscribed', `${y}@localhost`));
    await alice.waitFor(isSub('subscribe', `${y}@localhost`));
    await send(alice, 'subscribed', `${y}@localhost`);
    await alice.waitFor(isAvailable(`${y}@localhost/desk`));
    await bob.waitFor(isAvailable(`${x}@localhost/desk`));
  });

  it('an MSNP12 add of an XMPP user on another node is a request there; the approval shows presence', async () => {
    const [m, x] = [await account('Msn Person'), await account()];
    const mia = await msn(a, m);
    const xan = await online(c, x);
    mia.send(addCommand(12, mia.trid(), `${x}@localhost`));
    await mia.expect('ADC');
    const request = await xan.waitFor(isSub('subscribe', `${m}@localhost`));
    assert.equal(request.getChildText('nick', NICK), 'Msn Person');
    await send(xan, 'subscribed', `${m}@localhost`);
    const nln = await mia.expect('NLN');
    assert.ok(nln.args.includes(`${x}@localhost`), nln.args.join(' '));
  });

  it('a message to a full JID reaches that resource only, on its node; a bare JID reaches both', async () => {
    const [x, y] = [await account(), await account()];
    const alice = await online(a, x);
    const desk = await online(b, y, 'desk');
    const phone = await online(c, y, 'phone');
    await alice.xmpp.send(chat(`${y}@localhost/phone`, 'to the phone'));
    await phone.waitFor(isBody('to the phone'));
    await alice.xmpp.send(chat(`${y}@localhost`, 'to both'));
    await desk.waitFor(isBody('to both'));
    await phone.waitFor(isBody('to both'));
    assert.equal(
      desk.stanzas.filter(isBody('to the phone')).length,
      0,
      'the desk did not get the phone’s message',
    );
  });

  it('a message to a user signed in nowhere is kept, and delivered at sign-in on another node', async () => {
    const [x, y] = [await account(), await account()];
    const alice = await online(a, x);
    await alice.xmpp.send(chat(`${y}@localhost`, 'while you were away'));
    // A ping answered means the message was handled (kept) before the reply.
    await alice.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    const bob = await online(b, y);
    const kept = await bob.waitFor(isBody('while you were away'));
    assert.ok(kept.getChild('delay', 'urn:xmpp:delay'));
  });

  it('a second MSNP12 sign-in on another node signs the first out (OUT OTH)', async () => {
    const m = await account();
    const first = await msn(a, m);
    await msn(b, m);
    assert.deepEqual((await first.expect('OUT')).args, ['OTH']);
  });

  it('a kick from one node ends the sessions on the others', async () => {
    const [x, m] = [await account(), await account()];
    const xan = await RawXmppClient.login(targetOf(b), {
      username: x,
      password: `${x}-secret`,
      resource: 'desk',
    });
    open.push(xan);
    const mia = await msn(c, m);
    const core = a.server.core;
    assert.equal(await kickAccount(core, (await core.accounts.get(`${x}@localhost`)).id), 1);
    assert.equal(await kickAccount(core, (await core.accounts.get(`${m}@localhost`)).id), 1);
    assert.equal((await xan.expectStreamError()).condition, 'policy-violation');
    assert.deepEqual((await mia.expect('OUT')).args, ['OTH']);
  });

  // Last: it stops node C.
  it('a node that stops cleanly shows its users offline to contacts on the other nodes', async () => {
    const [x, y, m] = [await account(), await account(), await account()];
    const core = a.server.core;
    const [xid, yid, mid] = await Promise.all(
      [x, y, m].map(async (h) => (await core.accounts.get(`${h}@localhost`)).id),
    );
    for (const [owner, contact] of [
      [xid, y],
      [yid, x],
      [mid, y],
      [yid, m],
    ] as const) {
      await core.relationships.addForward(owner ?? '', `${contact}@localhost`);
      await core.relationships.allow(owner ?? '', `${contact}@localhost`);
    }
    const watcher = await online(a, x);
    const mia = await msn(b, m);
    await online(c, y);
    await watcher.waitFor(isAvailable(`${y}@localhost/desk`));
    await expectAbout(mia, 'NLN', `${y}@localhost`);
    await c.stop();
    await watcher.waitFor(
      (el) => el.is('presence') && el.attrs.from === `${y}@localhost/desk` && el.attrs.type === 'unavailable',
    );
    await expectAbout(mia, 'FLN', `${y}@localhost`);
  });
});
