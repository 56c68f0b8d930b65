/**
 * Issue 9 part 2, "presence as sent": what an XMPP client puts in its presence reaches
 * its contacts and its own resources (RFC 6121 §4.2.2, §4.4.2; XEP-0115, XEP-0153), one
 * change is one presence (an MSN `CHG` + `UUX`, a vCard PHOTO), and typing reaches an
 * MSN user before the first message.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { challengeResponse } from '../../src/msnp/challenge.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn, productIdFor } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { sync } from '../transcripts/msnp-session.ts';

type Element = ReturnType<typeof xml>;

const CAPS = 'http://jabber.org/protocol/caps';
const NICK = 'http://jabber.org/protocol/nick';
const IDLE = 'urn:xmpp:idle:1';
const VCARD_UPDATE = 'vcard-temp:x:update';
const CHAT_STATES = 'http://jabber.org/protocol/chatstates';
/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isPresenceFrom = (from: string) => (el: Element) => el.is('presence') && el.attrs.from === from;

/** The presences `client` received from `from` so far, taken out of its inbox. */
function takePresences(client: TestXmppClient, from: string): Element[] {
  const taken = client.stanzas.filter(isPresenceFrom(from));
  for (const el of taken) client.stanzas.splice(client.stanzas.indexOf(el), 1);
  return taken;
}

/** A stanza handled after everything the client sent before (a session handles stanzas in order). */
async function settled(client: TestXmppClient): Promise<void> {
  await client.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
}

