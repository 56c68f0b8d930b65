import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { textMessage } from '../transcripts/msnp-session.ts';

// Messages sent to an account while it was offline reach an MSNP2–12 client (no OIM)
// through a switchboard the server opens itself (src/msnp/ns/offline-delivery.ts).
describe('offline messages for MSNP2–12 clients', () => {
  let server: TestServer;
  let xan: TestXmppClient;
  let yul: TestXmppClient;
  const recipients = ['bob', 'bea', 'ben', 'bix', 'bud', 'bex'];

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    for (const [name, displayName] of [
      ['xan', 'Xan X'],
      ['yul', 'Yul'],
    ]) {
      await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-pw`,
        displayName,
      });
    }
    for (const name of recipients) {
      const account = await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-pw`,
      });
      await core.relationships.addForward(account.id, 'xan@localhost');
    }
    xan = await connectXmpp(server, { username: 'xan', password: 'xan-pw', resource: 'gajim' });
    yul = await connectXmpp(server, { username: 'yul', password: 'yul-pw', resource: 'dino' });
    // Xan is available, so a reply can reach him; Yul only sends.
    await xan.xmpp.send(xml('presence'));
  });
  after(async () => {
    await xan.stop();
    await yul.stop();
    await server.stop();
  });

  async function accountId(name: string): Promise<string> {
    return (await server.server.core.accounts.get(`${name}@localhost`)).id;
  }

  /** Sends chat messages from `from` to `to` (offline) and waits until all are stored. */
  async function sendWhileOffline(from: TestXmppClient, to: string, texts: string[]): Promise<void> {
    const id = await accountId(to);
    const before = await server.server.core.offline.count(id);
    for (const text of texts) {
      await from.xmpp.send(xml('message', { to: `${to}@localhost`, type: 'chat' }, xml('body', {}, text)));
    }
    for (let i = 0; i < 100; i++) {
      if ((await server.server.core.offline.count(id)) >= before + texts.length) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`${texts.length} messages were not stored for ${to}`);
  }

  /** Signs in and sends the first CHG; resolves with the NS connection. */
  async function signIn(name: string, version: number, status = 'NLN'): Promise<MsnpTestClient> {
    const client = await msnpSignIn(server, { version, handle: `${name}@localhost`, password: `${name}-pw` });
    await msnpSetStatus(client, version, status, { first: true });
    return client;
  }

  /** Answers an RNG: returns the switchboard connection and what preceded ANS OK. */
  async function answer(name: string, rng: MsnpCommand) {
    const [host, port] = (rng.args[1] ?? '').split(':');
    const sb = await MsnpTestClient.connect(Number(port), host);
    const trid = sb.trid();
    sb.send(`ANS ${trid} ${name}@localhost ${rng.args[3]} ${rng.args[0]}`);
    const iro = await sb.next();
    assert.equal(iro.name, 'IRO', `IRO first: ${sb.lines.join(' | ')}`);
    const ans = await sb.next();
    assert.deepEqual([ans.name, ...ans.args], ['ANS', String(trid), 'OK']);
    return { sb, iro, trid };
  }

  /** The texts of the MSG lines that follow, up to the server's BYE (which is checked). */
  async function messagesUntilBye(sb: MsnpTestClient, sender: string, senderName: string) {
    const texts: string[] = [];
    for (;;) {
      const cmd = await sb.next();
      if (cmd.name === 'BYE') {
        assert.deepEqual(cmd.args, [sender]);
        return texts;
      }
      assert.equal(cmd.name, 'MSG', `MSG or BYE: ${sb.lines.join(' | ')}`);
      assert.deepEqual(cmd.args.slice(0, 2), [sender, encodeURIComponent(senderName)]);
      const payload = cmd.payload?.toString('utf8') ?? '';
      const split = payload.indexOf('\r\n\r\n');
      assert.match(
        payload.slice(0, split),
        /^MIME-Version: 1\.0\r\nContent-Type: text\/plain; charset=UTF-8/,
      );
      assert.doesNotMatch(payload.slice(0, split), /X-OIM/i);
      texts.push(payload.slice(split + 4));
    }
  }

  /**
   * Waits until `name` has `count` messages stored. Written to a switchboard, they leave the
   * store once the connection stayed up a moment (core OFFLINE_GRACE_MS) or the client said OUT.
   */
  async function storedBecomes(name: string, count: number): Promise<void> {
    const id = await accountId(name);
    for (let i = 0; i < 150; i++) {
      if ((await server.server.core.offline.count(id)) === count) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await server.server.core.offline.count(id), count);
  }

  /** Leaves a switchboard as MSN clients do: `OUT` (§12.3), then the connection ends. */
  async function leave(sb: MsnpTestClient): Promise<void> {
    sb.send('OUT');
    await sb.close();
  }

  /** Waits, then fails if the server rang `client` (other notices, e.g. `SBS`, do not count). */
  async function expectNoRing(client: MsnpTestClient, ms = 300): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    const rings = client.drain().filter((c) => c.name === 'RNG');
    assert.deepEqual(rings, [], 'no RNG');
  }

  /** An XMPP login of `name` with available presence gets no stored message. */
  async function xmppGetsNothing(name: string): Promise<void> {
    const client = await connectXmpp(server, { username: name, password: `${name}-pw`, resource: 'later' });
    try {
      await client.xmpp.send(xml('presence'));
      await new Promise((r) => setTimeout(r, 300));
      const bodies = client.stanzas.filter((el) => el.is('message') && el.getChildText('body') !== undefined);
      assert.deepEqual(
        bodies.map((el) => String(el)),
        [],
      );
    } finally {
      await client.stop();
    }
  }

  for (const [name, version] of [
    ['bob', 12],
    ['bea', 5],
  ] as const) {
    it(`an MSNP${version} client is rung by the sender and gets each message once, in order`, async () => {
      await sendWhileOffline(xan, name, ['First one ☺', 'Second\nline two']);
      const ns = await signIn(name, version);
      const rng = await ns.expect('RNG');
      assert.equal(rng.args[2], 'CKI');
      assert.deepEqual(rng.args.slice(4), ['xan@localhost', 'Xan%20X']);
      // The messages stay stored until the client answers.
      assert.equal(await server.server.core.offline.count(await accountId(name)), 2);

      const { sb, iro, trid } = await answer(name, rng);
      const iroArgs = [String(trid), '1', '1', 'xan@localhost', 'Xan%20X'];
      assert.deepEqual(iro.args, version >= 12 ? [...iroArgs, '0'] : iroArgs);
      assert.deepEqual(await messagesUntilBye(sb, 'xan@localhost', 'Xan X'), [
        'First one ☺',
        'Second\nline two',
      ]);
      // Gone from the store once the switchboard stayed up a moment.
      await storedBecomes(name, 0);

      // Typing into the emptied switchboard reaches no one; calling the sender back does.
      const lone = sb.trid();
      sb.sendPayload('MSG', [lone, 'A'], textMessage('still there?'));
      assert.deepEqual((await sb.expect('NAK')).args, [String(lone)]);
      sb.send(`CAL ${sb.trid()} xan@localhost`);
      assert.equal((await sb.expect('CAL')).args[1], 'RINGING');
      assert.equal((await sb.expect('JOI')).args[0], 'xan@localhost');
      const reply = sb.trid();
      sb.sendPayload('MSG', [reply, 'A'], textMessage(`thanks, from ${name}`));
      assert.deepEqual((await sb.expect('ACK')).args, [String(reply)]);
      const got = await xan.waitFor(
        (el) => el.is('message') && el.getChildText('body') === `thanks, from ${name}`,
      );
      assert.equal(got.attrs.from, `${name}@localhost/msn`);
      await leave(sb);
      await ns.close();

      // Delivered once: neither the next MSN sign-in nor an XMPP login gets them again.
      const again = await signIn(name, version);
      await expectNoRing(again);
      await again.close();
      await xmppGetsNothing(name);
    });
  }

  it('an unanswered ring loses nothing: the next sign-in rings again', async () => {
    await sendWhileOffline(xan, 'ben', ['Are you there?']);
    const first = await signIn('ben', 8);
    const rng = await first.expect('RNG');
    assert.equal(rng.args[4], 'xan@localhost');
    await first.close();
    assert.equal(await server.server.core.offline.count(await accountId('ben')), 1);

    const second = await signIn('ben', 8);
    const ring = await second.expect('RNG');
    assert.notEqual(ring.args[0], rng.args[0], 'a new switchboard');
    const { sb } = await answer('ben', ring);
    assert.deepEqual(await messagesUntilBye(sb, 'xan@localhost', 'Xan X'), ['Are you there?']);
    await leave(sb);
    await second.close();
    await storedBecomes('ben', 0);
    await xmppGetsNothing('ben');
  });

  it('messages taken by an XMPP login are not delivered again when the ring is answered', async () => {
    await sendWhileOffline(xan, 'bud', ['Only once']);
    const ns = await signIn('bud', 11, 'HDN');
    const rng = await ns.expect('RNG');
    const phone = await connectXmpp(server, { username: 'bud', password: 'bud-pw', resource: 'phone' });
    try {
      await phone.xmpp.send(xml('presence'));
      const got = await phone.waitFor((el) => el.is('message') && el.getChildText('body') === 'Only once');
      assert.ok(got.getChild('delay', 'urn:xmpp:delay'), 'with its XEP-0203 delay');
    } finally {
      await phone.stop();
    }
    const { sb } = await answer('bud', rng);
    assert.deepEqual(await messagesUntilBye(sb, 'xan@localhost', 'Xan X'), []);
    await sb.close();
    await ns.close();
  });

  it('messages from two senders come in two switchboards, each with its own', async () => {
    await sendWhileOffline(xan, 'bix', ['x1']);
    await sendWhileOffline(yul, 'bix', ['y1']);
    await sendWhileOffline(xan, 'bix', ['x2']);
    const ns = await signIn('bix', 12, 'BSY');
    const fromXan = await ns.expect('RNG');
    const fromYul = await ns.expect('RNG');
    assert.deepEqual(
      [fromXan.args[4], fromYul.args[4]],
      ['xan@localhost', 'yul@localhost'],
      'one ring per sender, in order of their first message',
    );
    assert.notEqual(fromXan.args[0], fromYul.args[0]);

    // Answered in the other order: each switchboard carries only its sender's messages.
    const yulSb = await answer('bix', fromYul);
    assert.equal(yulSb.iro.args[3], 'yul@localhost');
    assert.deepEqual(await messagesUntilBye(yulSb.sb, 'yul@localhost', 'Yul'), ['y1']);
    await storedBecomes('bix', 2); // xan’s still stored
    const xanSb = await answer('bix', fromXan);
    assert.deepEqual(await messagesUntilBye(xanSb.sb, 'xan@localhost', 'Xan X'), ['x1', 'x2']);
    await storedBecomes('bix', 0);
    await expectNoRing(ns, 200);
    await Promise.all([leave(yulSb.sb), leave(xanSb.sb), ns.close()]);
  });

  it('a message waiting for the answer (XMPP bridge) follows IRO and ANS OK', async () => {
    const ns = await signIn('bex', 12);
    await xan.xmpp.send(xml('message', { to: 'bex@localhost', type: 'chat' }, xml('body', {}, 'live')));
    const rng = await ns.expect('RNG');
    const { sb } = await answer('bex', rng);
    assert.match((await sb.next()).payload?.toString() ?? '', /\r\n\r\nlive$/);
    await Promise.all([sb.close(), ns.close()]);
  });
});
