import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { NS } from '../../src/xmpp/namespaces.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { RawXmppClient, targetOf, type XmlElement, xml } from '../support/xmpp-raw.ts';

// Issue 13: offline messages are delivered at least once. A client whose TCP connection
// is reset right after they were written gets them again at its next sign-in, the very
// same stanzas (ids, original delay stamps); only the client's XEP-0198 acknowledgement,
// or without stream management the connection staying up (or a clean close), takes them
// out of the store.

const COUNT = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const offlineMessage = (el: XmlElement) =>
  el.name === 'message' && el.getChild('delay', NS.delay) !== undefined;
const isSm = (name: string) => (el: XmlElement) => el.xmlns === NS.sm && el.name === name;

interface SignedIn {
  c: RawXmppClient;
  /** The TCP socket under TLS: what a reset is sent on. */
  tcp: Socket;
  /** XEP-0198's `<enabled/>`, when enabled: 'h' counts the stanzas after it. */
  enabled?: XmlElement;
}

describe('offline messages: delivered again until the client has them', () => {
  let server: TestServer;
  let sam: RawXmppClient;
  const ids: Record<string, string> = {};

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    for (const name of ['sam', 'ray', 'rex', 'roy', 'rob', 'ria']) {
      const account = await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-secret`,
      });
      ids[name] = account.id;
    }
    sam = await RawXmppClient.login(targetOf(server), {
      username: 'sam',
      password: 'sam-secret',
      resource: 'pc',
    });
  });
  after(async () => {
    sam.destroy();
    await server.stop();
  });

  const stored = (name: string) => server.server.core.offline.count(ids[name] ?? '');
  const storedIds = async (name: string) =>
    (await server.server.core.offline.pending(ids[name] ?? '')).map((m) => m.id);

  async function storedBecomes(name: string, count: number, ms = 4000): Promise<void> {
    for (let waited = 0; waited < ms && (await stored(name)) !== count; waited += 25) await sleep(25);
    assert.equal(await stored(name), count);
  }

  /** Sam writes `COUNT` chat messages with ids to `name`, who is offline; resolves once they are stored. */
  async function sendWhileOffline(name: string): Promise<void> {
    for (let i = 0; i < COUNT; i++) {
      await sam.send(
        xml(
          'message',
          { to: `${name}@localhost`, type: 'chat', id: `${name}-${i}` },
          xml('body', {}, `m${i}`),
        ),
      );
    }
    await storedBecomes(name, COUNT);
  }

  async function signIn(name: string, sm?: 'plain' | 'resumable', resource = 'phone'): Promise<SignedIn> {
    const c = await RawXmppClient.connect(targetOf(server));
    const tcp = c.socket as Socket;
    await c.open();
    await c.starttls();
    await c.authenticate(name, `${name}-secret`);
    await c.bind(resource);
    let enabled: XmlElement | undefined;
    if (sm) {
      const answer = c.expect((el) => el.xmlns === NS.sm);
      // A 1 s resumption window (§5 'max'): the session ends soon after the drop.
      await c.send(
        xml('enable', { xmlns: NS.sm, ...(sm === 'resumable' ? { resume: 'true', max: '1' } : {}) }),
      );
      enabled = await answer;
      assert.equal(enabled.name, 'enabled');
    }
    await c.presence();
    return { c, tcp, ...(enabled ? { enabled } : {}) };
  }

  /** The offline messages, as received (serialized), in order. */
  async function receiveAll(c: RawXmppClient): Promise<string[]> {
    const got: string[] = [];
    for (let i = 0; i < COUNT; i++) got.push(String(await c.expect(offlineMessage, 5000)));
    assert.deepEqual(
      got.map((s) => /<body>([^<]*)</.exec(s)?.[1]),
      Array.from({ length: COUNT }, (_, i) => `m${i}`),
    );
    return got;
  }

  /** A TCP reset: the client is gone without a word (RFC 6120 §4.4's clean close never comes). */
  async function reset(signedIn: SignedIn): Promise<void> {
    signedIn.tcp.resetAndDestroy();
    await signedIn.c.whenClosed;
  }

  it('a TCP reset right after they were written: delivered again, the same stanzas; a clean close takes them', async () => {
    await sendWhileOffline('ray');
    const before = await storedIds('ray');
    const first = await signIn('ray');
    const firstTime = await receiveAll(first.c);
    for (const [i, stanza] of firstTime.entries()) assert.match(stanza, new RegExp(`id="ray-${i}"`));
    await reset(first);
    // Back in the store at once, as they were.
    await storedBecomes('ray', COUNT);
    assert.deepEqual(await storedIds('ray'), before);

    const second = await signIn('ray');
    assert.deepEqual(await receiveAll(second.c), firstTime, 'same ids, same original delay stamps');
    // RFC 6120 §4.4: the client closes its stream: it has them.
    await second.c.close();
    await storedBecomes('ray', 0);

    const third = await signIn('ray');
    assert.ok(await third.c.expectNone(offlineMessage, 500), 'no duplicate at the third sign-in');
    await third.c.close();
  });

  it('without stream management: a connection that stays up keeps nothing stored', async () => {
    await sendWhileOffline('rex');
    const first = await signIn('rex');
    await receiveAll(first.c);
    assert.equal(await stored('rex'), COUNT, 'held until the connection has stayed up a moment');
    await storedBecomes('rex', 0);
    // Dropped now: too late to matter.
    await reset(first);
    const second = await signIn('rex');
    assert.ok(await second.c.expectNone(offlineMessage, 500));
    await second.c.close();
  });

  for (const sm of ['plain', 'resumable'] as const) {
    it(`with XEP-0198 (${sm}): unacknowledged at the drop, delivered again; acknowledged, gone at once`, async () => {
      const name = sm === 'plain' ? 'roy' : 'rob';
      await sendWhileOffline(name);
      const first = await signIn(name, sm);
      const firstTime = await receiveAll(first.c);
      // §4: the server asks at once; this client never answers.
      await first.c.expect(isSm('r'));
      await sleep(2500); // past any grace period: only the acknowledgement counts
      assert.equal(await stored(name), COUNT);
      await reset(first);
      // Not rescued as new messages (XEP-0198 §5): the very same ones wait.
      await storedBecomes(name, COUNT, 4000);

      const second = await signIn(name, sm);
      assert.deepEqual(await receiveAll(second.c), firstTime, 'same ids, same original delay stamps');
      await second.c.expect(isSm('r'));
      const since = second.c.log.slice(second.c.log.indexOf(second.enabled as XmlElement) + 1);
      const handled = since.filter((el) => ['message', 'presence', 'iq'].includes(el.name)).length;
      await second.c.send(xml('a', { xmlns: NS.sm, h: String(handled) }));
      await storedBecomes(name, 0, 1000);
      await reset(second);

      const third = await signIn(name, sm);
      assert.ok(await third.c.expectNone(offlineMessage, 500), 'no duplicate at the third sign-in');
      await third.c.close();
    });
  }

  it('two resources signing in at once share the messages, none twice', async () => {
    await sendWhileOffline('ria');
    const [a, b] = await Promise.all([signIn('ria', undefined, 'one'), signIn('ria', undefined, 'two')]);
    await sleep(500);
    const got = [...a.c.drain(offlineMessage), ...b.c.drain(offlineMessage)].map(
      (el) => el.getChildText('body') ?? '',
    );
    assert.equal(got.length, COUNT, 'none twice');
    assert.deepEqual(new Set(got).size, COUNT);
    await Promise.all([a.c.close(), b.c.close()]);
    await storedBecomes('ria', 0);
  });
});
