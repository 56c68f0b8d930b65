import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServerWithMiaAndXan } from '../support/msn-xmpp-contacts.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { newSwitchboard, sync, textMessage } from '../transcripts/msnp-session.ts';

type Element = ReturnType<typeof xml>;

const MAM = 'urn:xmpp:mam:2';
const RSM = 'http://jabber.org/protocol/rsm';
const SID = 'urn:xmpp:sid:0';

interface Query {
  with?: string;
  start?: string;
  end?: string;
  afterId?: string;
  fields?: Array<[string, string]>;
  max?: number;
  after?: string;
  /** '' asks for the last page. */
  before?: string;
  to?: string;
}

let queries = 0;

/** A XEP-0313 query as Gajim or slixmpp sends it; the results it got and the `<fin/>`. */
async function mam(client: TestXmppClient, q: Query = {}) {
  const queryid = `q${++queries}`;
  const fields: Array<[string, string]> = [['FORM_TYPE', MAM], ...(q.fields ?? [])];
  if (q.with) fields.push(['with', q.with]);
  if (q.start) fields.push(['start', q.start]);
  if (q.end) fields.push(['end', q.end]);
  if (q.afterId) fields.push(['after-id', q.afterId]);
  const set = xml('set', { xmlns: RSM });
  if (q.max !== undefined) set.append(xml('max', {}, String(q.max)));
  if (q.after !== undefined) set.append(xml('after', {}, q.after));
  if (q.before !== undefined) set.append(xml('before', {}, q.before));
  const reply = await client.iq(
    xml(
      'iq',
      { type: 'set', ...(q.to ? { to: q.to } : {}) },
      xml(
        'query',
        { xmlns: MAM, queryid },
        xml(
          'x',
          { xmlns: 'jabber:x:data', type: 'submit' },
          ...fields.map(([name, value]) =>
            xml(
              'field',
              { var: name, ...(name === 'FORM_TYPE' ? { type: 'hidden' } : {}) },
              xml('value', {}, value),
            ),
          ),
        ),
        set,
      ),
    ),
  );
  // The results came before the IQ result (XEP-0313 §4): they are already recorded.
  const results = client.stanzas.filter((el) => el.getChild('result', MAM)?.attrs.queryid === queryid);
  for (const r of results) client.stanzas.splice(client.stanzas.indexOf(r), 1);
  const fin = reply.getChild('fin', MAM);
  assert.ok(fin, `no fin in ${reply}`);
  const forwarded = results.map((r) => {
    const result = r.getChild('result', MAM) as Element;
    const message = result.getChild('forwarded', 'urn:xmpp:forward:0')?.getChild('message') as Element;
    return {
      id: result.attrs.id as string,
      from: message.attrs.from as string,
      to: message.attrs.to as string,
      body: message.getChildText('body') as string,
      stamp: result.getChild('forwarded')?.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp as string,
    };
  });
  const set2 = fin.getChild('set', RSM);
  return {
    messages: forwarded,
    bodies: forwarded.map((m) => m.body),
    complete: fin.attrs.complete === 'true',
    first: set2?.getChildText('first') ?? undefined,
    last: set2?.getChildText('last') ?? undefined,
    count: Number(set2?.getChildText('count')),
  };
}

/** The stanza error condition of a failed IQ request. */
async function condition(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (err) {
    return String((err as { condition?: string }).condition);
  }
  return 'no error';
}

async function features(client: TestXmppClient, to: string): Promise<string[]> {
  const reply = await client.iq(
    xml('iq', { type: 'get', to }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })),
  );
  return (reply.getChild('query')?.getChildren('feature') ?? []).map((f: Element) => f.attrs.var as string);
}

