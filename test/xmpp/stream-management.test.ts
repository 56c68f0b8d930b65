import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NS } from '../../src/xmpp/namespaces.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { xml as clientXml, connectXmpp, type TestXmppClient } from '../support/xmpp-client.ts';
import { is, RawXmppClient, targetOf, type XmlElement, xml } from '../support/xmpp-raw.ts';

// XEP-0198 stream management: a client whose TCP connection drops (a phone changing
// networks) comes back to the same session and misses nothing, and gets nothing twice.

const isSm = (name: string) => (el: XmlElement) => el.xmlns === NS.sm && el.name === name;
const smAnswer = (el: XmlElement) => el.xmlns === NS.sm && (el.name === 'resumed' || el.name === 'failed');
const isStanza = (el: XmlElement) => el.name === 'message' || el.name === 'presence' || el.name === 'iq';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signs in, binds and enables resumable stream management; returns the client and the SM id. */
async function smLogin(server: TestServer, username: string, resource: string, max?: number) {
  const c = await RawXmppClient.login(targetOf(server), {
    username,
    password: `${username}-secret`,
    resource,
  });
  const answer = c.expect((el) => el.xmlns === NS.sm);
  await c.send(
    xml('enable', { xmlns: NS.sm, resume: 'true', max: max === undefined ? undefined : String(max) }),
  );
  const enabled = await answer;
  assert.equal(enabled.name, 'enabled', String(enabled));
  return { c, id: enabled.attrs.id ?? '', enabled };
}

/** Stanzas this connection received since `since` (XEP-0198 'h' counts exactly these). */
function stanzasSince(c: RawXmppClient, since: XmlElement): number {
  return c.log.slice(c.log.indexOf(since) + 1).filter(isStanza).length;
}

/** A new connection, authenticated, that asks to resume `previd` having handled `h` stanzas. */
async function resumeRaw(server: TestServer, username: string, previd: string, h: number) {
  const c = await RawXmppClient.connect(targetOf(server));
  await c.open();
  await c.starttls();
  const features = await c.authenticate(username, `${username}-secret`);
  assert.ok(features.getChild('sm', NS.sm), 'stream management is offered after authentication');
  const answer = c.expect(smAnswer);
  await c.send(xml('resume', { xmlns: NS.sm, previd, h: String(h) }));
  return { c, answer: await answer };
}

async function accounts(server: TestServer, ...names: string[]) {
  const core = server.server.core;
  const ids: Record<string, string> = {};
  for (const name of names) {
    const a = await core.accounts.create({
      privacy: 'allow-all',
      handle: `${name}@localhost`,
      password: `${name}-secret`,
      displayName: name,
    });
    ids[name] = a.id;
  }
  // Everyone sees everyone (mutual subscriptions).
  for (const a of names)
    for (const b of names) if (a !== b) await core.relationships.addForward(ids[a] ?? '', `${b}@localhost`);
  return ids;
}

const chat = (to: string, text: string) => xml('message', { to, type: 'chat' }, xml('body', {}, text));

