/**
 * XEP-0163 personal eventing with XEP-0115 caps, XEP-0084 avatars, XEP-0172 nicks and
 * XEP-0402 bookmarks, between real @xmpp/client connections and an MSNP12 client.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeParam } from '../../src/msnp/codec/index.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { csrfOf, signIn, WebClient } from '../support/web-client.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { sync } from '../transcripts/msnp-session.ts';

const PASSWORD = 'correct horse battery';
const PUBSUB = 'http://jabber.org/protocol/pubsub';
const EVENT = 'http://jabber.org/protocol/pubsub#event';
const ERRORS = 'http://jabber.org/protocol/pubsub#errors';
const DISCO = 'http://jabber.org/protocol/disco#info';
const CAPS = 'http://jabber.org/protocol/caps';
const DATA = 'urn:xmpp:avatar:data';
const METADATA = 'urn:xmpp:avatar:metadata';
const NICK = 'http://jabber.org/protocol/nick';
const BOOKMARKS = 'urn:xmpp:bookmarks:1';
const CAPS_NODE = 'https://papillon.test/caps';
/** A 1×1 PNG, and a 1×1 GIF. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');
type Element = ReturnType<typeof xml>;

/** XEP-0115 §5.1 `ver` of one client identity and these features (no forms). */
function capsVer(features: string[]): string {
  const s = `client/pc//Test<${[...features].sort().join('<')}<`;
  return createHash('sha1').update(s).digest('base64');
}

/** A client whose disco#info (answered by the library) announces `features`, its caps in every presence. */
async function connectWithCaps(
  server: TestServer,
  username: string,
  resource: string,
  notify: string[],
): Promise<TestXmppClient & { asked: () => number; presence: () => Promise<void> }> {
  const client = await connectXmpp(server, { username, password: PASSWORD, resource });
  const features = [DISCO, ...notify.map((n) => `${n}+notify`)];
  const ver = capsVer(features);
  let asked = 0;
  client.xmpp.iqCallee.get(DISCO, 'query', (ctx: { element: Element }) => {
    asked++;
    return xml(
      'query',
      { xmlns: DISCO, node: ctx.element.attrs.node },
      xml('identity', { category: 'client', type: 'pc', name: 'Test' }),
      ...features.map((f) => xml('feature', { var: f })),
    );
  });
  await client.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  return Object.assign(client, {
    asked: () => asked,
    presence: () =>
      client.xmpp.send(xml('presence', {}, xml('c', { xmlns: CAPS, hash: 'sha-1', node: CAPS_NODE, ver }))),
  });
}

/** The next PEP notification of `node` from `from` that `accept` likes. */
function nextEvent(
  client: TestXmppClient,
  from: string,
  node: string,
  accept: (item: Element | undefined) => boolean = () => true,
) {
  return client.waitFor((el) => {
    const items = el.is('message') ? el.getChild('event', EVENT)?.getChild('items') : undefined;
    return el.attrs.from === from && items?.attrs.node === node && accept(items.getChild('item'));
  });
}

const publish = (
  client: TestXmppClient,
  node: string,
  id: string | undefined,
  payload: Element,
  options?: Record<string, string>,
) =>
  client.iq(
    xml(
      'iq',
      { type: 'set' },
      xml(
        'pubsub',
        { xmlns: PUBSUB },
        xml('publish', { node }, xml('item', { id }, payload)),
        ...(options === undefined
          ? []
          : [
              xml(
                'publish-options',
                {},
                xml(
                  'x',
                  { xmlns: 'jabber:x:data', type: 'submit' },
                  xml(
                    'field',
                    { var: 'FORM_TYPE', type: 'hidden' },
                    xml('value', {}, `${PUBSUB}#publish-options`),
                  ),
                  ...Object.entries(options).map(([k, v]) => xml('field', { var: k }, xml('value', {}, v))),
                ),
              ),
            ]),
      ),
    ),
  );

const items = (client: TestXmppClient, to: string, node: string, ...ids: string[]) =>
  client.iq(
    xml(
      'iq',
      { type: 'get', to },
      xml('pubsub', { xmlns: PUBSUB }, xml('items', { node }, ...ids.map((id) => xml('item', { id })))),
    ),
  );

/** The error an iq promise rejected with: its condition and pubsub#errors condition. */
async function pubsubError(request: Promise<unknown>): Promise<[string | undefined, string | undefined]> {
  try {
    await request;
  } catch (err) {
    // @xmpp/client rejects with a StanzaError: the condition and the application element.
    const { condition, application } = err as { condition?: string; application?: Element };
    return [condition, application?.attrs.xmlns === ERRORS ? application.name : undefined];
  }
  throw new Error('expected an error');
}

