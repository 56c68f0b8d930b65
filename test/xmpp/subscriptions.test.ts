import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { addCommand, expectAddedBy, sync } from '../transcripts/msnp-session.ts';

type Element = TestXmppClient['stanzas'][number];
const ROSTER = 'jabber:iq:roster';
const NICK = 'http://jabber.org/protocol/nick';

const isSub = (type: string, from: string) => (el: Element) =>
  el.is('presence') && el.attrs.type === type && el.attrs.from === from;
const isPush = (jid: string) => (el: Element) =>
  el.is('iq') && el.attrs.type === 'set' && el.getChild('query', ROSTER)?.getChild('item')?.attrs.jid === jid;
const pushed = (el: Element) => el.getChild('query', ROSTER)?.getChild('item') as Element;

/**
 * RFC 6121 §3 subscriptions, with real clients: whoever is added is asked, nobody sees
 * an account's presence without its approval, and the answer in either protocol
 * (XMPP presence subscriptions, MSN lists) is the answer in the other.
 */
describe('subscriptions (RFC 6121 §3) across XMPP and MSN', () => {
  let server: TestServer;
  const open: Array<{ stop(): Promise<void> } | MsnpTestClient> = [];
  let n = 0;
  /** A fresh account with the default privacy (accounts made anywhere start so). */
  const account = async (display?: string) => {
    n += 1;
    const name = `u${n}`;
    await server.server.core.accounts.create({
      handle: `${name}@localhost`,
      password: `${name}-secret`,
      displayName: display ?? `User ${n}`,
    });
    return name;
  };
  /** Every stanza an XMPP client received, in order (waitFor takes from its own list). */
  const logs = new Map<TestXmppClient, Element[]>();
  const online = async (name: string, resource = 'desk') => {
    const c = await connectXmpp(server, { username: name, password: `${name}-secret`, resource });
    const log: Element[] = [];
    c.xmpp.on('stanza', (el: Element) => log.push(el));
    logs.set(c, log);
    open.push(c);
    await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
    await c.xmpp.send(xml('presence'));
    return c;
  };
  const roster = async (c: TestXmppClient) => {
    const res = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
    return res.getChild('query', ROSTER)?.getChildren('item') ?? [];
  };
  const itemOf = async (c: TestXmppClient, jid: string) => (await roster(c)).find((i) => i.attrs.jid === jid);
  const send = (c: TestXmppClient, type: string, to: string) => c.xmpp.send(xml('presence', { type, to }));
  const ping = (c: TestXmppClient) =>
    c.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  const settle = () => new Promise((r) => setTimeout(r, 150));
  const msnp = async (name: string, version: number) => {
    const c = await msnpSignIn(server, { version, handle: `${name}@localhost`, password: `${name}-secret` });
    open.push(c);
    await sync(version, c);
    await msnpSetStatus(c, version, 'NLN', { first: true });
    return c;
  };

  /** Two fresh accounts, each online on XMPP: alice (`a`, given `display`) and bob (`b`). */
  const pair = async (display?: string) => {
    const [a, b] = [await account(display), await account()];
    return { a, b, alice: await online(a), bob: await online(b) };
  };
  /** Two fresh accounts: `m` online on MSN (given `display`), `x` online on XMPP. */
  const msnPair = async (version: number, display?: string) => {
    const [m, x] = [await account(display), await account()];
    return { m, x, msn: await msnp(m, version), xmpp: await online(x) };
  };

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const c of open) await (c as { close?: () => Promise<void> }).close?.().catch(() => {});
    for (const c of open) await (c as { stop?: () => Promise<void> }).stop?.().catch(() => {});
    await server.stop();
  });

  describe('XMPP ↔ XMPP', () => {
    it('bug 1: a request is delivered with the requester’s nick, and again at the next login until answered', async () => {
      const { a, b, alice, bob } = await pair('Alice A.');
      await send(alice, 'subscribe', `${b}@localhost`);
      const request = await bob.waitFor(isSub('subscribe', `${a}@localhost`));
      // XEP-0172 §4.2: the nick in the request.
      assert.equal(request.getChildText('nick', NICK), 'Alice A.');
      // Nothing granted: alice waits (ask), bob is not seen by her.
      const item = await itemOf(alice, `${b}@localhost`);
      assert.deepEqual([item?.attrs.subscription, item?.attrs.ask], ['none', 'subscribe']);
      assert.equal(logs.get(alice)?.some(isSub('subscribed', `${b}@localhost`)), false);
      // §3.1.3: kept for later — a new resource of bob gets it at login.
      const phone = await online(b, 'phone');
      const again = await phone.waitFor(isSub('subscribe', `${a}@localhost`));
      assert.equal(again.getChildText('nick', NICK), 'Alice A.');
    });

    it('bug 2: a roster set alone asks nothing and grants nothing (§2.1.5)', async () => {
      const { a, b, alice, bob } = await pair();
      await alice.iq(
        xml(
          'iq',
          { type: 'set' },
          xml('query', { xmlns: ROSTER }, xml('item', { jid: `${b}@localhost`, name: 'Bobby' })),
        ),
      );
      const push = pushed(await alice.waitFor(isPush(`${b}@localhost`)));
      assert.deepEqual(
        [push.attrs.subscription, push.attrs.ask, push.attrs.name],
        ['none', undefined, 'Bobby'],
      );
      await settle();
      assert.equal(logs.get(alice)?.some(isSub('subscribed', `${b}@localhost`)), false);
      assert.equal(logs.get(bob)?.some(isSub('subscribe', `${a}@localhost`)), false);
      // The contact's roster does not show it either.
      assert.equal(await itemOf(bob, `${a}@localhost`), undefined);
    });

    it('bug 3: approval — the subscribed presence comes before the roster push showing "to" (§3.1.6)', async () => {
      const { a, b, alice, bob } = await pair();
      await send(alice, 'subscribe', `${b}@localhost`);
      await bob.waitFor(isSub('subscribe', `${a}@localhost`));
      await send(bob, 'subscribed', `${a}@localhost`);
      await alice.waitFor((el) => isPush(`${b}@localhost`)(el) && pushed(el).attrs.subscription === 'to');
      const log = logs.get(alice) ?? [];
      const approval = log.findIndex(isSub('subscribed', `${b}@localhost`));
      const toPush = log.findIndex(
        (el) => isPush(`${b}@localhost`)(el) && pushed(el).attrs.subscription === 'to',
      );
      assert.ok(approval >= 0 && approval < toPush, `subscribed (${approval}) before the push (${toPush})`);
      // And alice now sees bob's presence; bob's roster says "from".
      await alice.waitFor(
        (el) => el.is('presence') && el.attrs.from === `${b}@localhost/desk` && !el.attrs.type,
      );
      assert.equal((await itemOf(bob, `${a}@localhost`))?.attrs.subscription, 'from');
    });

    it('deny: unsubscribed to a pending request leaves the asker with "none" and no ask (§3.2)', async () => {
      const { a, b, alice, bob } = await pair();
      await send(alice, 'subscribe', `${b}@localhost`);
      await bob.waitFor(isSub('subscribe', `${a}@localhost`));
      await send(bob, 'unsubscribed', `${a}@localhost`);
      await alice.waitFor(isSub('unsubscribed', `${b}@localhost`));
      const item = await itemOf(alice, `${b}@localhost`);
      assert.deepEqual([item?.attrs.subscription, item?.attrs.ask], ['none', undefined]);
      // Answered: not asked again at bob's next login…
      const phone = await online(b, 'phone');
      await ping(phone);
      await settle();
      assert.equal(logs.get(phone)?.some(isSub('subscribe', `${a}@localhost`)), false);
      // …until alice asks again.
      await send(alice, 'subscribe', `${b}@localhost`);
      await phone.waitFor(isSub('subscribe', `${a}@localhost`));
      assert.equal((await itemOf(alice, `${b}@localhost`))?.attrs.ask, 'subscribe');
    });

    it('bug 4: unsubscribe keeps the item with "none"; a later roster remove succeeds', async () => {
      const { a, b, alice, bob } = await pair();
      await send(alice, 'subscribe', `${b}@localhost`);
      await bob.waitFor(isSub('subscribe', `${a}@localhost`));
      await send(bob, 'subscribed', `${a}@localhost`);
      await alice.waitFor(isSub('subscribed', `${b}@localhost`));
      // Cancel (§3.3): bob hears unsubscribe; alice keeps the item.
      await send(alice, 'unsubscribe', `${b}@localhost`);
      await bob.waitFor(isSub('unsubscribe', `${a}@localhost`));
      await alice.waitFor((el) => isPush(`${b}@localhost`)(el) && pushed(el).attrs.subscription === 'none');
      const item = await itemOf(alice, `${b}@localhost`);
      assert.deepEqual([item?.attrs.subscription, item?.attrs.ask], ['none', undefined]);
      const remove = await alice.iq(
        xml(
          'iq',
          { type: 'set' },
          xml('query', { xmlns: ROSTER }, xml('item', { jid: `${b}@localhost`, subscription: 'remove' })),
        ),
      );
      assert.equal(remove.attrs.type, 'result');
      assert.equal(await itemOf(alice, `${b}@localhost`), undefined);
    });

    it('bug 5: removing a contact is not blocking: its messages still arrive (§2.5.2)', async () => {
      const { a, b, alice, bob } = await pair();
      await send(alice, 'subscribe', `${b}@localhost`);
      await bob.waitFor(isSub('subscribe', `${a}@localhost`));
      await send(bob, 'subscribed', `${a}@localhost`);
      await alice.waitFor(isSub('subscribed', `${b}@localhost`));
      await bob.iq(
        xml(
          'iq',
          { type: 'set' },
          xml('query', { xmlns: ROSTER }, xml('item', { jid: `${a}@localhost`, subscription: 'remove' })),
        ),
      );
      await alice.waitFor(isSub('unsubscribed', `${b}@localhost`));
      await alice.xmpp.send(
        xml('message', { to: `${b}@localhost`, type: 'chat' }, xml('body', {}, 'still there?')),
      );
      const got = await bob.waitFor((el) => el.is('message') && el.getChildText('body') === 'still there?');
      assert.equal(got.attrs.type, 'chat');
      await settle();
      assert.equal(
        logs.get(alice)?.some((el) => el.is('message') && el.attrs.type === 'error'),
        false,
      );
    });

    it('pre-approval (§3.4): subscribed before any request, the later request is approved at once', async () => {
      const { a, b, alice, bob } = await pair();
      await send(bob, 'subscribed', `${a}@localhost`);
      const pre = pushed(await bob.waitFor(isPush(`${a}@localhost`)));
      assert.equal(pre.attrs.approved, 'true');
      await send(alice, 'subscribe', `${b}@localhost`);
      await alice.waitFor(isSub('subscribed', `${b}@localhost`));
      assert.equal((await itemOf(alice, `${b}@localhost`))?.attrs.subscription, 'to');
      await ping(bob);
      await settle();
      assert.equal(logs.get(bob)?.some(isSub('subscribe', `${a}@localhost`)), false);
    });

    it('two clients add each other as on Prosody: each is asked, both see each other', async () => {
      const { a, b, alice, bob } = await pair();
      await send(alice, 'subscribe', `${b}@localhost`);
      await bob.waitFor(isSub('subscribe', `${a}@localhost`));
      // Gajim's "authorize and add back": subscribed, then subscribe.
      await send(bob, 'subscribed', `${a}@localhost`);
      await send(bob, 'subscribe', `${a}@localhost`);
      await alice.waitFor(isSub('subscribed', `${b}@localhost`));
      await alice.waitFor(isSub('subscribe', `${b}@localhost`));
      await send(alice, 'subscribed', `${b}@localhost`);
      await bob.waitFor(isSub('subscribed', `${a}@localhost`));
      assert.equal((await itemOf(alice, `${b}@localhost`))?.attrs.subscription, 'both');
      assert.equal((await itemOf(bob, `${a}@localhost`))?.attrs.subscription, 'both');
      await alice.waitFor(
        (el) => el.is('presence') && el.attrs.from === `${b}@localhost/desk` && !el.attrs.type,
      );
      await bob.waitFor(
        (el) => el.is('presence') && el.attrs.from === `${a}@localhost/desk` && !el.attrs.type,
      );
    });
  });

  for (const version of [8, 12]) {
    describe(`XMPP ↔ MSNP${version}`, () => {
      const list = version >= 10 ? 'ADC' : 'ADD';
      const allowCmd = (trid: number, handle: string) =>
        version >= 10 ? `ADC ${trid} AL N=${handle}` : `ADD ${trid} AL ${handle} ${handle}`;

      it('an MSN add is a subscription request; the XMPP answer is the MSN user’s presence', async () => {
        const { m, x, msn, xmpp } = await msnPair(version, 'Msn Person');
        msn.send(addCommand(version, msn.trid(), `${x}@localhost`));
        await msn.expect(list);
        const request = await xmpp.waitFor(isSub('subscribe', `${m}@localhost`));
        assert.equal(request.getChildText('nick', NICK), 'Msn Person');
        // Approve: the MSN user sees the XMPP user online (NLN), and the XMPP user is on MSN's AL.
        await send(xmpp, 'subscribed', `${m}@localhost`);
        const nln = await msn.expect('NLN');
        assert.ok(nln.args.includes(`${x}@localhost`), nln.args.join(' '));
      });

      it('an MSN add denied over XMPP: the MSN user never sees the XMPP user', async () => {
        const { m, x, msn, xmpp } = await msnPair(version);
        msn.send(addCommand(version, msn.trid(), `${x}@localhost`));
        await msn.expect(list);
        await xmpp.waitFor(isSub('subscribe', `${m}@localhost`));
        await send(xmpp, 'unsubscribed', `${m}@localhost`);
        await ping(xmpp);
        await msn.expectNothing(300).catch(() => {});
        assert.equal(
          await server.server.core.relationships.canSee(
            (await server.server.core.accounts.get(`${m}@localhost`)).id,
            (await server.server.core.accounts.get(`${x}@localhost`)).id,
          ),
          false,
        );
      });

      it('an XMPP subscribe is "X has added you"; MSN allow is the approval, shown before the push', async () => {
        const { m, x, msn, xmpp } = await msnPair(version);
        await send(xmpp, 'subscribe', `${m}@localhost`);
        await expectAddedBy(version, msn, `${x}@localhost`);
        assert.equal((await itemOf(xmpp, `${m}@localhost`))?.attrs.ask, 'subscribe');
        msn.send(allowCmd(msn.trid(), `${x}@localhost`));
        await msn.expect(list);
        await xmpp.waitFor((el) => isPush(`${m}@localhost`)(el) && pushed(el).attrs.subscription === 'to');
        const log = logs.get(xmpp) ?? [];
        const approval = log.findIndex(isSub('subscribed', `${m}@localhost`));
        const push = log.findIndex(
          (el) => isPush(`${m}@localhost`)(el) && pushed(el).attrs.subscription === 'to',
        );
        assert.ok(approval >= 0 && approval < push, `subscribed (${approval}) before the push (${push})`);
        await xmpp.waitFor(
          (el) => el.is('presence') && el.attrs.from === `${m}@localhost/msn` && !el.attrs.type,
        );
      });

      if (version >= 10) {
        it('an XMPP subscribe acknowledged without allow (REM PL) is a denial', async () => {
          const { m, x, msn, xmpp } = await msnPair(version);
          await send(xmpp, 'subscribe', `${m}@localhost`);
          await expectAddedBy(version, msn, `${x}@localhost`);
          msn.send(`REM ${msn.trid()} PL ${x}@localhost`);
          await msn.expect('REM');
          await xmpp.waitFor(isSub('unsubscribed', `${m}@localhost`));
          const item = await itemOf(xmpp, `${m}@localhost`);
          assert.deepEqual([item?.attrs.subscription, item?.attrs.ask], ['none', undefined]);
        });
      }

      it('an XMPP message to an MSN user who may not see the sender is kept, not bounced', async () => {
        const { m, msn, xmpp } = await msnPair(version);
        await xmpp.xmpp.send(
          xml('message', { to: `${m}@localhost`, type: 'chat' }, xml('body', {}, 'hello from afar')),
        );
        await ping(xmpp);
        await settle();
        assert.equal(
          logs.get(xmpp)?.some((el) => el.is('message') && el.attrs.type === 'error'),
          false,
        );
        const mId = (await server.server.core.accounts.get(`${m}@localhost`)).id;
        // Kept for the MSN user's offline paths (OIM for 13+, a server switchboard for 2–12).
        const kept = await server.server.core.offline.pending(mId);
        assert.ok(JSON.stringify(kept).includes('hello from afar'), JSON.stringify(kept));
        await msn.close();
      });
    });
  }
});
