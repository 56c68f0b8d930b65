import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ab,
  acceptAdd,
  addContact,
  deletePending,
  expectAsked,
  expectOnline,
  findMembership,
  presenceHandle,
  type WlmSession,
  wlmSignIn,
  wlmStart,
} from '../e2e/wlm-client.ts';
import { FIND_PAGED, member, memberships, type Xml } from '../support/abch-client.ts';
import { expectWhere, ml } from '../support/msnp13.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';

type Element = TestXmppClient['stanzas'][number];
const ROSTER = 'jabber:iq:roster';
const NICK = 'http://jabber.org/protocol/nick';
const bare = (el: Element) => el.attrs.from?.split('/')[0];
const isSub = (type: string, from: string) => (el: Element) =>
  el.is('presence') && el.attrs.type === type && bare(el) === from;
const isAvailable = (from: string) => (el: Element) =>
  el.is('presence') && el.attrs.type === undefined && bare(el) === from;
const isPush = (jid: string, subscription?: string) => (el: Element) => {
  const item = el.getChild('query', ROSTER)?.getChild('item');
  return (
    el.is('iq') &&
    el.attrs.type === 'set' &&
    item?.attrs.jid === jid &&
    (subscription === undefined || item.attrs.subscription === subscription)
  );
};

/**
 * RFC 6121 §3.1–§3.4 between an XMPP client and a Windows Live Messenger 2009 (MSNP18)
 * client that keeps its lists the way WLM and Pidgin's MSNP18 plugin do: the address
 * book (ABContactAdd, ABContactDelete), the sharing service's memberships (FindMembership,
 * AddMember / DeleteMember Allow, Block, Pending) and ADL/RML. Accounts keep the default
 * privacy (only the allow list sees them, MSN `BLP BL`): whoever is added is asked.
 */