describe('PEP: caps, avatars, nicks and bookmarks', () => {
  let server: TestServer;
  let alice: Awaited<ReturnType<typeof connectWithCaps>>;
  let bob: Awaited<ReturnType<typeof connectWithCaps>>;
  let erin: Awaited<ReturnType<typeof connectWithCaps>>;
  let dave: TestXmppClient;
  let carol: MsnpTestClient;

  /** Carol's next NLN for alice (MSNP12: NLN status handle name clientid msnobject). */
  const nextNln = async (accept: (args: string[]) => boolean) => {
    for (;;) {
      const nln = await carol.expect('NLN');
      if (nln.args[1] === 'alice@localhost' && accept(nln.args)) return nln.args;
    }
  };

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const ids: Record<string, string> = {};
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      ids[name] = (
        await core.accounts.create({
          privacy: 'allow-all',
          handle: `${name}@localhost`,
          password: PASSWORD,
          displayName: name,
        })
      ).id;
    }
    for (const other of ['bob', 'carol', 'erin']) {
      await core.relationships.addForward(ids.alice as string, `${other}@localhost`);
      await core.relationships.addForward(ids[other] as string, 'alice@localhost');
    }
    bob = await connectWithCaps(server, 'bob', 'gajim', [METADATA, NICK, BOOKMARKS]);
    await bob.presence();
    // Nobody announced +notify for nothing: erin's client asks for no notification.
    erin = await connectWithCaps(server, 'erin', 'mcabber', []);
    await erin.presence();
    dave = await connectXmpp(server, { username: 'dave', password: PASSWORD, resource: 'x' });
    carol = await msnpSignIn(server, { version: 12, handle: 'carol@localhost', password: PASSWORD });
    await sync(12, carol);
    await msnpSetStatus(carol, 12, 'NLN', { first: true });
    alice = await connectWithCaps(server, 'alice', 'dino', [METADATA, NICK, BOOKMARKS]);
    await alice.presence();
    await nextNln(() => true);
    // Alice's own nick arrives as the last item once her caps are known: alice is ready.
    await nextEvent(alice, 'alice@localhost', NICK);
  });

  after(async () => {
    for (const c of [alice, bob, erin, dave]) await c?.stop();
    await carol?.close();
    await server?.stop();
  });

  it("carries a resource's caps to its contacts and asks a client's disco#info once per ver", async () => {
    const presence = await bob.waitFor((el) => el.is('presence') && el.attrs.from === 'alice@localhost/dino');
    const c = presence.getChild('c', CAPS);
    assert.equal(c?.attrs.node, CAPS_NODE);
    assert.equal(
      c?.attrs.ver,
      capsVer([DISCO, `${METADATA}+notify`, `${NICK}+notify`, `${BOOKMARKS}+notify`]),
    );
    assert.equal(c?.attrs.hash, 'sha-1');
    // Bob announced the same features, so the same ver: the verified cache answered for alice.
    assert.equal(bob.asked(), 1);
    assert.equal(alice.asked(), 0);
    // Bob got alice's nick (her display name) as the last item when he came online… or now.
    const nick = await nextEvent(bob, 'alice@localhost', NICK);
    assert.equal(
      nick.getChild('event', EVENT)?.getChild('items')?.getChild('item')?.getChildText('nick', NICK),
      'alice',
    );
  });

  it('an avatar published over PEP reaches contacts with +notify, the MSN contact, and no one else', async () => {
    const id = sha1(PNG);
    await publish(alice, DATA, id, xml('data', { xmlns: DATA }, PNG.toString('base64')));
    const reply = await publish(
      alice,
      METADATA,
      id,
      xml(
        'metadata',
        { xmlns: METADATA },
        xml('info', { bytes: String(PNG.length), id, type: 'image/png', height: '1', width: '1' }),
      ),
    );
    assert.equal(reply.getChild('pubsub', PUBSUB)?.getChild('publish')?.getChild('item')?.attrs.id, id);

    const event = await nextEvent(bob, 'alice@localhost', METADATA, (item) => item?.attrs.id === id);
    const info = event
      .getChild('event', EVENT)
      ?.getChild('items')
      ?.getChild('item')
      ?.getChild('metadata', METADATA)
      ?.getChild('info');
    assert.deepEqual(
      [info?.attrs.id, info?.attrs.bytes, info?.attrs.type],
      [id, String(PNG.length), 'image/png'],
    );
    // The picture is the account's: the MSN contact sees its MSN object…
    const nln = await nextNln((args) => args[4] !== undefined);
    assert.match(
      decodeParam(nln[4] ?? ''),
      new RegExp(`SHA1D="${Buffer.from(id, 'hex').toString('base64')}"`),
    );
    // …and a PEP client fetches the image from the data node.
    const data = await items(bob, 'alice@localhost', DATA, id);
    const text = data
      .getChild('pubsub', PUBSUB)
      ?.getChild('items')
      ?.getChild('item')
      ?.getChildText('data', DATA);
    assert.deepEqual(Buffer.from(text ?? '', 'base64'), PNG);
    // The publisher's own resource hears it too (XEP-0163 §4: the owner's resources).
    await nextEvent(alice, 'alice@localhost', METADATA, (item) => item?.attrs.id === id);
    // Erin shares presence but asked for no notification: nothing.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(erin.stanzas.filter((el) => el.is('message') && el.getChild('event', EVENT)).length, 0);
  });

  it('a picture uploaded on the web page becomes the PEP avatar', async () => {
    const browser = new WebClient(`http://127.0.0.1:${server.port('http')}`);
    await signIn(browser, 'alice', PASSWORD);
    const csrf = csrfOf((await browser.get('/account')).body);
    const upload = await browser.postMultipart(
      '/account/avatar',
      { csrf },
      { name: 'avatar', filename: 'me.gif', type: 'image/gif', data: GIF },
    );
    assert.equal(upload.status, 303, upload.body);

    const event = await nextEvent(bob, 'alice@localhost', METADATA, (item) => item?.attrs.id === sha1(GIF));
    const info = event
      .getChild('event', EVENT)
      ?.getChild('items')
      ?.getChild('item')
      ?.getChild('metadata', METADATA)
      ?.getChild('info');
    assert.equal(info?.attrs.type, 'image/gif');
    const metadata = await items(bob, 'alice@localhost', METADATA);
    assert.equal(
      metadata.getChild('pubsub', PUBSUB)?.getChild('items')?.getChild('item')?.attrs.id,
      sha1(GIF),
    );
    const data = await items(bob, 'alice@localhost', DATA, sha1(GIF));
    const text = data
      .getChild('pubsub', PUBSUB)
      ?.getChild('items')
      ?.getChild('item')
      ?.getChildText('data', DATA);
    assert.deepEqual(Buffer.from(text ?? '', 'base64'), GIF);
  });

  it('the nick is the display name, both ways', async () => {
    await publish(alice, NICK, 'current', xml('nick', { xmlns: NICK }, 'Alice in PEP'));
    const nln = await nextNln((args) => decodeParam(args[2] ?? '') === 'Alice in PEP');
    assert.equal(decodeParam(nln[2] ?? ''), 'Alice in PEP');
    const event = await nextEvent(
      bob,
      'alice@localhost',
      NICK,
      (item) => item?.getChildText('nick', NICK) === 'Alice in PEP',
    );
    assert.ok(event);
    const core = server.server.core;
    assert.equal((await core.accounts.get('alice@localhost')).displayName, 'Alice in PEP');

    // Renamed elsewhere (an MSN client, the web page, a vCard FN): PEP clients get the new nick.
    await core.accounts.setDisplayName((await core.accounts.get('alice@localhost')).id, 'Alice Again');
    await nextEvent(
      bob,
      'alice@localhost',
      NICK,
      (item) => item?.getChildText('nick', NICK) === 'Alice Again',
    );
    const nick = await items(bob, 'alice@localhost', NICK);
    assert.equal(
      nick.getChild('pubsub', PUBSUB)?.getChild('items')?.getChild('item')?.getChildText('nick', NICK),
      'Alice Again',
    );
  });

  it('keeps bookmarks, private to their owner', async () => {
    const options = {
      'pubsub#persist_items': 'true',
      'pubsub#max_items': 'max',
      'pubsub#send_last_published_item': 'never',
      'pubsub#access_model': 'whitelist',
    };
    for (const room of ['tea@rooms.example', 'cake@rooms.example']) {
      await publish(
        alice,
        BOOKMARKS,
        room,
        xml('conference', { xmlns: BOOKMARKS, name: room, autojoin: 'true' }, xml('nick', {}, 'alice')),
        options,
      );
    }
    // The owner's resources are notified; contacts are not, +notify or not.
    await nextEvent(alice, 'alice@localhost', BOOKMARKS, (item) => item?.attrs.id === 'cake@rooms.example');
    // A client asking for another configuration of the node learns it is not so (XEP-0060 §7.1.5).
    assert.deepEqual(
      await pubsubError(
        publish(alice, BOOKMARKS, 'pie@rooms.example', xml('conference', { xmlns: BOOKMARKS }), {
          'pubsub#access_model': 'open',
        }),
      ),
      ['conflict', 'precondition-not-met'],
    );
    // Kept across sessions.
    await alice.stop();
    alice = await connectWithCaps(server, 'alice', 'dino', [METADATA, NICK, BOOKMARKS]);
    const stored = await items(alice, 'alice@localhost', BOOKMARKS);
    assert.deepEqual(
      stored
        .getChild('pubsub', PUBSUB)
        ?.getChild('items')
        ?.getChildren('item')
        .map((i) => i.attrs.id)
        .sort(),
      ['cake@rooms.example', 'tea@rooms.example'],
    );
    assert.deepEqual(await pubsubError(items(bob, 'alice@localhost', BOOKMARKS)), [
      'not-allowed',
      'closed-node',
    ]);
    assert.equal(
      bob.stanzas.filter((el) => el.getChild('event', EVENT)?.getChild('items')?.attrs.node === BOOKMARKS)
        .length,
      0,
    );
    // Nobody else publishes to alice's nodes.
    const [condition] = await pubsubError(
      bob.iq(
        xml(
          'iq',
          { type: 'set', to: 'alice@localhost' },
          xml(
            'pubsub',
            { xmlns: PUBSUB },
            xml(
              'publish',
              { node: BOOKMARKS },
              xml('item', { id: 'x@rooms.example' }, xml('conference', { xmlns: BOOKMARKS })),
            ),
          ),
        ),
      ),
    );
    assert.equal(condition, 'forbidden');
  });

  it('a resource coming online with +notify gets the last item; a retraction reaches those online', async () => {
    const TUNE = 'http://jabber.org/protocol/tune';
    await publish(alice, TUNE, 'song', xml('tune', { xmlns: TUNE }, xml('title', {}, 'Introduction')));
    // XEP-0163 §4.3.4: a newly available resource of a contact, interested in tunes.
    const phone = await connectWithCaps(server, 'bob', 'phone', [TUNE]);
    try {
      await phone.presence();
      const last = await nextEvent(phone, 'alice@localhost', TUNE);
      const tune = last.getChild('event', EVENT)?.getChild('items')?.getChild('item')?.getChild('tune', TUNE);
      assert.equal(tune?.getChildText('title'), 'Introduction');
      await alice.iq(
        xml(
          'iq',
          { type: 'set' },
          xml('pubsub', { xmlns: PUBSUB }, xml('retract', { node: TUNE }, xml('item', { id: 'song' }))),
        ),
      );
      const retracted = await phone.waitFor(
        (el) => el.getChild('event', EVENT)?.getChild('items')?.getChild('retract')?.attrs.id === 'song',
      );
      assert.equal(retracted.attrs.from, 'alice@localhost');
      // Bob's other resource did not ask for tunes.
      assert.equal(
        bob.stanzas.filter((el) => el.getChild('event', EVENT)?.getChild('items')?.attrs.node === TUNE)
          .length,
        0,
      );
    } finally {
      await phone.stop();
    }
  });

  it("a non-contact cannot read the account's items; a contact can", async () => {
    assert.deepEqual(await pubsubError(items(dave, 'alice@localhost', NICK)), [
      'not-authorized',
      'presence-subscription-required',
    ]);
    assert.deepEqual(await pubsubError(items(dave, 'alice@localhost', METADATA)), [
      'not-authorized',
      'presence-subscription-required',
    ]);
    const nick = await items(bob, 'alice@localhost', NICK);
    assert.ok(nick.getChild('pubsub', PUBSUB)?.getChild('items')?.getChild('item'));
  });

  it('announces PEP on the account and lists its nodes', async () => {
    const info = await alice.iq(
      xml('iq', { type: 'get', to: 'alice@localhost' }, xml('query', { xmlns: DISCO })),
    );
    const query = info.getChild('query', DISCO);
    assert.ok(
      query?.getChildren('identity').some((i) => i.attrs.category === 'pubsub' && i.attrs.type === 'pep'),
    );
    const features = query?.getChildren('feature').map((f) => f.attrs.var) ?? [];
    for (const f of [
      'publish',
      'publish-options',
      'retrieve-items',
      'auto-create',
      'filtered-notifications',
      'access-whitelist',
    ]) {
      assert.ok(features.includes(`${PUBSUB}#${f}`), f);
    }
    const list = await alice.iq(
      xml(
        'iq',
        { type: 'get', to: 'alice@localhost' },
        xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }),
      ),
    );
    const nodes =
      list
        .getChild('query')
        ?.getChildren('item')
        .map((i) => i.attrs.node) ?? [];
    for (const n of [BOOKMARKS, METADATA, NICK]) assert.ok(nodes.includes(n), n);
    const seen = await bob.iq(
      xml(
        'iq',
        { type: 'get', to: 'alice@localhost' },
        xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }),
      ),
    );
    assert.ok(
      !seen
        .getChild('query')
        ?.getChildren('item')
        .some((i) => i.attrs.node === BOOKMARKS),
    );
  });
});
