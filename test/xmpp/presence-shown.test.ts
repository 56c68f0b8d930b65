/**
 * Issue 14: a session no longer keeps the presence stanza it last showed of each contact,
 * only a digest of it (modules/presence.ts). What a user sees must not change: every
 * change of a contact's presence arrives, back and forth, and a contact's repeat of
 * what the session already shows (an MSN-only change) does not arrive twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';

type Element = ReturnType<typeof xml>;

const isPresenceFrom = (from: string) => (el: Element) => el.is('presence') && el.attrs.from === from;

/** A stanza handled after everything the client sent before (a session handles stanzas in order). */
async function settled(client: TestXmppClient): Promise<void> {
  await client.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
}

/** The presences `client` received from `from` so far, taken out of its inbox. */
function takePresences(client: TestXmppClient, from: string): Element[] {
  const taken = client.stanzas.filter(isPresenceFrom(from));
  for (const el of taken) client.stanzas.splice(client.stanzas.indexOf(el), 1);
  return taken;
}

describe('presence shown to a session (issue 14)', () => {
  let server: TestServer;
  let ids: Record<string, string>;
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    ids = {};
    for (const name of ['ann', 'ben']) {
      const account = await core.accounts.create({
        handle: `${name}@localhost`,
        password: `${name}-secret`,
        displayName: name,
      });
      ids[name] = account.id;
    }
    for (const [x, y] of [
      ['ann', 'ben'],
      ['ben', 'ann'],
    ] as Array<[string, string]>) {
      await core.relationships.addForward(ids[x] as string, `${y}@localhost`);
      await core.relationships.allow(ids[x] as string, `${y}@localhost`);
    }
  });
  after(async () => {
    await server.stop();
  });

  it('every change of a contact’s presence arrives, back and forth; a repeat does not', async () => {
    const ann = await connectXmpp(server, { username: 'ann', password: 'ann-secret', resource: 'pc' });
    const ben = await connectXmpp(server, { username: 'ben', password: 'ben-secret', resource: 'phone' });
    try {
      await ann.xmpp.send(xml('presence'));
      await settled(ann);
      const from = 'ben@localhost/phone';
      const shows: Array<string | undefined> = [];
      for (const show of ['away', undefined, 'away', 'dnd', 'away']) {
        await ben.xmpp.send(show ? xml('presence', {}, xml('show', {}, show)) : xml('presence'));
        const got = await ann.waitFor(isPresenceFrom(from));
        ann.stanzas.splice(ann.stanzas.indexOf(got), 1);
        shows.push(got.getChildText('show') ?? undefined);
      }
      assert.deepEqual(shows, ['away', undefined, 'away', 'dnd', 'away']);
      // A change XMPP does not show (the MSN display name) repeats the same presence: not sent again.
      await server.server.core.accounts.setDisplayName(ids.ben as string, 'Benjamin');
      // Then a change it shows, which must come through alone.
      await ben.xmpp.send(xml('presence', {}, xml('status', {}, 'back at 5')));
      const status = await ann.waitFor(isPresenceFrom(from));
      assert.equal(status.getChildText('status'), 'back at 5');
      await settled(ann);
      assert.deepEqual(
        takePresences(ann, from).filter((el) => el !== status),
        [],
        'no repeat of a presence already shown',
      );
    } finally {
      await Promise.all([ann.stop(), ben.stop()]);
    }
  });
});
