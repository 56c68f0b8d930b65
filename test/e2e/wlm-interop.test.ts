import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { member, memberships } from '../support/abch-client.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { ml } from '../support/msnp13.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { textMessage, typingMessage } from '../transcripts/msnp-session.ts';
import {
  ab,
  addContact,
  addressBook,
  answerRing,
  deletePending,
  expectAsked,
  expectOnline,
  expectPersonalMessage,
  expectTyping,
  findMembership,
  setPersonalMessage,
  signOut,
  textOf,
  type WlmSession,
  type WlmUser,
  wlmSignIn,
  wlmStart,
} from './wlm-client.ts';
import { deleteOim, fetchOim, mailEntries, sendOim } from './wlm-web.ts';

const CHAT_STATES = 'http://jabber.org/protocol/chatstates';

/**
 * Issue 8 across protocols: a Windows Live Messenger 2009 user (MSNP18, accepting adds
 * the way Pidgin's MSNP18 plugin does) and a Gajim-like XMPP user run the scenario the
 * MSNP2–12 bridge tests run (test/xmpp/msn-bridge.test.ts, test/msnp/offline-delivery.test.ts):
 * each adds the other and is asked, presence and personal message both ways, chat with
 * typing both ways, and an offline message each way (OIM on the MSN side, XEP-0203 on XMPP).
 */