async function online(client: TestXmppClient): Promise<void> {
  await client.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  await client.xmpp.send(xml('presence'));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('XEP-0313 message archive', () => {
  let server: TestServer;
  let alice: TestXmppClient;
  let bob: TestXmppClient;
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const a = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'alice@localhost',
      password: 'alice-secret',
    });
    const b = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'bob@localhost',
      password: 'bob-secret',
    });
    await core.accounts.create({ privacy: 'allow-all', handle: 'carol@localhost', password: 'carol-secret' });
    await core.relationships.addForward(a.id, b.handle);
    await core.relationships.addForward(b.id, a.handle);
    alice = await connectXmpp(server, { username: 'alice', password: 'alice-secret', resource: 'gajim' });
    bob = await connectXmpp(server, { username: 'bob', password: 'bob-secret', resource: 'poezio' });
    await online(alice);
    await online(bob);
  });
  after(async () => {
    await alice.stop();
    await bob.stop();
    await server.stop();
  });

  it('advertises MAM and stanza ids on the account', async () => {
    const own = await features(alice, 'alice@localhost');
    assert.ok(own.includes(MAM) && own.includes(`${MAM}#extended`) && own.includes(SID), own.join(' '));
  });

  it('archives a chat between two XMPP users for both; pages forward and backward; filters by with and time', async () => {
    const received: Element[] = [];
    const say = async (from: TestXmppClient, to: TestXmppClient, toJid: string, body: string) => {
      await from.xmpp.send(xml('message', { to: toJid, type: 'chat' }, xml('body', {}, body)));
      received.push(await to.waitFor((el) => el.is('message') && el.getChildText('body') === body));
    };
    await say(alice, bob, 'bob@localhost', 'one');
    await say(bob, alice, 'alice@localhost', 'two');
    await pause(20);
    const middle = new Date().toISOString();
    await pause(20);
    await say(alice, bob, 'bob@localhost', 'three');
    await say(bob, alice, 'alice@localhost', 'four');
    await say(alice, bob, 'bob@localhost', 'five');

    // Each delivered copy says where it is in the recipient's archive (XEP-0359).
    const ids = received.map((el, i) => {
      const sid = el.getChild('stanza-id', SID);
      assert.equal(sid?.attrs.by, i % 2 === 0 ? 'bob@localhost' : 'alice@localhost');
      return sid?.attrs.id as string;
    });

    const all = await mam(bob, { with: 'alice@localhost' });
    assert.deepEqual(all.bodies, ['one', 'two', 'three', 'four', 'five']);
    assert.deepEqual(
      all.messages.map((m) => m.id),
      ids,
    );
    assert.deepEqual(
      all.messages.map((m) => [m.from, m.to]),
      [
        ['alice@localhost', 'bob@localhost'],
        ['bob@localhost', 'alice@localhost'],
        ['alice@localhost', 'bob@localhost'],
        ['bob@localhost', 'alice@localhost'],
        ['alice@localhost', 'bob@localhost'],
      ],
    );
    assert.deepEqual([all.complete, all.count], [true, 5]);
    // Alice's archive holds the same messages under the same ids.
    assert.deepEqual(
      (await mam(alice, { with: 'bob@localhost' })).messages.map((m) => m.id),
      ids,
    );

    // Forward paging (RSM <after/>).
    const p1 = await mam(bob, { max: 2 });
    assert.deepEqual([p1.bodies, p1.complete, p1.first, p1.last], [['one', 'two'], false, ids[0], ids[1]]);
    const p2 = await mam(bob, { max: 2, after: p1.last });
    assert.deepEqual([p2.bodies, p2.complete], [['three', 'four'], false]);
    const p3 = await mam(bob, { max: 2, after: p2.last });
    assert.deepEqual([p3.bodies, p3.complete], [['five'], true]);

    // Backward paging: the last page (an empty <before/>), then the pages before it.
    const b1 = await mam(bob, { max: 2, before: '' });
    assert.deepEqual([b1.bodies, b1.complete], [['four', 'five'], false]);
    const b2 = await mam(bob, { max: 2, before: b1.first });
    assert.deepEqual([b2.bodies, b2.complete], [['two', 'three'], false]);
    const b3 = await mam(bob, { max: 2, before: b2.first });
    assert.deepEqual([b3.bodies, b3.complete], [['one'], true]);

    // Time: start and end are inclusive bounds around `middle`.
    assert.deepEqual((await mam(bob, { start: middle })).bodies, ['three', 'four', 'five']);
    assert.deepEqual((await mam(bob, { end: middle })).bodies, ['one', 'two']);
    assert.deepEqual((await mam(bob, { with: 'carol@localhost' })).bodies, []);
    assert.deepEqual((await mam(bob, { afterId: ids[3], to: 'bob@localhost' })).bodies, ['five']);
    // The delay stamp is when the server archived the message.
    assert.ok(all.messages.every((m) => !Number.isNaN(Date.parse(m.stamp))));
  });

  it('answers the errors XEP-0313 names', async () => {
    assert.equal(await condition(mam(bob, { after: 'no-such-id' })), 'item-not-found');
    assert.equal(await condition(mam(bob, { afterId: 'no-such-id' })), 'item-not-found');
    assert.equal(
      await condition(mam(bob, { fields: [['{urn:example}search', 'x']] })),
      'feature-not-implemented',
    );
    assert.equal(await condition(mam(bob, { start: 'yesterday' })), 'bad-request');
    assert.equal(await condition(mam(bob, { to: 'alice@localhost' })), 'forbidden');
  });

  it('keeps the preferences a client sets', async () => {
    const set = await bob.iq(
      xml(
        'iq',
        { type: 'set' },
        xml(
          'prefs',
          { xmlns: MAM, default: 'roster' },
          xml('always'),
          xml('never', {}, xml('jid', {}, 'carol@localhost')),
        ),
      ),
    );
    assert.equal(set.getChild('prefs', MAM)?.attrs.default, 'roster');
    const got = await bob.iq(xml('iq', { type: 'get' }, xml('prefs', { xmlns: MAM })));
    const prefs = got.getChild('prefs', MAM);
    assert.equal(prefs?.attrs.default, 'roster');
    assert.equal(prefs?.getChild('never')?.getChildText('jid'), 'carol@localhost');
  });
});

