import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { sync } from '../transcripts/msnp-session.ts';

const BLOCKING = 'urn:xmpp:blocking';
const BL_BIT = 4; // MSNP LST list bits: FL 1, AL 2, BL 4, RL 8

type Element = Awaited<ReturnType<TestXmppClient['iq']>>;

const blocklist = async (c: TestXmppClient): Promise<string[]> => {
  const reply = await c.iq(xml('iq', { type: 'get' }, xml('blocklist', { xmlns: BLOCKING })));
  return (reply.getChild('blocklist', BLOCKING)?.getChildren('item') ?? []).map((i: Element) => i.attrs.jid);
};
const command = (action: 'block' | 'unblock', ...jids: string[]) =>
  xml('iq', { type: 'set' }, xml(action, { xmlns: BLOCKING }, ...jids.map((jid) => xml('item', { jid }))));
/** The push (an iq set from the server) that blocks or unblocks `jid`. */
const isPush = (action: 'block' | 'unblock', jid: string) => (el: Element) =>
  el.is('iq') &&
  el.attrs.type === 'set' &&
  (el.getChild(action, BLOCKING)?.getChildren('item') ?? []).some((i: Element) => i.attrs.jid === jid);
/** The error reply to the stanza with that id: [condition, app-specific condition]. */
async function errorOf(c: TestXmppClient, id: string): Promise<[string | undefined, string | undefined]> {
  const el = await c.waitFor((e) => e.attrs.id === id && e.attrs.type === 'error');
  const error = el.getChild('error');
  const conditions = (error?.children ?? []).filter(
    (n: unknown): n is Element => typeof n === 'object' && n !== null && (n as Element).name !== 'text',
  );
  const stanza = conditions.find((n: Element) => n.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas');
  const app = conditions.find((n: Element) => n.attrs.xmlns === 'urn:xmpp:blocking:errors');
  return [stanza?.name, app?.name];
}
/** The MSNP12 list bits of `handle` in the SYN answer. */
function lstBits(lines: MsnpCommand[], handle: string): number {
  const lst = lines.find((c) => c.name === 'LST' && c.args.includes(`N=${handle}`));
  return Number(lst?.args.find((a) => /^\d+$/.test(a)) ?? 0);
}

describe('XEP-0191 blocking command over the MSN block list', () => {
  let server: TestServer;
  let annOne: TestXmppClient;
  let annTwo: TestXmppClient;
  let ben: TestXmppClient;
  const password = 'blocking-secret';

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const ann = await core.accounts.create({ privacy: 'allow-all', handle: 'ann@localhost', password });
    const b = await core.accounts.create({ privacy: 'allow-all', handle: 'ben@localhost', password });
    await core.accounts.create({ privacy: 'allow-all', handle: 'cat@localhost', password });
    await core.relationships.addForward(ann.id, b.handle);
    await core.relationships.addForward(b.id, ann.handle);
    annOne = await connectXmpp(server, { username: 'ann', password, resource: 'one' });
    annTwo = await connectXmpp(server, { username: 'ann', password, resource: 'two' });
    ben = await connectXmpp(server, { username: 'ben', password, resource: 'desk' });
    for (const c of [annOne, annTwo, ben]) {
      await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
      await c.xmpp.send(xml('presence'));
    }
    await ben.waitFor(
      (el) => el.is('presence') && el.attrs.from?.startsWith('ann@localhost/') && !el.attrs.type,
    );
    for (const c of [annOne, annTwo])
      await c.waitFor((el) => el.is('presence') && el.attrs.from === 'ben@localhost/desk' && !el.attrs.type);
  });
  after(async () => {
    for (const c of [annOne, annTwo, ben]) await c.stop();
    await server.stop();
  });

  it('the server announces urn:xmpp:blocking', async () => {
    const info = await annOne.iq(
      xml(
        'iq',
        { type: 'get', to: 'localhost' },
        xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }),
      ),
    );
    const features = (info.getChild('query')?.getChildren('feature') ?? []).map((f: Element) => f.attrs.var);
    assert.ok(features.includes(BLOCKING));
  });

  it('blocks: pushes to every resource that asked for the list, the contact sees the user go offline, and messages bounce both ways', async () => {
    assert.deepEqual(await blocklist(annOne), []);
    assert.deepEqual(await blocklist(annTwo), []);
    await annOne.iq(command('block', 'ben@localhost'));
    await annOne.waitFor(isPush('block', 'ben@localhost'));
    await annTwo.waitFor(isPush('block', 'ben@localhost'));
    // §3.3: the contact gets the user's unavailable presence.
    await ben.waitFor(
      (el) =>
        el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from?.startsWith('ann@localhost'),
    );
    assert.deepEqual(await blocklist(annTwo), ['ben@localhost']);
    // §3.3 the other way: the user no longer sees the blocked contact, nor its changes.
    await annOne.waitFor(
      (el) => el.is('presence') && el.attrs.from === 'ben@localhost/desk' && el.attrs.type === 'unavailable',
    );
    await ben.xmpp.send(xml('presence', {}, xml('show', {}, 'away')));

    // From the blocked contact: service-unavailable, and nothing reaches the user.
    await ben.xmpp.send(
      xml('message', { to: 'ann@localhost', type: 'chat', id: 'in1' }, xml('body', {}, 'hi?')),
    );
    assert.deepEqual(await errorOf(ben, 'in1'), ['service-unavailable', undefined]);
    // To the blocked contact: not-acceptable with <blocked/>.
    await annOne.xmpp.send(
      xml('message', { to: 'ben@localhost', type: 'chat', id: 'out1' }, xml('body', {}, 'psst')),
    );
    assert.deepEqual(await errorOf(annOne, 'out1'), ['not-acceptable', 'blocked']);
    await annOne.xmpp.send(
      xml(
        'iq',
        { to: 'ben@localhost/desk', type: 'get', id: 'out2' },
        xml('ping', { xmlns: 'urn:xmpp:ping' }),
      ),
    );
    assert.deepEqual(await errorOf(annOne, 'out2'), ['not-acceptable', 'blocked']);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      !annOne.stanzas
        .concat(annTwo.stanzas)
        .some((el) => el.is('message') && el.getChildText('body') === 'hi?'),
    );
    assert.ok(!ben.stanzas.some((el) => el.is('message') && el.getChildText('body') === 'psst'));
    assert.ok(!annOne.stanzas.some((el) => el.is('presence') && el.attrs.from === 'ben@localhost/desk'));
  });

  it('the XMPP block is on the MSN block list; an MSN client’s BL changes are pushed to XMPP', async () => {
    const msn = await msnpSignIn(server, { version: 12, handle: 'ann@localhost', password });
    try {
      const lines = await sync(12, msn);
      assert.ok(lstBits(lines, 'ben@localhost') & BL_BIT, 'ben is on the BL');
      ben.stanzas.length = 0; // what Ben saw before this point
      // MSN Messenger 7.5 takes Ben off and puts Cat on the block list.
      await send(msn, (t) => `REM ${t} BL ben@localhost`, 'REM');
      await send(msn, (t) => `ADC ${t} BL N=cat@localhost`, 'ADC');
      await annTwo.waitFor(isPush('unblock', 'ben@localhost'));
      await annTwo.waitFor(isPush('block', 'cat@localhost'));
      assert.deepEqual(await blocklist(annOne), ['cat@localhost']);
    } finally {
      await msn.close();
    }
    // Ben is unblocked: Ann sees him (away) again, his message gets through and he sees Ann online.
    const back = await annOne.waitFor(
      (el) => el.is('presence') && el.attrs.from === 'ben@localhost/desk' && !el.attrs.type,
    );
    assert.equal(back.getChildText('show'), 'away');
    await ben.waitFor(
      (el) => el.is('presence') && !el.attrs.type && el.attrs.from?.startsWith('ann@localhost'),
    );
    await ben.xmpp.send(xml('message', { to: 'ann@localhost', type: 'chat' }, xml('body', {}, 'back')));
    await annOne.waitFor((el) => el.is('message') && el.getChildText('body') === 'back');
  });

  it('unblock with no item unblocks everyone (§3.5), with pushes', async () => {
    await annOne.iq(command('block', 'ben@localhost'));
    assert.deepEqual(await blocklist(annOne), ['ben@localhost', 'cat@localhost']);
    await annOne.iq(xml('iq', { type: 'set' }, xml('unblock', { xmlns: BLOCKING })));
    await annTwo.waitFor(isPush('unblock', 'ben@localhost'));
    await annTwo.waitFor(isPush('unblock', 'cat@localhost'));
    assert.deepEqual(await blocklist(annOne), []);
  });

  it('refuses an empty block, a malformed JID, unknown accounts and oneself, changing nothing', async () => {
    const cases: Array<[Element, string]> = [
      [xml('iq', { type: 'set', id: 'e1' }, xml('block', { xmlns: BLOCKING })), 'bad-request'],
      [command('block', 'cat@localhost', '@@bad'), 'jid-malformed'],
      [command('block', 'cat@localhost', 'nobody@localhost'), 'item-not-found'],
      [command('block', 'ann@localhost'), 'not-acceptable'],
      [command('block', 'localhost'), 'feature-not-implemented'],
    ];
    for (const [iq, condition] of cases) {
      iq.attrs.id = `bad-${condition}`;
      await annOne.xmpp.send(iq);
      assert.equal((await errorOf(annOne, iq.attrs.id))[0], condition);
    }
    assert.deepEqual(await blocklist(annOne), [], 'cat was not blocked by the refused commands');
  });
});

async function send(client: MsnpTestClient, line: (trid: number) => string, reply: string) {
  client.send(line(client.trid()));
  return client.expect(reply);
}