describe('presence as sent (issue 9 part 2)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const names = ['alice', 'bob', 'carol', 'dave', 'mia', 'xan'];
    const ids: Record<string, string> = {};
    for (const name of names) {
      const account = await core.accounts.create({
        handle: `${name}@localhost`,
        password: `${name}-secret`,
        displayName: name[0]?.toUpperCase() + name.slice(1),
      });
      ids[name] = account.id;
    }
    // Mutual contacts, each approved by the other (whatever the default privacy).
    const pairs: Array<[string, string]> = [
      ['alice', 'bob'],
      ['carol', 'dave'],
      ['mia', 'xan'],
    ];
    for (const [a, b] of pairs) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as Array<[string, string]>) {
        await core.relationships.addForward(ids[x] as string, `${y}@localhost`);
        await core.relationships.allow(ids[x] as string, `${y}@localhost`);
      }
    }
  });
  after(async () => {
    await server.stop();
  });

  it('caps, priority, xml:lang and extensions reach a contact and the user’s other resource', async () => {
    const bob = await connectXmpp(server, { username: 'bob', password: 'bob-secret', resource: 'pc' });
    const phone = await connectXmpp(server, {
      username: 'alice',
      password: 'alice-secret',
      resource: 'phone',
    });
    const desk = await connectXmpp(server, { username: 'alice', password: 'alice-secret', resource: 'desk' });
    try {
      await bob.xmpp.send(xml('presence'));
      // The contact sees the account's most available resource: the phone is away.
      await phone.xmpp.send(xml('presence', {}, xml('show', {}, 'away')));
      await settled(phone);
      await desk.xmpp.send(
        xml(
          'presence',
          { 'xml:lang': 'fr' },
          xml('status', {}, 'au café'),
          xml('priority', {}, '5'),
          xml('c', {
            xmlns: CAPS,
            hash: 'sha-1',
            node: 'https://gajim.org',
            ver: 'q07IKJEyjvHSyhy//CH0CxmKi8w=',
          }),
          xml('nick', { xmlns: NICK }, 'Ali'),
          xml('idle', { xmlns: IDLE, since: '2024-01-01T10:00:00Z' }),
          // The client's own (stale) photo hash: the server's replaces it.
          xml('x', { xmlns: VCARD_UPDATE }, xml('photo', {}, 'ffffffffffffffffffffffffffffffffffffffff')),
        ),
      );
      const check = (el: Element, who: string) => {
        assert.equal(el.attrs.type, undefined, who);
        assert.equal(el.attrs['xml:lang'], 'fr', `${who}: xml:lang`);
        assert.equal(el.getChildText('status'), 'au café', who);
        assert.equal(el.getChildText('priority'), '5', `${who}: priority`);
        const c = el.getChild('c', CAPS);
        assert.equal(c?.attrs.ver, 'q07IKJEyjvHSyhy//CH0CxmKi8w=', `${who}: caps`);
        assert.equal(c?.attrs.node, 'https://gajim.org', `${who}: caps node`);
        assert.equal(el.getChildText('nick', NICK), 'Ali', `${who}: nick`);
        assert.equal(el.getChild('idle', IDLE)?.attrs.since, '2024-01-01T10:00:00Z', `${who}: idle`);
        const updates = el.getChildren('x').filter((x: Element) => x.attrs.xmlns === VCARD_UPDATE);
        assert.equal(updates.length, 1, `${who}: one vcard-temp:x:update`);
        // No picture stored: the server says so (XEP-0153 §4.1, empty photo).
        assert.equal(updates[0]?.getChildText('photo'), '', `${who}: the server's photo hash`);
      };
      check(await bob.waitFor(isPresenceFrom('alice@localhost/desk')), 'contact');
      check(await phone.waitFor(isPresenceFrom('alice@localhost/desk')), 'other resource');
      // A resource that comes online later gets it too (RFC 6121 §4.2.2).
      const tablet = await connectXmpp(server, {
        username: 'alice',
        password: 'alice-secret',
        resource: 'tablet',
      });
      try {
        await tablet.xmpp.send(xml('presence'));
        check(await tablet.waitFor(isPresenceFrom('alice@localhost/desk')), 'new resource');
        assert.ok(await tablet.waitFor(isPresenceFrom('alice@localhost/phone')));
      } finally {
        await tablet.stop();
      }
    } finally {
      await Promise.all([bob.stop(), phone.stop(), desk.stop()]);
    }
  });

  it('the sender’s own resource gets its initial and broadcast presence back', async () => {
    const carol = await connectXmpp(server, { username: 'carol', password: 'carol-secret', resource: 'one' });
    try {
      await carol.xmpp.send(xml('presence', {}, xml('status', {}, 'hello')));
      const initial = await carol.waitFor(isPresenceFrom('carol@localhost/one'));
      assert.equal(initial.getChildText('status'), 'hello');
      await carol.xmpp.send(xml('presence', {}, xml('show', {}, 'dnd')));
      const changed = await carol.waitFor(isPresenceFrom('carol@localhost/one'));
      assert.equal(changed.getChildText('show'), 'dnd');
    } finally {
      await carol.stop();
    }
  });

  it('MSNP12 sign-in (CHG + UUX) and CHG BSY + UUX each reach XMPP as one presence with the PSM', async () => {
    const xan = await connectXmpp(server, { username: 'xan', password: 'xan-secret', resource: 'gajim' });
    const mia = await msnpSignIn(server, { version: 12, handle: 'mia@localhost', password: 'mia-secret' });
    try {
      await xan.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
      await xan.xmpp.send(xml('presence'));
      await settled(xan);
      await sync(12, mia);
      // MSN Messenger 7.5 signs in with CHG then UUX, back to back.
      mia.send(`CHG ${mia.trid()} NLN 0`);
      mia.sendPayload('UUX', [mia.trid()], psm('Back from lunch'));
      await mia.expect('CHG');
      const chl = await mia.expect('CHL');
      const product = productIdFor(12);
      mia.sendPayload('QRY', [mia.trid(), product], challengeResponse(chl.args[1] ?? '', product) ?? '');
      await mia.expect('QRY');
      await mia.expect('UUX');
      const online = await xan.waitFor(isPresenceFrom('mia@localhost/msn'));
      assert.equal(online.getChildText('status'), 'Back from lunch');
      await sleep(600);
      assert.deepEqual(takePresences(xan, 'mia@localhost/msn'), [], 'one presence for the sign-in');

      mia.send(`CHG ${mia.trid()} BSY 0`);
      mia.sendPayload('UUX', [mia.trid()], psm('In a meeting'));
      await mia.expect('CHG');
      await mia.expect('UUX');
      const busy = await xan.waitFor(isPresenceFrom('mia@localhost/msn'));
      assert.equal(busy.getChildText('show'), 'dnd');
      assert.equal(busy.getChildText('status'), 'In a meeting');
      await sleep(600);
      assert.deepEqual(takePresences(xan, 'mia@localhost/msn'), [], 'one presence for the change');

      // A CHG alone (no UUX) still arrives, and keeps the PSM the endpoint had.
      await msnpSetStatus(mia, 12, 'AWY');
      const away = await xan.waitFor(isPresenceFrom('mia@localhost/msn'));
      assert.equal(away.getChildText('show'), 'away');
      assert.equal(away.getChildText('status'), 'In a meeting');
    } finally {
      await mia.close();
      await xan.stop();
    }
  });

  it('a vCard PHOTO set reaches contacts as one presence with the new hash', async () => {
    const bob = await connectXmpp(server, { username: 'bob', password: 'bob-secret', resource: 'pc' });
    const alice = await connectXmpp(server, {
      username: 'alice',
      password: 'alice-secret',
      resource: 'gajim',
    });
    try {
      await bob.xmpp.send(xml('presence'));
      await settled(bob);
      await alice.xmpp.send(xml('presence', {}, xml('x', { xmlns: VCARD_UPDATE })));
      await bob.waitFor(isPresenceFrom('alice@localhost/gajim'));
      await sleep(300);
      takePresences(bob, 'alice@localhost/gajim');
      const sha1 = createHash('sha1').update(PNG).digest('hex');
      // As Gajim sets an avatar: the whole vCard (FN included), then presence with the new hash (XEP-0153 §3.2).
      await alice.iq(
        xml(
          'iq',
          { type: 'set' },
          xml(
            'vCard',
            { xmlns: 'vcard-temp' },
            xml('FN', {}, 'Alice Liddell'),
            xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, PNG.toString('base64'))),
          ),
        ),
      );
      await alice.xmpp.send(xml('presence', {}, xml('x', { xmlns: VCARD_UPDATE }, xml('photo', {}, sha1))));
      await settled(alice);
      await sleep(600);
      const seen = takePresences(bob, 'alice@localhost/gajim');
      assert.equal(seen.length, 1, `one presence, got:\n${seen.map(String).join('\n')}`);
      assert.equal(seen[0]?.getChild('x', VCARD_UPDATE)?.getChildText('photo'), sha1);
    } finally {
      await Promise.all([bob.stop(), alice.stop()]);
    }
  });

  it('a composing sent before any message rings the MSN user and shows them the typing', async () => {
    const xan = await connectXmpp(server, { username: 'xan', password: 'xan-secret', resource: 'gajim' });
    const mia = await msnpSignIn(server, { version: 12, handle: 'mia@localhost', password: 'mia-secret' });
    try {
      await sync(12, mia);
      await msnpSetStatus(mia, 12, 'NLN', { first: true });
      await xan.xmpp.send(xml('presence'));
      await xan.waitFor(isPresenceFrom('mia@localhost/msn'));
      await xan.xmpp.send(
        xml('message', { to: 'mia@localhost', type: 'chat' }, xml('composing', { xmlns: CHAT_STATES })),
      );
      const rng = await mia.expect('RNG');
      assert.equal(rng.args[4], 'xan@localhost');
      const [host, port] = (rng.args[1] ?? '').split(':');
      const sb = await MsnpTestClient.connect(Number(port), host);
      try {
        sb.send(`ANS ${sb.trid()} mia@localhost ${rng.args[3]} ${rng.args[0]}`);
        await sb.expect('ANS');
        const typing = await sb.expect('MSG');
        assert.match(
          typing.payload?.toString() ?? '',
          /Content-Type: text\/x-msmsgscontrol\r\nTypingUser: xan@localhost/,
        );
        // Then the message itself, in the same switchboard.
        await xan.xmpp.send(
          xml(
            'message',
            { to: 'mia@localhost', type: 'chat' },
            xml('body', {}, 'Hi Mia'),
            xml('active', { xmlns: CHAT_STATES }),
          ),
        );
        assert.match((await sb.expect('MSG')).payload?.toString() ?? '', /Hi Mia$/);
      } finally {
        await sb.close();
      }
    } finally {
      await mia.close();
      await xan.stop();
    }
  });
});

function psm(text: string): string {
  return `<Data><PSM>${text}</PSM><CurrentMedia></CurrentMedia></Data>`;
}