// An MSN Messenger 7.5 user (MSNP12) and an XMPP user: the XMPP user's archive has the chat.
describe('XEP-0313 archive of a chat with an MSN user', () => {
  let server: TestServer;
  let mia: MsnpTestClient;
  let xan: TestXmppClient;
  before(async () => {
    server = await startServerWithMiaAndXan();
    // XMPP first: the test client library trusts the CA of the server it last connected to,
    // and the MSN sign-in's HTTPS goes through the same TLS.
    xan = await connectXmpp(server, { username: 'xan', password: 'xan-secret', resource: 'gajim' });
    mia = await msnpSignIn(server, { version: 12, handle: 'mia@localhost', password: 'mia-secret' });
    await sync(12, mia);
    await msnpSetStatus(mia, 12, 'NLN', { first: true });
    await online(xan);
    await xan.waitFor((el) => el.is('presence') && el.attrs.from === 'mia@localhost/msn');
  });
  after(async () => {
    await xan.stop();
    await mia.close();
    await server.stop();
  });

  it('archives what the MSN user says and what the XMPP user answers, with the stanza-id delivered', async () => {
    const sb = await newSwitchboard(mia, 'mia@localhost');
    sb.send(`CAL ${sb.trid()} xan@localhost`);
    await sb.expect('CAL');
    await sb.expect('JOI');
    sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('Hi from MSN'));
    const got = await xan.waitFor((el) => el.is('message') && el.getChildText('body') === 'Hi from MSN');
    const sid = got.getChild('stanza-id', SID);
    assert.equal(sid?.attrs.by, 'xan@localhost');
    await xan.xmpp.send(
      xml('message', { to: got.attrs.from, type: 'chat' }, xml('body', {}, 'Hi from XMPP')),
    );
    assert.match((await sb.expect('MSG')).payload?.toString() ?? '', /Hi from XMPP$/);
    await sb.close();

    const history = await mam(xan, { with: 'mia@localhost' });
    assert.deepEqual(
      history.messages.map((m) => [m.from, m.to, m.body]),
      [
        ['mia@localhost', 'xan@localhost', 'Hi from MSN'],
        ['xan@localhost', 'mia@localhost', 'Hi from XMPP'],
      ],
    );
    assert.equal(history.messages[0]?.id, sid?.attrs.id);
    // Mia's own archive (what her MSN client said) holds the same two, once each.
    const core = server.server.core;
    const miaId = (await core.accounts.find('mia@localhost'))?.id as string;
    const hers = await core.archive.query(miaId, {}, { max: 10 });
    assert.deepEqual(
      hers?.messages.map((m) => [m.outgoing, m.body]),
      [
        [true, 'Hi from MSN'],
        [false, 'Hi from XMPP'],
      ],
    );
  });
});

describe('XEP-0313 with the archive off (PAPILLON_ARCHIVE_DAYS=0)', () => {
  let server: TestServer;
  let dee: TestXmppClient;
  let eve: TestXmppClient;
  before(async () => {
    server = await startTestServer({ PAPILLON_ARCHIVE_DAYS: '0' });
    const core = server.server.core;
    const d = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'dee@localhost',
      password: 'dee-secret',
    });
    const e = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'eve@localhost',
      password: 'eve-secret',
    });
    await core.relationships.addForward(d.id, e.handle);
    await core.relationships.addForward(e.id, d.handle);
    dee = await connectXmpp(server, { username: 'dee', password: 'dee-secret' });
    eve = await connectXmpp(server, { username: 'eve', password: 'eve-secret' });
    await online(dee);
    await online(eve);
  });
  after(async () => {
    await dee.stop();
    await eve.stop();
    await server.stop();
  });

  it('is not advertised, a query is service-unavailable, and messages carry no stanza-id', async () => {
    const own = await features(dee, 'dee@localhost');
    assert.ok(!own.includes(MAM) && !own.includes(SID), own.join(' '));
    assert.equal(await condition(mam(dee)), 'service-unavailable');
    await dee.xmpp.send(
      xml(
        'message',
        { to: 'eve@localhost', type: 'chat' },
        xml('body', {}, 'unarchived'),
        // A stanza-id a client forges in the recipient's name is not passed on.
        xml('stanza-id', { xmlns: SID, by: 'eve@localhost', id: 'forged' }),
      ),
    );
    const got = await eve.waitFor((el) => el.is('message') && el.getChildText('body') === 'unarchived');
    assert.equal(got.getChild('stanza-id', SID), undefined);
  });
});