describe('XEP-0198 stream management', () => {
  let server: TestServer;
  let bob: RawXmppClient;
  const open: RawXmppClient[] = [];
  before(async () => {
    server = await startTestServer();
    await accounts(server, 'ann', 'bob', 'cat');
    bob = await RawXmppClient.login(targetOf(server), {
      username: 'bob',
      password: 'bob-secret',
      resource: 'pc',
    });
    await bob.presence();
  });
  after(async () => {
    for (const c of [bob, ...open]) c.destroy();
    await server.stop();
  });

  it('is offered with CSI after authentication; <r/> is answered with the stanzas handled', async () => {
    const c = await RawXmppClient.connect(targetOf(server));
    open.push(c);
    await c.open();
    await c.starttls();
    const features = await c.authenticate('cat', 'cat-secret');
    assert.ok(features.getChild('sm', NS.sm), String(features));
    assert.ok(features.getChild('csi', NS.csi), String(features));
    await c.bind('one');
    // Before <enable/>, an <r/> is not for us to answer.
    const enabled = c.expect(isSm('enabled'));
    await c.send(xml('enable', { xmlns: NS.sm, resume: 'true' }));
    const e = await enabled;
    assert.equal(e.attrs.resume, 'true');
    assert.ok((e.attrs.id ?? '').length >= 16, 'an unguessable id');
    assert.equal(e.attrs.max, '300');
    await c.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: NS.ping })));
    await c.presence();
    const ack = c.expect(isSm('a'));
    await c.send(xml('r', { xmlns: NS.sm }));
    assert.equal((await ack).attrs.h, '2');
    // §3: enabling twice fails, the stream goes on.
    const failed = c.expect(isSm('failed'));
    await c.send(xml('enable', { xmlns: NS.sm }));
    assert.ok((await failed).getChild('unexpected-request', NS.stanzas));
    const pong = await c.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: NS.ping })));
    assert.equal(pong.attrs.type, 'result');
    await c.close();
  });

  it('the server asks for acknowledgement and forgets what was acknowledged', async () => {
    const { c, enabled } = await smLogin(server, 'cat', 'acks');
    open.push(c);
    await c.presence();
    // With its presence, these make ten unacknowledged stanzas: the server asks (it also
    // would a few seconds after the first).
    for (let i = 0; i < 8; i++) await bob.send(chat('cat@localhost/acks', `burst ${i}`));
    await c.expect(isSm('r'));
    await c.expect(is.body('burst 7'));
    const sent = stanzasSince(c, enabled);
    await c.send(xml('a', { xmlns: NS.sm, h: String(sent) }));
    // Acknowledging more than was sent is a stream error (§4).
    await c.send(xml('a', { xmlns: NS.sm, h: String(sent + 50) }));
    const error = await c.expectStreamError();
    assert.equal(error.condition, 'undefined-condition');
    const detail = c.log.find((el) => el.name === 'error')?.getChild('handled-count-too-high', NS.sm);
    assert.equal(detail?.attrs['send-count'], String(sent));
  });

  it('asks again after each acknowledgement, so a long session never runs out of room', async () => {
    const { c, enabled } = await smLogin(server, 'cat', 'again');
    open.push(c);
    await c.presence();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) await bob.send(chat('cat@localhost/again', `round ${round} ${i}`));
      const request = await c.expect(isSm('r'));
      await c.expect(is.body(`round ${round} 9`));
      assert.ok(c.log.indexOf(request) > c.log.indexOf(enabled));
      await c.send(xml('a', { xmlns: NS.sm, h: String(stanzasSince(c, enabled)) }));
    }
    c.destroy();
  });

  it('a dropped connection resumes the session: what was missed arrives once, nothing twice, presence never wavered', async () => {
    const { c: phone, enabled } = await smLogin(server, 'ann', 'phone');
    const id = enabled.attrs.id ?? '';
    await phone.presence({}, xml('status', {}, 'on the bus'));
    await bob.expect(is.presence((p) => p.attrs.from === 'ann@localhost/phone'));

    await bob.send(chat('ann@localhost', 'one'));
    await bob.send(chat('ann@localhost/phone', 'two'));
    await phone.expect(is.body('one'));
    await phone.expect(is.body('two'));
    // The phone handled those and whatever came with its presence, then lost its connection
    // before it could acknowledge any of it.
    const handled = stanzasSince(phone, enabled);
    phone.destroy();
    await sleep(100);
    await bob.send(chat('ann@localhost', 'three (while away)'));
    await bob.send(chat('ann@localhost/phone', 'four (while away)'));

    const { c: back, answer } = await resumeRaw(server, 'ann', id, handled);
    open.push(back);
    assert.equal(answer.name, 'resumed', String(answer));
    assert.equal(answer.attrs.previd, id);
    // Our presence was one stanza handled by the server.
    assert.equal(answer.attrs.h, '1');
    await back.expect(is.body('three (while away)'));
    await back.expect(is.body('four (while away)'));
    await back.expectNone((el) => is.body('one')(el) || is.body('two')(el), 400);
    // The session is the same: same resource, still available, reachable, no unavailable seen.
    await bob.send(chat('ann@localhost/phone', 'five'));
    await back.expect(is.body('five'));
    await bob.expectNone(
      is.presence((p) => p.attrs.from === 'ann@localhost/phone'),
      100,
    );
    const pong = await back.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: NS.ping })));
    assert.equal(pong.attrs.to, 'ann@localhost/phone');
    await back.close();
    await bob.expect(
      is.presence((p) => p.attrs.from === 'ann@localhost/phone' && p.attrs.type === 'unavailable'),
    );
  });

  it('stanzas the client did not acknowledge are sent again on resumption', async () => {
    const { c: phone, enabled } = await smLogin(server, 'ann', 'tablet');
    await phone.presence();
    await bob.expect(is.presence((p) => p.attrs.from === 'ann@localhost/tablet'));
    await bob.send(chat('ann@localhost/tablet', 'first'));
    await bob.send(chat('ann@localhost/tablet', 'second'));
    await phone.expect(is.body('second'));
    const before = stanzasSince(phone, enabled);
    phone.destroy();
    // It says it handled all but the last one (it crashed while showing it).
    const { c: back, answer } = await resumeRaw(server, 'ann', enabled.attrs.id ?? '', before - 1);
    open.push(back);
    assert.equal(answer.name, 'resumed');
    await back.expect(is.body('second'));
    await back.expectNone(is.body('first'), 300);
    await back.close();
  });

  it('a resumption of an unknown session, or of another account, fails and the stream goes on', async () => {
    const { c: catSession, id } = await smLogin(server, 'cat', 'desk');
    open.push(catSession);
    const { c: unknown, answer } = await resumeRaw(server, 'ann', 'no-such-session', 0);
    open.push(unknown);
    assert.equal(answer.name, 'failed');
    assert.ok(answer.getChild('item-not-found', NS.stanzas));
    const { c: thief, answer: stolen } = await resumeRaw(server, 'ann', id, 0);
    open.push(thief);
    assert.equal(stolen.name, 'failed');
    assert.ok(stolen.getChild('item-not-found', NS.stanzas));
    // The failed stream binds as usual.
    assert.equal(await thief.bind('fresh'), 'ann@localhost/fresh');
    const pong = await catSession.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: NS.ping })));
    assert.equal(pong.attrs.type, 'result');
  });

  it('@xmpp/client resumes by itself after its TCP connection is killed; no message lost or duplicated', async () => {
    const ann: TestXmppClient = await connectXmpp(server, {
      username: 'ann',
      password: 'ann-secret',
      resource: 'laptop',
    });
    try {
      const sm = (
        ann.xmpp as unknown as { streamManagement: { id: string; on(e: string, f: () => void): void } }
      ).streamManagement;
      for (let i = 0; i < 40 && !sm.id; i++) await sleep(25);
      assert.ok(sm.id, 'the library enabled resumable stream management');
      await ann.xmpp.send(clientXml('presence'));
      await bob.expect(is.presence((p) => p.attrs.from === 'ann@localhost/laptop'));
      await bob.send(chat('ann@localhost/laptop', 'before the tunnel'));
      await ann.waitFor((el) => el.is('message') && el.getChildText('body') === 'before the tunnel');
      // An IQ answered in between must not shift what counts as received.
      await ann.iq(clientXml('iq', { type: 'get' }, clientXml('query', { xmlns: 'jabber:iq:roster' })));

      const resumed = new Promise<void>((resolve) => sm.on('resumed', resolve));
      // The TLS socket under the library's wrapper: gone without a word, as in a tunnel.
      (ann.xmpp as unknown as { socket: { socket: { destroy(): void } } }).socket.socket.destroy();
      await bob.send(chat('ann@localhost/laptop', 'in the tunnel 1'));
      await bob.send(chat('ann@localhost', 'in the tunnel 2'));
      await resumed;
      await ann.waitFor((el) => el.is('message') && el.getChildText('body') === 'in the tunnel 1');
      await ann.waitFor((el) => el.is('message') && el.getChildText('body') === 'in the tunnel 2');
      await ann.xmpp.send(
        clientXml(
          'message',
          { to: 'bob@localhost', type: 'chat' },
          clientXml('body', {}, 'out of the tunnel'),
        ),
      );
      await bob.expect(is.body('out of the tunnel'));
      await sleep(300);
      const bodies = ann.stanzas.filter((el) => el.is('message')).map((el) => el.getChildText('body'));
      assert.deepEqual(
        bodies.filter((b) => b?.includes('tunnel')),
        [],
        'each message was taken once by waitFor: none came twice',
      );
      await bob.expectNone(
        is.presence((p) => p.attrs.from === 'ann@localhost/laptop'),
        100,
      );
    } finally {
      await ann.stop();
    }
    await bob.expect(
      is.presence((p) => p.attrs.from === 'ann@localhost/laptop' && p.attrs.type === 'unavailable'),
    );
  });

  // The client asks for a 1 s resumption window (§5 'max'), shorter than the server's.
  it('ends after the timeout: unacknowledged messages wait offline and arrive once at the next sign-in', async () => {
    const { c: phone, enabled } = await smLogin(server, 'ann', 'phone', 1);
    assert.equal(enabled.attrs.max, '1');
    await phone.presence();
    await bob.expect(is.presence((p) => p.attrs.from === 'ann@localhost/phone'));
    await bob.send(chat('ann@localhost', 'seen but never acknowledged'));
    await phone.expect(is.body('seen but never acknowledged'));
    phone.destroy();
    await sleep(100);
    await bob.send(chat('ann@localhost', 'sent while away'));
    // Still there for a while (the session waits), then gone.
    await bob.expectNone(
      is.presence((p) => p.attrs.from === 'ann@localhost/phone'),
      500,
    );
    await bob.expect(
      is.presence((p) => p.attrs.from === 'ann@localhost/phone' && p.attrs.type === 'unavailable'),
      3000,
    );
    const core = server.server.core;
    const annId = (await core.accounts.get('ann@localhost')).id;
    for (let i = 0; i < 40 && (await core.offline.count(annId)) < 2; i++) await sleep(25);
    assert.equal(await core.offline.count(annId), 2);

    const ann = await connectXmpp(server, { username: 'ann', password: 'ann-secret', resource: 'desk' });
    try {
      await ann.xmpp.send(clientXml('presence'));
      const first = await ann.waitFor(
        (el) => el.is('message') && el.getChildText('body') === 'seen but never acknowledged',
      );
      assert.ok(first.getChild('delay', NS.delay), 'with the time it was first sent');
      assert.equal(first.attrs.from, 'bob@localhost/pc');
      await ann.waitFor((el) => el.is('message') && el.getChildText('body') === 'sent while away');
      await sleep(200);
      assert.equal(ann.stanzas.filter((el) => el.is('message')).length, 0, 'nothing twice');
    } finally {
      await ann.stop();
    }
    assert.equal(await core.offline.count(annId), 0);
  });

  it('…or go to another available resource of the account', async () => {
    const desk = await RawXmppClient.login(targetOf(server), {
      username: 'ann',
      password: 'ann-secret',
      resource: 'desk',
    });
    try {
      await desk.presence();
      const { c: phone } = await smLogin(server, 'ann', 'phone', 1);
      await phone.presence();
      await desk.expect(is.presence((p) => p.attrs.from === 'ann@localhost/phone'));
      await bob.send(chat('ann@localhost/phone', 'for the phone'));
      await phone.expect(is.body('for the phone'));
      phone.destroy();
      await desk.expect(
        is.presence((p) => p.attrs.from === 'ann@localhost/phone' && p.attrs.type === 'unavailable'),
        3000,
      );
      const rescued = await desk.expect(is.body('for the phone'), 2000);
      assert.equal(rescued.attrs.from, 'bob@localhost/pc');
    } finally {
      desk.destroy();
    }
  });
});
