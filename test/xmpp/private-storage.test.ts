import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';

const PRIVATE = 'jabber:iq:private';
type Element = Awaited<ReturnType<TestXmppClient['iq']>>;

const get = (child: Element, to?: string) =>
  xml('iq', { type: 'get', to }, xml('query', { xmlns: PRIVATE }, child));
const set = (...children: Element[]) =>
  xml('iq', { type: 'set' }, xml('query', { xmlns: PRIVATE }, ...children));
/** What `get` answered: the stored element in `ns`, serialized. */
async function stored(c: TestXmppClient, name: string, ns: string): Promise<string> {
  const reply = await c.iq(get(xml(name, { xmlns: ns })));
  return String(reply.getChild('query', PRIVATE)?.getChild(name, ns));
}
/** Sends `iq` and resolves with its error condition. */
async function errorOf(c: TestXmppClient, iq: Element): Promise<string | undefined> {
  iq.attrs.id = `e${Math.random().toString(36).slice(2)}`;
  await c.xmpp.send(iq);
  const reply = await c.waitFor((e) => e.attrs.id === iq.attrs.id);
  assert.equal(reply.attrs.type, 'error');
  return reply
    .getChild('error')
    ?.children.find(
      (n: unknown): n is Element =>
        typeof n === 'object' && (n as Element).attrs?.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas',
    )?.name;
}

const bookmarks = (...rooms: string[]) =>
  xml(
    'storage',
    { xmlns: 'storage:bookmarks' },
    ...rooms.map((jid) => xml('conference', { jid, name: jid, autojoin: 'true' }, xml('nick', {}, 'Pat'))),
  );

describe('XEP-0049 private XML storage', () => {
  let server: TestServer;
  let pat: TestXmppClient;
  let quinn: TestXmppClient;
  const password = 'private-secret';

  before(async () => {
    server = await startTestServer();
    await server.server.core.accounts.create({ privacy: 'allow-all', handle: 'pat@localhost', password });
    await server.server.core.accounts.create({ privacy: 'allow-all', handle: 'quinn@localhost', password });
    pat = await connectXmpp(server, { username: 'pat', password, resource: 'gajim' });
    quinn = await connectXmpp(server, { username: 'quinn', password, resource: 'psi' });
  });
  after(async () => {
    await pat?.stop();
    await quinn?.stop();
    await server?.stop();
  });

  it('is announced in the server’s disco#info', async () => {
    const info = await pat.iq(
      xml(
        'iq',
        { type: 'get', to: 'localhost' },
        xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }),
      ),
    );
    const features = (info.getChild('query')?.getChildren('feature') ?? []).map((f: Element) => f.attrs.var);
    assert.ok(features.includes(PRIVATE));
  });

  it('nothing stored: get answers the empty element asked for', async () => {
    assert.equal(await stored(pat, 'storage', 'storage:bookmarks'), '<storage xmlns="storage:bookmarks"/>');
  });

  it('bookmarks, roster notes and the delimiter: set, get, overwrite', async () => {
    await pat.iq(set(bookmarks('tea@rooms.example')));
    await pat.iq(
      set(
        xml(
          'storage',
          { xmlns: 'storage:rosternotes' },
          xml(
            'note',
            { jid: 'quinn@localhost', cdate: '2024-01-01T00:00:00Z', mdate: '2024-01-01T00:00:00Z' },
            'met at <FOSDEM> & co',
          ),
        ),
        xml('roster', { xmlns: 'roster:delimiter' }, '::'),
      ),
    );
    assert.match(await stored(pat, 'storage', 'storage:bookmarks'), /tea@rooms\.example.*<nick>Pat<\/nick>/);
    assert.match(await stored(pat, 'storage', 'storage:rosternotes'), /met at &lt;FOSDEM&gt; &amp; co/);
    assert.equal(
      await stored(pat, 'roster', 'roster:delimiter'),
      '<roster xmlns="roster:delimiter">::</roster>',
    );
    // A set replaces the namespace's element as a whole.
    await pat.iq(set(bookmarks('coffee@rooms.example', 'cake@rooms.example')));
    const now = await stored(pat, 'storage', 'storage:bookmarks');
    assert.doesNotMatch(now, /tea@/);
    assert.match(now, /coffee@.*cake@/);
  });

  it('another account neither reads nor writes it', async () => {
    assert.equal(
      await errorOf(quinn, get(xml('storage', { xmlns: 'storage:bookmarks' }), 'pat@localhost')),
      'forbidden',
    );
    const write = set(bookmarks('evil@rooms.example'));
    write.attrs.to = 'pat@localhost';
    assert.equal(await errorOf(quinn, write), 'forbidden');
    // Quinn's own storage is Quinn's: empty.
    assert.equal(await stored(quinn, 'storage', 'storage:bookmarks'), '<storage xmlns="storage:bookmarks"/>');
    assert.match(await stored(pat, 'storage', 'storage:bookmarks'), /coffee@/);
  });

  it('refuses reserved namespaces, empty queries, two namespaces in a get and oversized data', async () => {
    assert.equal(
      await errorOf(pat, set(xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Pat')))),
      'not-acceptable',
    );
    assert.equal(await errorOf(pat, set(xml('query', { xmlns: 'jabber:iq:roster' }))), 'not-acceptable');
    assert.equal(
      await errorOf(pat, xml('iq', { type: 'get' }, xml('query', { xmlns: PRIVATE }))),
      'not-acceptable',
    );
    assert.equal(
      await errorOf(
        pat,
        xml(
          'iq',
          { type: 'get' },
          xml('query', { xmlns: PRIVATE }, xml('a', { xmlns: 'x:a' }), xml('b', { xmlns: 'x:b' })),
        ),
      ),
      'bad-request',
    );
    const big = xml('prefs', { xmlns: 'example:prefs' }, 'x'.repeat(70_000));
    assert.equal(await errorOf(pat, set(big)), 'policy-violation');
    assert.equal(
      await stored(pat, 'prefs', 'example:prefs'),
      '<prefs xmlns="example:prefs"/>',
      'nothing was kept',
    );
  });

  it('survives a server restart', async () => {
    await pat.stop();
    await quinn.stop();
    await server.server.stop();
    // The same data directory (and so the same SQLite file and certificates).
    const first = server;
    const again = await startTestServer({ PAPILLON_DATA_DIR: first.dataDir });
    again.ca = first.ca;
    const stopAgain = again.stop;
    again.stop = async () => {
      await stopAgain();
      rmSync(first.dataDir, { recursive: true, force: true });
    };
    server = again;
    pat = await connectXmpp(server, { username: 'pat', password, resource: 'gajim' });
    const after = await stored(pat, 'storage', 'storage:bookmarks');
    assert.match(after, /coffee@.*cake@/);
    assert.equal(
      await stored(pat, 'roster', 'roster:delimiter'),
      '<roster xmlns="roster:delimiter">::</roster>',
    );
  });
});
