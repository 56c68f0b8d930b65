import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { addContact, sync } from '../transcripts/msnp-session.ts';

const ROSTER = 'jabber:iq:roster';

describe('XMPP with @xmpp/client', () => {
  let server: TestServer;
  const clients: TestXmppClient[] = [];
  const connect = async (
    ...args: Parameters<typeof connectXmpp> extends [unknown, infer O] ? [O] : never
  ) => {
    const c = await connectXmpp(server, args[0]);
    clients.push(c);
    return c;
  };
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    for (const [name, display] of [
      ['alice', 'Alice'],
      ['bob', 'Bob'],
      ['carol', 'Carol'],
      ['dave', 'Dave'],
      ['erin', 'Erin'],
    ]) {
      await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-secret`,
        displayName: display,
      });
    }
  });
  after(async () => {
    for (const c of clients) await c.stop();
    await server.stop();
  });

  it('signs in over STARTTLS with SCRAM-SHA-1 and PLAIN, and over direct TLS, binding the resource asked for', async () => {
    const scram = await connect({
      username: 'alice',
      password: 'alice-secret',
      resource: 'laptop',
      mechanism: 'SCRAM-SHA-1',
    });
    assert.equal(scram.jid, 'alice@localhost/laptop');
    const plain = await connect({
      username: 'bob',
      password: 'bob-secret',
      resource: 'desk',
      mechanism: 'PLAIN',
    });
    assert.equal(plain.jid, 'bob@localhost/desk');
    const direct = await connect({ username: 'carol', password: 'carol-secret', transport: 'direct' });
    assert.match(direct.jid, /^carol@localhost\/.+/);
    await direct.stop();
  });

  it('refuses a wrong password', async () => {
    await assert.rejects(
      connectXmpp(server, { username: 'alice', password: 'nope', mechanism: 'SCRAM-SHA-1' }),
    );
    await assert.rejects(connectXmpp(server, { username: 'nobody', password: 'nope', mechanism: 'PLAIN' }));
  });

  it('subscribes both ways with approval, sees presence, and keeps the roster', async () => {
    const [alice, bob] = clients as [TestXmppClient, TestXmppClient];
    const core = server.server.core;
    // Bob only lets people he approves see him (MSN "BL" privacy): Alice's request waits for him.
    await core.relationships.setPrivacy((await core.accounts.get('bob@localhost')).id, 'allow-list');
    // Real clients fetch the roster first; roster pushes go to those that did (RFC 6121 §2.1.6).
    for (const c of [alice, bob]) await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
    await alice.xmpp.send(xml('presence'));
    await bob.xmpp.send(xml('presence', {}, xml('show', {}, 'dnd'), xml('status', {}, 'Working')));

    await alice.iq(
      xml(
        'iq',
        { type: 'set' },
        xml(
          'query',
          { xmlns: ROSTER },
          xml('item', { jid: 'bob@localhost', name: 'Bobby' }, xml('group', {}, 'Friends')),
        ),
      ),
    );
    await alice.xmpp.send(xml('presence', { to: 'bob@localhost', type: 'subscribe' }));
    const pending = await alice.waitFor(
      (el) => el.is('iq') && el.getChild('query', ROSTER)?.getChild('item')?.attrs.ask === 'subscribe',
    );
    assert.equal(pending.getChild('query', ROSTER)?.getChild('item')?.attrs.name, 'Bobby');

    const request = await bob.waitFor((el) => el.is('presence') && el.attrs.type === 'subscribe');
    assert.equal(request.attrs.from, 'alice@localhost');
    await bob.xmpp.send(xml('presence', { to: 'alice@localhost', type: 'subscribed' }));

    await alice.waitFor(
      (el) => el.is('presence') && el.attrs.type === 'subscribed' && el.attrs.from === 'bob@localhost',
    );
    const bobPresence = await alice.waitFor(
      (el) => el.is('presence') && el.attrs.from?.startsWith('bob@localhost/') && !el.attrs.type,
    );
    assert.equal(bobPresence.getChildText('show'), 'dnd');
    assert.equal(bobPresence.getChildText('status'), 'Working');

    // Bob subscribes back; Alice has the MSN default (allow all), so it is approved at once.
    await bob.xmpp.send(xml('presence', { to: 'alice@localhost', type: 'subscribe' }));
    await bob.waitFor(
      (el) => el.is('presence') && el.attrs.type === 'subscribed' && el.attrs.from === 'alice@localhost',
    );
    await bob.waitFor(
      (el) => el.is('presence') && el.attrs.from === 'alice@localhost/laptop' && !el.attrs.type,
    );

    const roster = await alice.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
    const item = roster.getChild('query', ROSTER)?.getChild('item');
    assert.equal(item?.attrs.jid, 'bob@localhost');
    assert.equal(item?.attrs.subscription, 'both');
    assert.equal(item?.getChildText('group'), 'Friends');
    const ver = roster.getChild('query', ROSTER)?.attrs.ver;
    assert.ok(ver);
    // RFC 6121 §2.6: an up-to-date client gets an empty result.
    const again = await alice.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER, ver })));
    assert.equal(again.getChild('query', ROSTER), undefined);
  });

  it('exchanges messages and chat states', async () => {
    const [alice, bob] = clients as [TestXmppClient, TestXmppClient];
    await alice.xmpp.send(
      xml(
        'message',
        { to: 'bob@localhost', type: 'chat', id: 'm1' },
        xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' }),
      ),
    );
    const composing = await bob.waitFor((el) => el.is('message') && el.getChild('composing') !== undefined);
    assert.equal(composing.attrs.from, 'alice@localhost/laptop');
    await alice.xmpp.send(
      xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, 'Hi Bob — ça va? 😀')),
    );
    const got = await bob.waitFor((el) => el.is('message') && el.getChildText('body') !== null);
    assert.equal(got.getChildText('body'), 'Hi Bob — ça va? 😀');
    await bob.xmpp.send(xml('message', { to: got.attrs.from, type: 'chat' }, xml('body', {}, 'Très bien')));
    assert.equal(
      (await alice.waitFor((el) => el.is('message') && el.getChildText('body') === 'Très bien')).attrs.from,
      'bob@localhost/desk',
    );
  });

  it('keeps messages for an offline contact and delivers them in order with XEP-0203 stamps', async () => {
    const [alice, bob] = clients as [TestXmppClient, TestXmppClient];
    await bob.stop();
    await alice.waitFor(
      (el) =>
        el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from?.startsWith('bob@localhost'),
    );
    const before = Date.now();
    for (const text of ['first', 'second', 'third']) {
      await alice.xmpp.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, text)));
    }
    await new Promise((r) => setTimeout(r, 100));
    const back = await connect({ username: 'bob', password: 'bob-secret', resource: 'desk' });
    clients[1] = back;
    await back.xmpp.send(xml('presence'));
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await back.waitFor(
        (el) => el.is('message') && el.getChild('delay', 'urn:xmpp:delay') !== undefined,
      );
      bodies.push(m.getChildText('body') ?? '');
      const stamp = Date.parse(m.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp ?? '');
      assert.ok(stamp >= before - 1000 && stamp <= Date.now(), 'original send time');
      assert.equal(m.attrs.from, 'alice@localhost/laptop');
    }
    assert.deepEqual(bodies, ['first', 'second', 'third']);
    // Delivered once: a second connection gets none of them.
    const other = await connect({ username: 'bob', password: 'bob-secret', resource: 'phone' });
    await other.xmpp.send(xml('presence'));
    await assert.rejects(other.waitFor((el) => el.is('message') && el.getChild('delay') !== undefined, 500));
    await other.stop();
  });

  it('reads and writes vCards; the FN is the display name MSN clients show', async () => {
    const [alice, bob] = clients as [TestXmppClient, TestXmppClient];
    await alice.iq(
      xml(
        'iq',
        { type: 'set' },
        xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Alice Liddell'), xml('NICKNAME', {}, 'ali')),
      ),
    );
    const card = await bob.iq(
      xml('iq', { type: 'get', to: 'alice@localhost' }, xml('vCard', { xmlns: 'vcard-temp' })),
    );
    const v = card.getChild('vCard', 'vcard-temp');
    assert.equal(v?.getChildText('FN'), 'Alice Liddell');
    assert.equal(v?.getChildText('NICKNAME'), 'ali');
    assert.equal((await server.server.core.accounts.get('alice@localhost')).displayName, 'Alice Liddell');
    await assert.rejects(
      bob.iq(
        xml(
          'iq',
          { type: 'set', to: 'alice@localhost' },
          xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Hacked')),
        ),
      ),
    );
  });

  it('answers disco, version and ping', async () => {
    const [alice] = clients as [TestXmppClient];
    const info = await alice.iq(
      xml(
        'iq',
        { type: 'get', to: 'localhost' },
        xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }),
      ),
    );
    const features =
      info
        .getChild('query')
        ?.getChildren('feature')
        .map((f) => f.attrs.var) ?? [];
    assert.ok(
      features.includes('jabber:iq:roster') &&
        features.includes('urn:xmpp:ping') &&
        features.includes('vcard-temp'),
    );
    const version = await alice.iq(
      xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'jabber:iq:version' })),
    );
    assert.equal(version.getChild('query')?.getChildText('name'), 'Papillon');
    const pong = await alice.iq(
      xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })),
    );
    assert.equal(pong.attrs.type, 'result');
    await assert.rejects(
      alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'urn:example:unknown' }))),
    );
  });

  it('a message to an unknown account gets service-unavailable', async () => {
    const [alice] = clients as [TestXmppClient];
    await alice.xmpp.send(
      xml('message', { to: 'ghost@localhost', type: 'chat', id: 'g1' }, xml('body', {}, 'boo')),
    );
    const error = await alice.waitFor(
      (el) => el.is('message') && el.attrs.type === 'error' && el.attrs.id === 'g1',
    );
    assert.ok(error.getChild('error')?.getChild('service-unavailable'));
  });

  it('contacts made over MSNP show in the XMPP roster, and an XMPP subscribe is an MSN "has added you"', async () => {
    const dave = await msnpSignIn(server, { version: 12, handle: 'dave@localhost', password: 'dave-secret' });
    await sync(12, dave);
    await msnpSetStatus(dave, 12, 'NLN', { first: true });
    const erin = await connect({ username: 'erin', password: 'erin-secret', resource: 'home' });
    await erin.xmpp.send(xml('presence'));
    await erin.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));

    await addContact(
      12,
      { handle: 'dave@localhost', password: '', name: 'Dave', client: dave },
      {
        handle: 'erin@localhost',
        password: '',
        name: 'Erin',
        client: dave,
      },
    );
    // Erin (allow-all) is seen at once: Dave's roster relationship is "to"; Erin's roster shows Dave as "from".
    const push = await erin.waitFor(
      (el) => el.is('iq') && el.getChild('query', ROSTER)?.getChild('item')?.attrs.jid === 'dave@localhost',
    );
    assert.equal(push.getChild('query', ROSTER)?.getChild('item')?.attrs.subscription, 'from');
    const nln = await dave.expect('NLN');
    assert.deepEqual(nln.args.slice(0, 2), ['NLN', 'erin@localhost']);

    await erin.xmpp.send(xml('presence', { to: 'dave@localhost', type: 'subscribe' }));
    const added = await dave.expect('ADC');
    assert.deepEqual(added.args.slice(0, 3), ['0', 'RL', 'N=erin@localhost']);
    await erin.waitFor(
      (el) => el.is('presence') && el.attrs.from?.startsWith('dave@localhost/') && !el.attrs.type,
    );
    await dave.close();
  });
});