describe('subscriptions (RFC 6121 §3) across XMPP and MSNP18', () => {
  let server: TestServer;
  const open: Array<{ close?: () => Promise<void>; stop?: () => Promise<void> }> = [];
  let n = 0;
  const account = async (display: string) => {
    n += 1;
    const name = `p${n}`;
    await server.server.core.accounts.create({
      handle: `${name}@localhost`,
      password: `${name}-secret`,
      displayName: display,
    });
    return `${name}@localhost`;
  };
  /** Both sides online: a WLM 2009 sign-in (SSO, address book, ADL) and an XMPP client. */
  const pair = async () => {
    const [m, x] = [await account('Wlm Person'), await account('Xmpp Person')];
    const w = await wlm(m);
    const c = await xmppOnline(x);
    return { m, x, w, c };
  };
  const wlm = async (handle: string) => {
    const name = handle.split('@')[0] ?? '';
    const s = await wlmSignIn(server, 18, { handle, password: `${name}-secret`, name: 'Wlm Person' });
    open.push(s.ns);
    await wlmStart(s, server);
    return s;
  };
  const xmppOnline = async (handle: string, resource = 'desk') => {
    const name = handle.split('@')[0] ?? '';
    const c = await connectXmpp(server, { username: name, password: `${name}-secret`, resource });
    open.push(c);
    const log: Element[] = [];
    c.xmpp.on('stanza', (el: Element) => log.push(el));
    logs.set(c, log);
    await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
    await c.xmpp.send(xml('presence'));
    return c;
  };
  const itemOf = async (c: TestXmppClient, jid: string) => {
    const res = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
    const items = res.getChild('query', ROSTER)?.getChildren('item') ?? [];
    const item = items.find((i) => i.attrs.jid === jid);
    return item && { subscription: item.attrs.subscription, ask: item.attrs.ask };
  };
  const send = (c: TestXmppClient, type: string, to: string) => c.xmpp.send(xml('presence', { type, to }));
  const settle = async (c: TestXmppClient) => {
    await c.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    await new Promise((r) => setTimeout(r, 200));
  };
  /** Every stanza an XMPP client received, in order (waitFor takes from its own list). */
  const logs = new Map<TestXmppClient, Element[]>();
  const seen = (c: TestXmppClient, match: (el: Element) => boolean) => logs.get(c)?.some(match) ?? false;
  /** Nothing in the MSN inbox says `handle` is online. */
  const noNln = (s: WlmSession, handle: string) => {
    const who = presenceHandle(18, handle)[0];
    // An offline contact's UBX carries empty data: only a status or a personal message tells.
    const tells = (c: { name: string; payload?: Buffer }) =>
      c.name === 'NLN' || /<PSM>[^<]|<EndpointData/.test(c.payload?.toString() ?? '');
    const nln = s.ns.drain().filter((c) => c.args.includes(who ?? '') && tells(c));
    assert.deepEqual(
      nln.map((c) => `${c.name} ${c.payload?.toString() ?? ''}`),
      [],
      'the MSN user does not see the XMPP user',
    );
  };
  const canSee = async (viewer: string, target: string) => {
    const accounts = server.server.core.accounts;
    return server.server.core.relationships.canSee(
      (await accounts.get(viewer)).id,
      (await accounts.get(target)).id,
    );
  };
  const adl = async (s: WlmSession, handle: string, l: number) => {
    const trid = String(s.ns.trid());
    s.ns.sendPayload('ADL', [trid], ml([handle], l));
    assert.deepEqual((await s.ns.expect('ADL')).args, [trid, 'OK']);
  };
  const sharing = async (s: WlmSession, operation: string, role: string, handle: string) => {
    const res = await ab(
      s,
      server,
      'SharingService.asmx',
      operation,
      memberships(role, member(handle)),
      'BlockUnblock',
    );
    assert.equal(res.status, 200, res.raw);
  };
  const pendingEntry = async (s: WlmSession, handle: string) =>
    ((await findMembership(s, server, 'MessengerPendingList')).roles.Pending ?? []).find(
      (e) => e.handle === handle,
    );

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const c of open) await c.close?.().catch(() => {});
    for (const c of open) await c.stop?.().catch(() => {});
    await server.stop();
  });

  describe('the XMPP user asks the MSNP18 user', () => {
    it('request: "X has added you" (ADL 0 l="8", Pending membership), asked again at each sign-in', async () => {
      const { m, x, w, c } = await pair();
      await send(c, 'subscribe', m);
      const notice = await expectAsked(w, x);
      assert.match(notice, /f="Xmpp%20Person"/, notice);
      const entry = await pendingEntry(w, x);
      assert.deepEqual([entry?.handle, entry?.name], [x, 'Xmpp Person']);
      assert.deepEqual(await itemOf(c, m), { subscription: 'none', ask: 'subscribe' });
      await settle(c);
      assert.equal(seen(c, isSub('subscribed', m)), false);
      assert.equal(seen(c, isAvailable(m)), false, 'the XMPP user does not see the MSN user');
      // Unanswered, the request is still there at the next sign-in (RFC 6121 §3.1.3).
      w.ns.send('OUT');
      await w.ns.closed();
      const again = await wlm(m);
      assert.ok(await pendingEntry(again, x), 'still pending');
    });

    it('approve as WLM 2009: AddMember Allow + DeleteMember Pending, then the add back asks the XMPP user', async () => {
      const { m, x, w, c } = await pair();
      await send(c, 'subscribe', m);
      await expectAsked(w, x);
      await acceptAdd(w, server, x);
      // §3.1.6: subscribed first, then the push showing "to", then the presence.
      await c.waitFor(isPush(m, 'to'));
      const log = logs.get(c) ?? [];
      const [approval, push] = [log.findIndex(isSub('subscribed', m)), log.findIndex(isPush(m, 'to'))];
      assert.ok(approval >= 0 && approval < push, `subscribed (${approval}) before the push (${push})`);
      await c.waitFor(isAvailable(m));
      // WLM's add back (ABContactAdd + ADL FL|AL) is a request with the XEP-0172 nick.
      const request = await c.waitFor(isSub('subscribe', m));
      assert.equal(request.getChildText('nick', NICK), 'Wlm Person');
      await send(c, 'subscribed', m);
      assert.equal((await expectOnline(w, x)).status, 'NLN');
      assert.deepEqual(await itemOf(c, m), { subscription: 'both', ask: undefined });
      const lists = await findMembership(w, server);
      assert.deepEqual([lists.names('Allow'), lists.names('Pending')], [[x], []]);
    });

    it('approve as Pidgin: ADL AL + DeleteMember Pending by MembershipId', async () => {
      const { m, x, w, c } = await pair();
      await send(c, 'subscribe', m);
      await expectAsked(w, x);
      const entry = await pendingEntry(w, x);
      assert.ok(entry);
      await adl(w, x, 2);
      assert.equal((await deletePending(w, server, entry.membershipId)).status, 200);
      await c.waitFor(isSub('subscribed', m));
      await c.waitFor(isAvailable(m));
      assert.deepEqual(await itemOf(c, m), { subscription: 'to', ask: undefined });
    });

    it('deny: DeleteMember Pending without Allow is unsubscribed; not asked again until the next request', async () => {
      const { m, x, w, c } = await pair();
      await send(c, 'subscribe', m);
      await expectAsked(w, x);
      const entry = await pendingEntry(w, x);
      assert.ok(entry);
      assert.equal((await deletePending(w, server, entry.membershipId)).status, 200);
      await c.waitFor(isSub('unsubscribed', m));
      assert.deepEqual(await itemOf(c, m), { subscription: 'none', ask: undefined });
      await settle(c);
      assert.equal(seen(c, isAvailable(m)), false);
      assert.equal(await pendingEntry(w, x), undefined, 'answered');
      const lists = await findMembership(w, server);
      assert.deepEqual([lists.names('Allow'), lists.names('Block')], [[], []]);
      // §3.1.3: a new subscribe is a new question.
      await send(c, 'subscribe', m);
      await expectAsked(w, x);
      assert.ok(await pendingEntry(w, x), 'pending again');
      assert.equal((await itemOf(c, m))?.ask, 'subscribe');
    });

    it('block: AddMember Block + DeleteMember Pending refuses and blocks (presence and messages)', async () => {
      const { m, x, w, c } = await pair();
      await send(c, 'subscribe', m);
      await expectAsked(w, x);
      const entry = await pendingEntry(w, x);
      assert.ok(entry);
      await sharing(w, 'AddMember', 'Block', x);
      assert.equal((await deletePending(w, server, entry.membershipId)).status, 200);
      await c.waitFor(isSub('unsubscribed', m));
      assert.deepEqual(await itemOf(c, m), { subscription: 'none', ask: undefined });
      const lists = await findMembership(w, server);
      assert.deepEqual([lists.names('Block'), lists.names('Pending')], [[x], []]);
      // A blocked sender's message is refused as if nobody were there (XEP-0191 / MSN BL).
      c.xmpp.send(xml('message', { to: m, type: 'chat', id: 'b1' }, xml('body', {}, 'let me in')));
      const bounce = await c.waitFor((el) => el.is('message') && el.attrs.id === 'b1');
      assert.equal(bounce.attrs.type, 'error');
      // Asking again reaches nobody.
      await send(c, 'subscribe', m);
      await settle(c);
      assert.equal(await pendingEntry(w, x), undefined);
      assert.equal(await canSee(x, m), false);
    });

    it('pre-approval: AddMember Allow before any request, the later subscribe is approved at once', async () => {
      const { m, x, w, c } = await pair();
      await sharing(w, 'AddMember', 'Allow', x);
      await send(c, 'subscribe', m);
      await c.waitFor(isSub('subscribed', m));
      await c.waitFor(isAvailable(m));
      assert.deepEqual(await itemOf(c, m), { subscription: 'to', ask: undefined });
      // WLM still hears of the add (the reverse list) but has nothing to answer.
      await expectAsked(w, x);
      assert.equal(await pendingEntry(w, x), undefined);
    });

    it('cancel: the XMPP user’s unsubscribe takes them off WLM’s reverse list (RML 0 l="8")', async () => {
      const { m, x, w, c } = await pair();
      await send(c, 'subscribe', m);
      await expectAsked(w, x);
      await acceptAdd(w, server, x, false);
      await c.waitFor(isAvailable(m));
      await send(c, 'unsubscribe', m);
      const rml = await expectWhere(w.ns, 'RML', (cmd) => cmd.args[0] === '0');
      assert.match(rml.payload?.toString() ?? '', new RegExp(`<c n="${x.split('@')[0]}"[^>]* l="8"`));
      await c.waitFor(isPush(m, 'none'));
      assert.deepEqual(await itemOf(c, m), { subscription: 'none', ask: undefined });
      assert.deepEqual((await findMembership(w, server)).names('Reverse'), []);
    });
  });

  describe('the MSNP18 user asks the XMPP user', () => {
    it('request: a WLM add is a subscribe with the XEP-0172 nick; nothing is seen before the answer', async () => {
      const { m, x, w, c } = await pair();
      await addContact(w, server, x);
      const request = await c.waitFor(isSub('subscribe', m));
      assert.equal(request.getChildText('nick', NICK), 'Wlm Person');
      await settle(c);
      noNln(w, x);
      assert.equal(await canSee(m, x), false);
      // Kept for later: a new resource gets the request at login (§3.1.3).
      const phone = await xmppOnline(x, 'phone');
      await phone.waitFor(isSub('subscribe', m));
    });

    it('approve: subscribed shows the XMPP user online in WLM; subscribing back is approved by the AL at once', async () => {
      const { m, x, w, c } = await pair();
      await addContact(w, server, x);
      await c.waitFor(isSub('subscribe', m));
      await send(c, 'subscribed', m);
      assert.deepEqual(await expectOnline(w, x), { status: 'NLN', name: 'Xmpp Person' });
      // WLM put the XMPP user on its allow list with the add: that is a pre-approval (§3.4).
      await send(c, 'subscribe', m);
      await c.waitFor(isSub('subscribed', m));
      await c.waitFor(isAvailable(m));
      assert.deepEqual(await itemOf(c, m), { subscription: 'both', ask: undefined });
    });

    it('deny: unsubscribed keeps the WLM user from ever seeing the XMPP user, also after a new sign-in', async () => {
      const { m, x, w, c } = await pair();
      await addContact(w, server, x);
      await c.waitFor(isSub('subscribe', m));
      await send(c, 'unsubscribed', m);
      await settle(c);
      noNln(w, x);
      assert.equal(await canSee(m, x), false);
      // The address book keeps the contact; the initial ADL and going online show nothing.
      w.ns.send('OUT');
      await w.ns.closed();
      const again = await wlm(m);
      await again.ns.expectNothing(300).catch(() => {});
      noNln(again, x);
      // …and the XMPP user is not asked again at the next login.
      const phone = await xmppOnline(x, 'phone');
      await settle(phone);
      assert.equal(seen(phone, isSub('subscribe', m)), false);
    });

    it('cancel: ABContactDelete + RML FL is unsubscribe; the XMPP user keeps the item with "none"', async () => {
      const { m, x, w, c } = await pair();
      await addContact(w, server, x);
      await c.waitFor(isSub('subscribe', m));
      await send(c, 'subscribed', m);
      await expectOnline(w, x);
      const book = await ab(w, server, 'abservice.asmx', 'ABFindContactsPaged', FIND_PAGED);
      const contacts: Xml[] =
        book.body.ABFindContactsPagedResponse.ABFindContactsPagedResult.Contacts.Contact;
      const id = contacts.find((k) => k.contactInfo.passportName === x)?.contactId;
      assert.ok(id, book.raw);
      const del = await ab(
        w,
        server,
        'abservice.asmx',
        'ABContactDelete',
        `<abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactId>${id}</contactId></Contact></contacts>`,
        'Timer',
      );
      assert.equal(del.status, 200, del.raw);
      const trid = String(w.ns.trid());
      w.ns.sendPayload('RML', [trid], ml([x], 1));
      assert.deepEqual((await w.ns.expect('RML')).args, [trid, 'OK']);
      await c.waitFor(isSub('unsubscribe', m));
      await c.waitFor(isPush(m, 'none'));
      assert.equal((await itemOf(c, m))?.subscription, 'none');
    });

    it('revoke: the XMPP user’s unsubscribed after approval takes them offline in WLM (FLN)', async () => {
      const { m, x, w, c } = await pair();
      await addContact(w, server, x);
      await c.waitFor(isSub('subscribe', m));
      await send(c, 'subscribed', m);
      await expectOnline(w, x);
      w.ns.drain(); // the FLN sent while the add was unanswered
      await send(c, 'unsubscribed', m);
      const who = presenceHandle(18, x)[0];
      await expectWhere(w.ns, 'FLN', (cmd) => cmd.args[0] === who);
      assert.equal(await canSee(m, x), false);
    });

    it('pre-approval (§3.4): subscribed before the WLM add shows the XMPP user at once, unasked', async () => {
      const { m, x, w, c } = await pair();
      await send(c, 'subscribed', m);
      const pre = await c.waitFor(isPush(m));
      assert.equal(pre.getChild('query', ROSTER)?.getChild('item')?.attrs.approved, 'true');
      await addContact(w, server, x);
      assert.deepEqual(await expectOnline(w, x), { status: 'NLN', name: 'Xmpp Person' });
      await settle(c);
      assert.equal(seen(c, isSub('subscribe', m)), false, 'nothing to answer');
      assert.equal((await itemOf(c, m))?.subscription, 'from');
    });
  });
});