describe('Windows Live Messenger 2009 (MSNP18) ↔ XMPP, end to end', () => {
  let server: TestServer;
  const wes: WlmUser = { handle: 'wes@localhost', password: 'wes-secret-pw', name: 'Wes Anderson' };
  let w: WlmSession;
  let xia: TestXmppClient;
  const open: Array<{ close(): Promise<void> }> = [];
  const isFromWes = (el: ReturnType<typeof xml>) => el.attrs.from?.split('/')[0] === wes.handle;

  before(async () => {
    server = await startTestServer();
    await server.server.core.accounts.create({
      privacy: 'allow-all',
      handle: wes.handle,
      password: wes.password,
      displayName: wes.name,
    });
    await server.server.core.accounts.create({
      privacy: 'allow-all',
      handle: 'xia@localhost',
      password: 'xia-pw',
      displayName: 'Xia',
    });
    w = await wlmSignIn(server, 18, wes);
    open.push(w.ns);
    await wlmStart(w, server);
    xia = await connectXmpp(server, { username: 'xia', password: 'xia-pw', resource: 'gajim' });
    await xia.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    await xia.xmpp.send(xml('presence'));
  });
  after(async () => {
    for (const c of open) await c.close().catch(() => {});
    await xia?.stop();
    await server.stop();
  });

  it('Xia adds Wes and he is asked; he accepts as Pidgin does and adds her back', async () => {
    await xia.xmpp.send(xml('presence', { to: wes.handle, type: 'subscribe' }));
    await expectAsked(w, 'xia@localhost');
    const pending = (await findMembership(w, server, 'MessengerPendingList')).roles.Pending ?? [];
    const entry = pending.find((m) => m.handle === 'xia@localhost');
    assert.ok(entry, `Xia is pending: ${JSON.stringify(pending)}`);

    // COMPAT: Pidgin (msn/userlist.c msn_accept_add_cb, msn/contact.c) accepts with ADL AL,
    // DeleteMember Pending by MembershipId, then AddMember Reverse; no AddMember Allow.
    const trid = String(w.ns.trid());
    w.ns.sendPayload('ADL', [trid], ml(['xia@localhost'], 2));
    assert.deepEqual((await w.ns.expect('ADL')).args, [trid, 'OK']);
    const del = await deletePending(w, server, entry.membershipId);
    assert.equal(del.status, 200, del.raw);
    const reverse = await ab(
      w,
      server,
      'SharingService.asmx',
      'AddMember',
      memberships('Reverse', member('xia@localhost')),
      'ContactMsgrAPI',
    );
    assert.equal(reverse.status, 200, reverse.raw);
    // Xia's request is answered: subscribed, then Wes's presence.
    await xia.waitFor((el) => el.is('presence') && el.attrs.type === 'subscribed' && isFromWes(el));
    await xia.waitFor((el) => el.is('presence') && el.attrs.type === undefined && isFromWes(el));

    // Wes adds her back as WLM does; her open privacy lets him see her at once.
    await addContact(w, server, 'xia@localhost');
    assert.deepEqual(await expectOnline(w, 'xia@localhost'), { status: 'NLN', name: 'Xia' });
    const roster = await xia.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    const item = roster
      .getChild('query')
      ?.getChildren('item')
      .find((i) => i.attrs.jid === wes.handle);
    assert.equal(item?.attrs.subscription, 'both', String(roster));
    const lists = await findMembership(w, server);
    assert.deepEqual(
      [lists.names('Allow'), lists.names('Pending'), lists.names('Reverse')],
      [['xia@localhost'], [], ['xia@localhost']],
    );
    assert.deepEqual(
      (await addressBook(w, server)).contacts.map((c) => [c.handle, c.name]),
      [['xia@localhost', 'Xia']],
    );
  });

  it('presence and personal messages both ways', async () => {
    await setPersonalMessage(w, 'shooting a film');
    const status = await xia.waitFor(
      (el) => el.is('presence') && isFromWes(el) && el.getChildText('status') === 'shooting a film',
    );
    assert.equal(status.getChild('show'), undefined, 'online: no <show/>');
    await xia.xmpp.send(xml('presence', {}, xml('show', {}, 'away'), xml('status', {}, 'on a walk')));
    assert.equal((await expectOnline(w, 'xia@localhost', 'AWY')).name, 'Xia');
    assert.equal((await expectPersonalMessage(w, 'xia@localhost')).psm, 'on a walk');
    await xia.xmpp.send(xml('presence'));
    await expectOnline(w, 'xia@localhost', 'NLN');
  });

  it('they chat with typing both ways', async () => {
    await xia.xmpp.send(
      xml(
        'message',
        { to: wes.handle, type: 'chat' },
        xml('body', {}, 'Hello Wes ☺'),
        xml('active', { xmlns: CHAT_STATES }),
      ),
    );
    const { sb, roster } = await answerRing(w, 'xia@localhost');
    open.push(sb);
    assert.deepEqual(roster, ['xia@localhost']);
    const first = await sb.expect('MSG');
    assert.deepEqual([first.args[0], decodeURIComponent(first.args[1] ?? '')], ['xia@localhost', 'Xia']);
    assert.equal(textOf(first), 'Hello Wes ☺');

    sb.sendPayload('MSG', [sb.trid(), 'U'], typingMessage(wes.handle));
    const composing = await xia.waitFor(
      (el) => el.is('message') && el.getChild('composing', CHAT_STATES) !== undefined,
    );
    assert.ok(isFromWes(composing));
    const trid = sb.trid();
    sb.sendPayload('MSG', [trid, 'A'], textMessage('Hi Xia, from WLM 2009'));
    assert.deepEqual((await sb.expect('ACK')).args, [String(trid)]);
    const reply = await xia.waitFor(
      (el) => el.is('message') && el.getChildText('body') === 'Hi Xia, from WLM 2009',
    );
    assert.ok(isFromWes(reply));
    await xia.xmpp.send(
      xml('message', { to: wes.handle, type: 'chat' }, xml('composing', { xmlns: CHAT_STATES })),
    );
    assert.equal(await expectTyping(sb), 'xia@localhost');
    await sb.close();
  });

  it('an offline message each way: XMPP → OIM at sign-in, OIM → XMPP with its time', async () => {
    await signOut(w);
    await xia.waitFor((el) => el.is('presence') && el.attrs.type === 'unavailable' && isFromWes(el));
    await xia.xmpp.send(
      xml('message', { to: wes.handle, type: 'chat' }, xml('body', {}, 'Call me when you land ✈')),
    );
    const wesId = (await server.server.core.accounts.get(wes.handle)).id;
    for (let i = 0; i < 100 && (await server.server.core.offline.count(wesId)) === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    w = await wlmSignIn(server, 18, wes);
    open.push(w.ns);
    const listed = mailEntries(w.mailData);
    assert.deepEqual(
      listed.map((m) => m.E),
      ['xia@localhost'],
      w.mailData,
    );
    const got = await fetchOim(w, server, listed[0]?.I ?? '');
    assert.equal(got.text, 'Call me when you land ✈');
    assert.equal(got.from, 'Xia <xia@localhost>');
    assert.deepEqual(await deleteOim(w, server, listed[0]?.I ?? ''), []);
    await wlmStart(w, server);
    const rings = (w.ns as MsnpTestClient).drain().filter((c) => c.name === 'RNG');
    assert.deepEqual(rings, [], 'the OIM is not delivered a second time by switchboard');

    await xia.stop();
    await expectWhereFln(w);
    const before = new Date(Date.now() - 1000).toISOString();
    await sendOim(w, server, 'xia@localhost', 'Landed. Talk tomorrow?');
    xia = await connectXmpp(server, { username: 'xia', password: 'xia-pw', resource: 'gajim' });
    await xia.xmpp.send(xml('presence'));
    const msg = await xia.waitFor(
      (el) => el.is('message') && el.getChildText('body') === 'Landed. Talk tomorrow?',
    );
    assert.equal(msg.attrs.from?.split('/')[0], wes.handle);
    const stamp = msg.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp as string | undefined;
    assert.ok(stamp && stamp >= before && Date.parse(stamp) <= Date.now(), String(msg));
  });

  // The other order, with the default privacy (only the allow list sees an account): the
  // WLM 2009 user adds the XMPP user first. The XMPP client is asked, with the XEP-0172
  // nick, and sees nothing until it approves; WLM's add put the XMPP user on its allow
  // list, so her subscription back is approved at once.
  it('Vic adds Yan; she is asked with his nick, approves, adds him back, and presence flows both ways', async () => {
    const vic: WlmUser = { handle: 'vic@localhost', password: 'vic-secret-pw', name: 'Vic Vega' };
    await server.server.core.accounts.create({
      handle: vic.handle,
      password: vic.password,
      displayName: vic.name,
    });
    await server.server.core.accounts.create({
      handle: 'yan@localhost',
      password: 'yan-pw',
      displayName: 'Yan',
    });
    const fromVic = (el: ReturnType<typeof xml>) => el.attrs.from?.split('/')[0] === vic.handle;
    const v = await wlmSignIn(server, 18, vic);
    open.push(v.ns);
    await wlmStart(v, server);
    const y = await connectXmpp(server, { username: 'yan', password: 'yan-pw', resource: 'gajim' });
    open.push({ close: () => y.stop() });
    await y.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    await y.xmpp.send(xml('presence'));

    await addContact(v, server, 'yan@localhost');
    const request = await y.waitFor(
      (el) => el.is('presence') && el.attrs.type === 'subscribe' && fromVic(el),
    );
    // XEP-0172 §4.2: the request carries the adder's nick.
    assert.equal(request.getChildText('nick', 'http://jabber.org/protocol/nick'), 'Vic Vega');
    // Unanswered, Vic does not see her.
    assert.equal(
      await server.server.core.relationships.canSee(
        (await server.server.core.accounts.get(vic.handle)).id,
        (await server.server.core.accounts.get('yan@localhost')).id,
      ),
      false,
    );

    // Gajim's "authorize and add back".
    await y.xmpp.send(xml('presence', { to: vic.handle, type: 'subscribed' }));
    await y.xmpp.send(xml('presence', { to: vic.handle, type: 'subscribe' }));
    assert.deepEqual(await expectOnline(v, 'yan@localhost'), { status: 'NLN', name: 'Yan' });
    await y.waitFor((el) => el.is('presence') && el.attrs.type === 'subscribed' && fromVic(el));
    await y.waitFor((el) => el.is('presence') && el.attrs.type === undefined && fromVic(el));
    const roster = await y.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    const item = roster
      .getChild('query')
      ?.getChildren('item')
      .find((i) => i.attrs.jid === vic.handle);
    assert.deepEqual([item?.attrs.subscription, item?.attrs.ask], ['both', undefined], String(roster));
    const lists = await findMembership(v, server);
    assert.deepEqual(
      [lists.names('Allow'), lists.names('Pending'), lists.names('Reverse')],
      [['yan@localhost'], [], ['yan@localhost']],
    );

    await setPersonalMessage(v, 'at the diner');
    await y.waitFor((el) => el.is('presence') && fromVic(el) && el.getChildText('status') === 'at the diner');
    await y.xmpp.send(xml('presence', {}, xml('show', {}, 'dnd'), xml('status', {}, 'driving')));
    assert.equal((await expectOnline(v, 'yan@localhost', 'BSY')).name, 'Yan');
    assert.equal((await expectPersonalMessage(v, 'yan@localhost')).psm, 'driving');
  });
});

/** Waits for the FLN of Xia (she went offline). */
async function expectWhereFln(w: WlmSession): Promise<void> {
  for (;;) {
    const fln = await w.ns.expect('FLN');
    if (fln.args[0] === '1:xia@localhost') return;
  }
}
