import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccountRow } from '../../src/store/types.ts';
import { NS } from '../../src/xmpp/namespaces.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { is, type Match, RawXmppClient, targetOf, type XmlElement, xml } from '../support/xmpp-raw.ts';

const ROSTER = NS.roster;

function items(roster: XmlElement): XmlElement[] {
  return roster.getChild('query', ROSTER)?.getChildren('item') ?? [];
}

function groupsOf(item: XmlElement | undefined): string[] {
  return (item?.getChildren('group') ?? []).map((g) => g.text()).sort();
}

function pushedItem(push: XmlElement): XmlElement {
  const item = push.getChild('query', ROSTER)?.getChild('item');
  assert.ok(item, `a roster push: ${push}`);
  return item;
}

const presenceFrom =
  (jidOrBare: string, type?: string): Match =>
  (el) =>
    el.name === 'presence' &&
    (el.attrs.from === jidOrBare || el.attrs.from?.startsWith(`${jidOrBare}/`) === true) &&
    el.attrs.type === type;

const errorCondition = (el: XmlElement) =>
  el
    .getChild('error')
    ?.getChildren()
    .find((c) => c.xmlns === NS.stanzas && c.name !== 'text')?.name;

/** RFC 6121 (rosters, subscriptions, presence, messages) against the real server. */
describe('XMPP IM (RFC 6121) over real sockets', () => {
  let server: TestServer;
  const clients: RawXmppClient[] = [];
  const accounts = new Map<string, AccountRow>();
  const id = (name: string) => {
    const a = accounts.get(name);
    assert.ok(a, name);
    return a.id;
  };
  const login = async (name: string, resource?: string) => {
    const c = await RawXmppClient.login(targetOf(server), {
      username: name,
      password: `${name}-secret`,
      ...(resource === undefined ? {} : { resource }),
    });
    clients.push(c);
    return c;
  };
  /** Logged in, roster fetched (so "interested", §2.1.6) and initial presence sent. */
  const online = async (name: string, resource?: string, ...children: XmlElement[]) => {
    const c = await login(name, resource);
    await c.roster();
    await c.presence({}, ...children);
    return c;
  };
  const core = () => server.server.core;
  const settle = () => new Promise((r) => setTimeout(r, 100));

  before(async () => {
    server = await startTestServer();
    const names = [
      ...['ann', 'ben', 'cat', 'dan', 'eli', 'fay', 'gil', 'hal', 'ivy', 'jay', 'kim', 'leo', 'mia', 'ned'],
      ...['oli', 'pam', 'quinn', 'rob', 'sam', 'tia', 'uma', 'vic', 'wes', 'xan', 'yul', 'zoe'],
      ...['abe', 'bea', 'cal', 'deb'],
    ];
    for (const name of names) {
      accounts.set(
        name,
        await server.server.core.accounts.create({
          privacy: 'allow-all',
          handle: `${name}@localhost`,
          password: `${name}-secret`,
        }),
      );
    }
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  describe('roster management (§2)', () => {
    it('gets, sets and removes items, pushing each change to every interested resource', async () => {
      // Ben only lets in people he approves, so adding him is not yet a subscription.
      await core().relationships.setPrivacy(id('ben'), 'allow-list');
      const a = await login('ann', 'a');
      const b = await login('ann', 'b');
      const uninterested = await login('ann', 'c');
      const first = await a.roster();
      assert.equal(first.attrs.type, 'result');
      assert.deepEqual(items(first), [], 'an empty roster');
      assert.ok(first.getChild('query', ROSTER)?.attrs.ver, '§2.6: a version with the roster');
      await b.roster();

      const set = await a.rosterSet(
        xml(
          'item',
          { jid: 'ben@localhost', name: 'Benny' },
          xml('group', {}, 'Friends'),
          xml('group', {}, 'Ça & <Co> 😀'),
        ),
      );
      assert.equal(set.attrs.type, 'result');
      // §2.1.6: both interested resources get the push (the one that set it too).
      for (const c of [a, b]) {
        const push = await c.expect(is.push('ben@localhost', (i) => groupsOf(i).length === 2));
        assert.equal(push.attrs.to, c.jid);
        assert.equal(push.attrs.from, undefined, 'pushes come from the account itself (§2.1.6)');
        const item = pushedItem(push);
        assert.equal(item.attrs.name, 'Benny');
        assert.equal(item.attrs.subscription, 'none');
        assert.deepEqual(groupsOf(item), ['Friends', 'Ça & <Co> 😀']);
        // Pushes are acknowledged by the client (§2.1.6); the server takes the result silently.
        await c.send(xml('iq', { type: 'result', id: push.attrs.id }));
      }
      assert.ok(await uninterested.expectNone(is.push('ben@localhost')), 'no push without a roster get');

      // Groups round-trip through a roster get, and an update replaces them.
      const got = await b.roster();
      const ben = items(got).find((i) => i.attrs.jid === 'ben@localhost');
      assert.deepEqual(groupsOf(ben), ['Friends', 'Ça & <Co> 😀']);
      await a.rosterSet(xml('item', { jid: 'ben@localhost', name: 'B.' }, xml('group', {}, 'Work')));
      await b.expect(is.push('ben@localhost', (i) => i.attrs.name === 'B.' && groupsOf(i).join() === 'Work'));
      const updated = items(await a.roster()).find((i) => i.attrs.jid === 'ben@localhost');
      assert.equal(updated?.attrs.name, 'B.');
      assert.deepEqual(groupsOf(updated), ['Work']);

      // §2.5: remove.
      a.drain();
      b.drain();
      const removed = await a.rosterSet(xml('item', { jid: 'ben@localhost', subscription: 'remove' }));
      assert.equal(removed.attrs.type, 'result');
      for (const c of [a, b])
        await c.expect(is.push('ben@localhost', (i) => i.attrs.subscription === 'remove'));
      assert.deepEqual(items(await a.roster()), []);

      // §2.5.3: removing what is not there; §2.3.3: one item per set.
      const missing = await a.rosterSet(xml('item', { jid: 'ben@localhost', subscription: 'remove' }));
      assert.equal(errorCondition(missing), 'item-not-found');
      const two = await a.rosterSet(
        xml('item', { jid: 'ben@localhost' }),
        xml('item', { jid: 'cat@localhost' }),
      );
      assert.equal(errorCondition(two), 'bad-request');
      for (const c of [a, b, uninterested]) await c.close();
    });

    it('removing a contact who sees the user cancels that subscription too (§2.5.2)', async () => {
      // Issue 9 part 1: the default privacy; each approves the other's request.
      await core().relationships.setPrivacy(id('abe'), 'allow-list');
      await core().relationships.setPrivacy(id('bea'), 'allow-list');
      const abe = await online('abe', 'a');
      const bea = await online('bea', 'b');
      await abe.send(xml('presence', { to: 'bea@localhost', type: 'subscribe' }));
      await bea.send(xml('presence', { to: 'abe@localhost', type: 'subscribe' }));
      await abe.expect(presenceFrom('bea@localhost', 'subscribe'));
      await bea.expect(presenceFrom('abe@localhost', 'subscribe'));
      await abe.send(xml('presence', { to: 'bea@localhost', type: 'subscribed' }));
      await bea.send(xml('presence', { to: 'abe@localhost', type: 'subscribed' }));
      await abe.expect(is.push('bea@localhost', (i) => i.attrs.subscription === 'both'));
      await bea.expect(is.push('abe@localhost', (i) => i.attrs.subscription === 'both'));
      await abe.expect(presenceFrom('bea@localhost'));
      await bea.expect(presenceFrom('abe@localhost'));

      const removed = await abe.rosterSet(xml('item', { jid: 'bea@localhost', subscription: 'remove' }));
      assert.equal(removed.attrs.type, 'result');
      await abe.expect(is.push('bea@localhost', (i) => i.attrs.subscription === 'remove'));
      assert.equal(
        items(await abe.roster()).find((i) => i.attrs.jid === 'bea@localhost'),
        undefined,
        'the item is gone, not left as "from"',
      );
      // The contact is told both subscriptions ended and sees the user go.
      await bea.expect(presenceFrom('abe@localhost', 'unsubscribe'));
      await bea.expect(presenceFrom('abe@localhost', 'unsubscribed'));
      await bea.expect(presenceFrom('abe@localhost', 'unavailable'));
      await bea.expect(is.push('abe@localhost', (i) => i.attrs.subscription === 'none'));
      await abe.presence({}, xml('status', {}, 'gone for Bea'));
      assert.ok(await bea.expectNone(presenceFrom('abe@localhost'), 300));
      await abe.close();
      await bea.close();
    });

    it('a roster change is no subscription news: no stray subscribed/unsubscribed', async () => {
      await core().relationships.addForward(id('cal'), 'deb@localhost');
      await core().relationships.addForward(id('deb'), 'cal@localhost');
      const quiet = await login('cal', 'quiet');
      await quiet.presence(); // never asks for the roster
      const editor = await online('cal', 'editor');
      await editor.rosterSet(xml('item', { jid: 'deb@localhost', name: 'Debbie' }));
      await editor.expect(is.push('deb@localhost', (i) => i.attrs.name === 'Debbie'));
      const stray = (el: XmlElement) =>
        el.name === 'presence' && (el.attrs.type === 'subscribed' || el.attrs.type === 'unsubscribed');
      assert.ok(await quiet.expectNone(stray, 300));
      assert.ok(await editor.expectNone(stray, 50));
      await quiet.close();
      await editor.close();
    });

    it('versions the roster (§2.6): nothing when current, the roster when not, new versions in pushes', async () => {
      await core().relationships.setPrivacy(id('dan'), 'allow-list');
      const c = await login('cat', 'v');
      const v1 = (await c.roster()).getChild('query', ROSTER)?.attrs.ver;
      assert.ok(v1);
      const current = await c.roster(v1);
      assert.equal(current.attrs.type, 'result');
      assert.equal(current.getChild('query', ROSTER), undefined, '§2.6.3: an empty result when up to date');

      await c.rosterSet(xml('item', { jid: 'dan@localhost' }));
      const push = await c.expect(is.push('dan@localhost'));
      const v2 = push.getChild('query', ROSTER)?.attrs.ver;
      assert.ok(v2 && v2 !== v1, 'the push carries the new version');
      const stale = await c.roster(v1);
      assert.equal(stale.getChild('query', ROSTER)?.attrs.ver, v2);
      assert.deepEqual(
        items(stale).map((i) => i.attrs.jid),
        ['dan@localhost'],
      );
      await c.close();
    });

    it('changes the version when the contact answers while the user is offline', async () => {
      await core().relationships.setPrivacy(id('fay'), 'allow-list');
      const eli = await online('eli', 'v');
      await eli.send(xml('presence', { to: 'fay@localhost', type: 'subscribe' }));
      await eli.expect(is.push('fay@localhost', (i) => i.attrs.ask === 'subscribe'));
      const roster = await eli.roster();
      const ver = roster.getChild('query', ROSTER)?.attrs.ver;
      assert.ok(ver);
      await eli.close();

      const fay = await online('fay', 'v');
      await fay.expect(presenceFrom('eli@localhost', 'subscribe'));
      await fay.send(xml('presence', { to: 'eli@localhost', type: 'subscribed' }));
      await fay.expect(is.push('eli@localhost', (i) => i.attrs.subscription === 'from'));

      const back = await login('eli', 'v');
      const again = await back.roster(ver);
      const fayItem = items(again).find((i) => i.attrs.jid === 'fay@localhost');
      assert.ok(fayItem, `the cached roster is stale: the full roster comes back (got ${again})`);
      assert.equal(fayItem.attrs.subscription, 'to');
      assert.equal(fayItem.attrs.ask, undefined);
      await back.close();
      await fay.close();
    });
  });

  describe('subscriptions (§3)', () => {
    it('allow-list: a request waits, is redelivered at each login until answered, then both sides learn', async () => {
      await core().relationships.setPrivacy(id('hal'), 'allow-list');
      const gil = await online('gil', 'g');
      await gil.send(xml('presence', { to: 'hal@localhost', type: 'subscribe' }));
      const pending = pushedItem(
        await gil.expect(is.push('hal@localhost', (i) => i.attrs.ask === 'subscribe')),
      );
      assert.equal(pending.attrs.subscription, 'none');

      // §3.1.3: Hal was offline; the request is delivered when he comes online...
      const hal1 = await login('hal', 'h');
      const halRoster = await hal1.roster();
      assert.equal(
        items(halRoster).find((i) => i.attrs.jid === 'gil@localhost'),
        undefined,
        'no item for a pending-in request',
      );
      assert.ok(
        await hal1.expectNone(presenceFrom('gil@localhost', 'subscribe'), 200),
        'not before presence',
      );
      await hal1.presence();
      const request = await hal1.expect(presenceFrom('gil@localhost', 'subscribe'));
      assert.equal(request.attrs.from, 'gil@localhost');
      await hal1.close();
      // ...and again at every login until he answers.
      const hal = await online('hal', 'h');
      await hal.expect(presenceFrom('gil@localhost', 'subscribe'));

      // §3.1.5 / §3.1.6: approval.
      await hal.send(xml('presence', { to: 'gil@localhost', type: 'subscribed' }));
      const halSide = pushedItem(
        await hal.expect(is.push('gil@localhost', (i) => i.attrs.subscription === 'from')),
      );
      assert.equal(halSide.attrs.ask, undefined);
      await gil.expect(
        is.push('hal@localhost', (i) => i.attrs.subscription === 'to' && i.attrs.ask === undefined),
      );
      const subscribed = await gil.expect(presenceFrom('hal@localhost', 'subscribed'));
      assert.equal(subscribed.attrs.from, 'hal@localhost', 'from the bare JID');
      const seen = await gil.expect(presenceFrom('hal@localhost'));
      assert.equal(seen.attrs.from, 'hal@localhost/h', 'then the contact’s presence');

      // The next login brings no request any more.
      await hal.close();
      await gil.expect(presenceFrom('hal@localhost', 'unavailable'));
      const halAgain = await online('hal', 'h2');
      assert.ok(await halAgain.expectNone(presenceFrom('gil@localhost', 'subscribe'), 300));
      await gil.expect(presenceFrom('hal@localhost'));

      // §3.2 / §3.3 unsubscribed from the contact (allow-list): the user learns and sees Hal go.
      gil.drain();
      await halAgain.send(xml('presence', { to: 'gil@localhost', type: 'unsubscribed' }));
      await gil.expect(presenceFrom('hal@localhost', 'unsubscribed'));
      await gil.expect(
        (el) =>
          el.name === 'presence' && el.attrs.from === 'hal@localhost/h2' && el.attrs.type === 'unavailable',
      );
      const cancelled = pushedItem(await gil.expect(is.push('hal@localhost')));
      assert.equal(cancelled.attrs.subscription, 'none');
      await halAgain.expect(
        is.push('gil@localhost', (i) => i.attrs.subscription === 'remove' || i.attrs.subscription === 'none'),
      );
      await gil.close();
      await halAgain.close();
    });

    it('allow-all: a request is approved at once; unsubscribe and unsubscribed flows', async () => {
      const ivy = await online('ivy', 'i');
      const jay = await online('jay', 'j', xml('show', {}, 'away'));
      await ivy.send(xml('presence', { to: 'jay@localhost', type: 'subscribe' }));
      await ivy.expect(presenceFrom('jay@localhost', 'subscribed'));
      const jayPresence = await ivy.expect(presenceFrom('jay@localhost'));
      assert.equal(jayPresence.getChildText('show'), 'away');
      await ivy.expect(is.push('jay@localhost', (i) => i.attrs.subscription === 'to'));
      await jay.expect(is.push('ivy@localhost', (i) => i.attrs.subscription === 'from'));
      assert.ok(await jay.expectNone(presenceFrom('ivy@localhost', 'subscribe'), 200), 'nothing to answer');

      // §3.1.3: asking again when already subscribed is answered `subscribed` at once.
      await ivy.send(xml('presence', { to: 'jay@localhost', type: 'subscribe' }));
      await ivy.expect(presenceFrom('jay@localhost', 'subscribed'));

      // Jay subscribes back: both.
      await jay.send(xml('presence', { to: 'ivy@localhost', type: 'subscribe' }));
      await jay.expect(presenceFrom('ivy@localhost', 'subscribed'));
      await jay.expect(presenceFrom('ivy@localhost'));
      await ivy.expect(is.push('jay@localhost', (i) => i.attrs.subscription === 'both'));

      // §3.3: Ivy unsubscribes from Jay.
      ivy.drain();
      jay.drain();
      await ivy.send(xml('presence', { to: 'jay@localhost', type: 'unsubscribe' }));
      await ivy.expect(is.push('jay@localhost', (i) => i.attrs.subscription === 'from'));
      const unsubscribe = await jay.expect(presenceFrom('ivy@localhost', 'unsubscribe'));
      assert.equal(unsubscribe.attrs.from, 'ivy@localhost');
      await jay.expect(is.push('ivy@localhost', (i) => i.attrs.subscription === 'to'));
      // §3.3.3: Ivy no longer gets Jay's presence; she is told Jay is gone.
      await ivy.expect(presenceFrom('jay@localhost', 'unavailable'));
      await jay.presence({}, xml('status', {}, 'changed'));
      assert.ok(await ivy.expectNone(presenceFrom('jay@localhost'), 300), 'no presence after unsubscribing');

      // §3.2 under MSN's open mode (BLP AL, Ivy's explicit choice: everyone not blocked
      // sees her): `unsubscribed` records the answer but is not a block (issue 9 bug 5),
      // so Jay keeps seeing Ivy; the default privacy case is in subscriptions.test.ts.
      await ivy.send(xml('presence', { to: 'jay@localhost', type: 'unsubscribed' }));
      assert.ok(await jay.expectNone(presenceFrom('ivy@localhost', 'unsubscribed'), 300));
      await ivy.presence({}, xml('status', {}, 'after'));
      await jay.expect(presenceFrom('ivy@localhost'));
      await ivy.close();
      await jay.close();
    });

    it('pre-approval (§3.4): approved before asked, the later request is approved at once', async () => {
      await core().relationships.setPrivacy(id('kim'), 'allow-list');
      const kim = await online('kim', 'k');
      await kim.send(xml('presence', { to: 'leo@localhost', type: 'subscribed' }));
      const preApproved = pushedItem(await kim.expect(is.push('leo@localhost')));
      assert.equal(preApproved.attrs.approved, 'true');
      assert.equal(preApproved.attrs.subscription, 'none');
      const roster = items(await kim.roster()).find((i) => i.attrs.jid === 'leo@localhost');
      assert.equal(roster?.attrs.approved, 'true');

      const leo = await online('leo', 'l');
      await leo.send(xml('presence', { to: 'kim@localhost', type: 'subscribe' }));
      await leo.expect(presenceFrom('kim@localhost', 'subscribed'));
      await leo.expect(presenceFrom('kim@localhost'));
      const approved = pushedItem(
        await kim.expect(is.push('leo@localhost', (i) => i.attrs.subscription === 'from')),
      );
      assert.equal(approved.attrs.approved, undefined, 'approved is dropped once subscribed');
      assert.ok(await kim.expectNone(presenceFrom('leo@localhost', 'subscribe'), 200), 'Kim is not asked');
      await kim.close();
      await leo.close();
    });
  });

  describe('presence (§4)', () => {
    it('initial presence brings contacts’ presence; clean and unclean ends are seen as unavailable', async () => {
      await core().relationships.addForward(id('mia'), 'ned@localhost');
      const ned = await online('ned', 'n', xml('show', {}, 'dnd'), xml('status', {}, 'busy busy'));
      const mia = await login('mia', 'm');
      assert.ok(await mia.expectNone(presenceFrom('ned@localhost'), 200), 'nothing before initial presence');
      await mia.presence();
      // §4.2.2: the server answers the probe for the contact.
      const current = await mia.expect(presenceFrom('ned@localhost'));
      assert.equal(current.attrs.from, 'ned@localhost/n');
      assert.equal(current.getChildText('show'), 'dnd');
      assert.equal(current.getChildText('status'), 'busy busy');

      // §4.5.2: a clean end.
      await ned.close();
      const gone = await mia.expect(presenceFrom('ned@localhost', 'unavailable'));
      assert.equal(gone.attrs.from, 'ned@localhost/n');

      // §4.6.3 (RFC 6120 §4.4): an unclean end counts as unavailable too.
      const ned2 = await online('ned', 'n2');
      await mia.expect(presenceFrom('ned@localhost'));
      ned2.destroy();
      const dropped = await mia.expect(presenceFrom('ned@localhost', 'unavailable'));
      assert.equal(dropped.attrs.from, 'ned@localhost/n2');
      await mia.close();
    });

    it('the user’s resources see each other’s presence (§4.2.2, §4.4.2)', async () => {
      const first = await online('oli', 'first', xml('status', {}, 'here'));
      const second = await online('oli', 'second');
      const seen = await second.expect(presenceFrom('oli@localhost/first'));
      assert.equal(seen.attrs.type, undefined);
      assert.equal(seen.getChildText('status'), 'here', 'its presence as sent, not just a priority');
      await first.expect(presenceFrom('oli@localhost/second'));
      await first.presence({}, xml('show', {}, 'xa'));
      const changed = await second.expect(presenceFrom('oli@localhost/first'));
      assert.equal(changed.getChildText('show'), 'xa');
      await second.close();
      await first.expect(presenceFrom('oli@localhost/second', 'unavailable'));
      await first.close();
    });

    it('directed presence reaches its target, and so does its unavailable when the session ends (§4.6)', async () => {
      const quinn = await online('quinn', 'q');
      const pam = await online('pam', 'p');
      await pam.send(xml('presence', { to: 'quinn@localhost' }, xml('status', {}, 'just for you')));
      const directed = await quinn.expect(presenceFrom('pam@localhost/p'));
      assert.equal(directed.getChildText('status'), 'just for you');
      await pam.close();
      await quinn.expect(presenceFrom('pam@localhost/p', 'unavailable'));
      await quinn.close();
    });
  });

  describe('message routing (§8.5)', () => {
    it('a bare-JID chat goes to available resources with non-negative priority only', async () => {
      const high = await online('rob', 'high', xml('priority', {}, '5'));
      const negative = await online('rob', 'negative', xml('priority', {}, '-1'));
      const silent = await login('rob', 'silent'); // bound, no presence
      const zero = await online('rob', 'zero');
      const sam = await online('sam', 's');
      await sam.send(xml('message', { to: 'rob@localhost', type: 'chat' }, xml('body', {}, 'bare')));
      await high.expect(is.body('bare'));
      await zero.expect(is.body('bare'));
      assert.ok(await negative.expectNone(is.body('bare')));
      assert.ok(await silent.expectNone(is.body('bare'), 50));

      // §8.5.3.1: a full JID reaches that resource, whatever its priority or presence.
      for (const c of [negative, silent]) {
        await sam.send(xml('message', { to: c.jid, type: 'chat' }, xml('body', {}, `to ${c.jid}`)));
        const got = await c.expect(is.body(`to ${c.jid}`));
        assert.equal(got.attrs.from, 'sam@localhost/s');
      }
      // §8.5.3.2.1: a chat to a resource that is not there is treated as to the bare JID.
      await sam.send(xml('message', { to: 'rob@localhost/gone', type: 'chat' }, xml('body', {}, 'lost')));
      await high.expect(is.body('lost'));
      await zero.expect(is.body('lost'));
      assert.ok(await negative.expectNone(is.body('lost')));
      // ...a headline to it is dropped, without an error.
      await sam.send(
        xml('message', { to: 'rob@localhost/gone', type: 'headline', id: 'h1' }, xml('body', {}, 'news')),
      );
      assert.ok(await high.expectNone(is.body('news')));
      assert.ok(await sam.expectNone((el) => el.attrs.id === 'h1', 50));
      for (const c of [high, negative, silent, zero, sam]) await c.close();
    });

    it('with only negative-priority resources, a chat is kept offline (§8.5.2.1.1)', async () => {
      const negative = await online('tia', 'neg', xml('priority', {}, '-5'));
      const uma = await online('uma', 'u');
      await uma.send(xml('message', { to: 'tia@localhost', type: 'chat' }, xml('body', {}, 'later')));
      assert.ok(await negative.expectNone(is.body('later')));
      assert.equal(await core().offline.count(id('tia')), 1);
      await negative.close();
      const back = await online('tia', 'pos');
      const kept = await back.expect(is.body('later'));
      assert.ok(kept.getChild('delay', NS.delay));
      await back.close();
      await uma.close();
    });

    it('keeps offline only chat and normal messages with a body; drops headlines', async () => {
      const vic = await online('vic', 'v');
      const before = await core().offline.count(id('wes'));
      const send = (attrs: Record<string, string>, ...children: XmlElement[]) =>
        vic.send(xml('message', { to: 'wes@localhost', ...attrs }, ...children));
      await send({ type: 'chat', id: 'o1' }, xml('body', {}, 'one'));
      await send({ type: 'normal', id: 'o2' }, xml('subject', {}, 'Re'), xml('body', {}, 'two'));
      await send({ id: 'o3' }, xml('body', {}, 'three')); // no type: normal (RFC 6121 §5.2.2)
      await send({ type: 'chat', id: 'o4' }, xml('composing', { xmlns: NS.chatStates }));
      await send({ type: 'headline', id: 'o5' }, xml('body', {}, 'news'));
      await send({ type: 'groupchat', id: 'o6' }, xml('body', {}, 'room'));
      const groupchat = await vic.expect((el) => el.attrs.id === 'o6');
      assert.equal(groupchat.attrs.type, 'error');
      assert.equal(errorCondition(groupchat), 'service-unavailable');
      await settle();
      assert.equal((await core().offline.count(id('wes'))) - before, 3);
      for (const n of ['o1', 'o2', 'o3', 'o4', 'o5']) {
        assert.ok(await vic.expectNone((el) => el.attrs.id === n, 20), `no error for ${n}`);
      }

      const wes = await online('wes', 'w');
      const bodies: string[] = [];
      for (let i = 0; i < 3; i++) {
        const m = await wes.expect(
          (el) => el.name === 'message' && el.getChild('delay', NS.delay) !== undefined,
        );
        bodies.push(m.getChildText('body') ?? '');
      }
      assert.deepEqual(bodies, ['one', 'two', 'three']);
      assert.ok(await wes.expectNone(is.message(), 200), 'nothing else kept');
      await wes.close();
      await vic.close();
    });

    it('a blocked sender gets service-unavailable and nothing is delivered or kept', async () => {
      const xan = await online('xan', 'x');
      const yul = await online('yul', 'y');
      await core().relationships.block(id('xan'), 'yul@localhost');
      const before = await core().offline.count(id('xan'));
      await yul.send(
        xml('message', { to: 'xan@localhost', type: 'chat', id: 'b1' }, xml('body', {}, 'let me in')),
      );
      const bounced = await yul.expect((el) => el.attrs.id === 'b1');
      assert.equal(bounced.attrs.type, 'error');
      assert.equal(bounced.attrs.from, 'xan@localhost');
      assert.equal(errorCondition(bounced), 'service-unavailable');
      await yul.send(xml('message', { to: xan.jid, type: 'chat', id: 'b2' }, xml('body', {}, 'full jid')));
      assert.equal(errorCondition(await yul.expect((el) => el.attrs.id === 'b2')), 'service-unavailable');
      assert.ok(await xan.expectNone(is.message()));
      assert.equal(await core().offline.count(id('xan')), before);
      await core().relationships.unblock(id('xan'), id('yul'));
      await xan.close();
      await yul.close();
    });

    it('a message to the server itself: service-unavailable for chat and normal, nothing for headline', async () => {
      const zoe = await online('zoe', 'z');
      await zoe.send(
        xml('message', { to: 'localhost', type: 'chat', id: 's1' }, xml('body', {}, 'hello server')),
      );
      const reply = await zoe.expect((el) => el.attrs.id === 's1');
      assert.equal(reply.attrs.type, 'error');
      assert.equal(reply.attrs.from, 'localhost');
      assert.equal(errorCondition(reply), 'service-unavailable');
      await zoe.send(xml('message', { to: 'localhost', id: 's2' }, xml('body', {}, 'normal')));
      assert.equal(errorCondition(await zoe.expect((el) => el.attrs.id === 's2')), 'service-unavailable');
      await zoe.send(
        xml('message', { to: 'localhost', type: 'headline', id: 's3' }, xml('body', {}, 'news')),
      );
      assert.ok(await zoe.expectNone((el) => el.attrs.id === 's3'));
      await zoe.close();
    });

    it('a headline to an offline contact is dropped, not kept', async () => {
      const zoe = await online('zoe', 'z2');
      const before = await core().offline.count(id('ann'));
      await zoe.send(
        xml('message', { to: 'ann@localhost', type: 'headline', id: 'hl' }, xml('body', {}, 'flash')),
      );
      assert.ok(await zoe.expectNone((el) => el.attrs.id === 'hl'));
      assert.equal(await core().offline.count(id('ann')), before);
      await zoe.close();
    });
  });
});
