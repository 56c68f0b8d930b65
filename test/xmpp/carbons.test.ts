import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NS } from '../../src/xmpp/namespaces.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { sync, textMessage } from '../transcripts/msnp-session.ts';

// XEP-0280: Ann is signed in on her desktop and her phone; both show the whole
// conversation, whichever of them she types on, with XMPP and with MSN contacts.

type Element = Awaited<ReturnType<TestXmppClient['waitFor']>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The message inside a carbon copy (`sent` or `received`), when `el` is one from the user's bare JID. */
function carbon(el: Element, kind: 'sent' | 'received', bare = 'ann@localhost'): Element | undefined {
  if (!el.is('message') || el.attrs.from !== bare) return undefined;
  return el.getChild(kind, NS.carbons)?.getChild('forwarded', NS.forward)?.getChild('message', NS.client);
}

const isCarbon = (kind: 'sent' | 'received', body: string) => (el: Element) =>
  carbon(el, kind)?.getChildText('body') === body;
const isBody = (body: string) => (el: Element) => el.is('message') && el.getChildText('body') === body;

async function enableCarbons(c: TestXmppClient, on = true): Promise<void> {
  const reply = await c.iq(xml('iq', { type: 'set' }, xml(on ? 'enable' : 'disable', { xmlns: NS.carbons })));
  assert.equal(reply.attrs.type, 'result');
}

/** Nothing matching arrives within `ms`. */
async function nothing(c: TestXmppClient, match: (el: Element) => boolean, ms = 300): Promise<void> {
  await sleep(ms);
  assert.deepEqual(c.stanzas.filter(match).map(String), []);
}

describe('XEP-0280 message carbons', () => {
  let server: TestServer;
  let desk: TestXmppClient;
  let phone: TestXmppClient;
  let bob: TestXmppClient;
  let mia: MsnpTestClient;
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const ids: Record<string, string> = {};
    for (const [name, displayName] of [
      ['ann', 'Ann'],
      ['bob', 'Bob'],
      ['mia', 'Mia'],
    ]) {
      const a = await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-secret`,
        displayName,
      });
      ids[name as string] = a.id;
    }
    for (const [a, b] of [
      ['ann', 'bob'],
      ['bob', 'ann'],
      ['ann', 'mia'],
      ['mia', 'ann'],
    ])
      await core.relationships.addForward(ids[a as string] ?? '', `${b}@localhost`);
    desk = await connectXmpp(server, { username: 'ann', password: 'ann-secret', resource: 'desk' });
    phone = await connectXmpp(server, { username: 'ann', password: 'ann-secret', resource: 'phone' });
    bob = await connectXmpp(server, { username: 'bob', password: 'bob-secret', resource: 'pc' });
    for (const c of [desk, phone, bob]) await c.xmpp.send(xml('presence'));
    await desk.waitFor((el) => el.is('presence') && el.attrs.from === 'ann@localhost/phone');
    // Contacts see the account's aggregate presence (one resource).
    await bob.waitFor((el) => el.is('presence') && (el.attrs.from ?? '').startsWith('ann@localhost/'));
  });
  after(async () => {
    for (const c of [desk, phone, bob]) await c.stop();
    await mia?.close();
    await server.stop();
  });

  it('the server says it supports carbons', async () => {
    const info = await desk.iq(
      xml(
        'iq',
        { type: 'get', to: 'localhost' },
        xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }),
      ),
    );
    const features = info
      .getChild('query')
      ?.getChildren('feature')
      .map((f) => f.attrs.var);
    assert.ok(features?.includes(NS.carbons), String(info));
  });

  it('copies what one resource sends to the other, and what one resource receives', async () => {
    await enableCarbons(desk);
    await enableCarbons(phone);
    await enableCarbons(phone); // §10.1: twice is fine

    // Ann types on her desktop: her phone shows it as sent.
    await desk.xmpp.send(
      xml('message', { to: 'bob@localhost', type: 'chat', id: 'm1' }, xml('body', {}, 'Lunch?')),
    );
    await bob.waitFor(isBody('Lunch?'));
    const sent = await phone.waitFor(isCarbon('sent', 'Lunch?'));
    assert.equal(sent.attrs.to, 'ann@localhost/phone');
    assert.equal(sent.attrs.type, 'chat');
    const original = carbon(sent, 'sent');
    assert.equal(original?.attrs.from, 'ann@localhost/desk');
    assert.equal(original?.attrs.to, 'bob@localhost');
    assert.equal(original?.attrs.id, 'm1');

    // Bob answers the desktop (a full JID): the phone shows it as received.
    await bob.xmpp.send(
      xml('message', { to: 'ann@localhost/desk', type: 'chat' }, xml('body', {}, 'Sure, noon')),
    );
    await desk.waitFor(isBody('Sure, noon'));
    const received = await phone.waitFor(isCarbon('received', 'Sure, noon'));
    assert.equal(received.attrs.to, 'ann@localhost/phone');
    assert.equal(carbon(received, 'received')?.attrs.from, 'bob@localhost/pc');

    // §8: no copy back to the sender; §7: no copy to a resource that got the original.
    await nothing(desk, (el) => carbon(el, 'sent') !== undefined || carbon(el, 'received') !== undefined);
    // A message to the bare JID reaches both resources once, with no copies.
    await bob.xmpp.send(
      xml('message', { to: 'ann@localhost', type: 'chat' }, xml('body', {}, 'Both of you')),
    );
    await desk.waitFor(isBody('Both of you'));
    await phone.waitFor(isBody('Both of you'));
    await nothing(phone, (el) => carbon(el, 'received') !== undefined);
  });

  it('copies `normal` messages with a body; honours <private/> and <no-copy/>', async () => {
    await desk.xmpp.send(xml('message', { to: 'bob@localhost' }, xml('body', {}, 'A normal one')));
    await phone.waitFor(isCarbon('sent', 'A normal one'));

    await desk.xmpp.send(
      xml(
        'message',
        { to: 'bob@localhost', type: 'chat' },
        xml('body', {}, 'Just for Bob'),
        xml('private', { xmlns: NS.carbons }),
      ),
    );
    const delivered = await bob.waitFor(isBody('Just for Bob'));
    // §9: the receiving server takes <private/> out.
    assert.equal(delivered.getChild('private', NS.carbons), undefined);
    await desk.xmpp.send(
      xml(
        'message',
        { to: 'bob@localhost', type: 'chat' },
        xml('body', {}, 'Not copied either'),
        xml('no-copy', { xmlns: NS.hints }),
      ),
    );
    await bob.waitFor(isBody('Not copied either'));
    await bob.xmpp.send(
      xml(
        'message',
        { to: 'ann@localhost/desk', type: 'chat' },
        xml('body', {}, 'Private reply'),
        xml('private', { xmlns: NS.carbons }),
      ),
    );
    await desk.waitFor(isBody('Private reply'));
    await nothing(phone, (el) => carbon(el, 'sent') !== undefined || carbon(el, 'received') !== undefined);
  });

  it('a resource that disables carbons gets no more copies', async () => {
    await enableCarbons(phone, false);
    await desk.xmpp.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, 'Quiet now')));
    await bob.waitFor(isBody('Quiet now'));
    await nothing(phone, (el) => carbon(el, 'sent') !== undefined);
    await enableCarbons(phone);
  });

  it('with an MSN (MSNP12) contact: what Ann sends from one resource and what Mia answers reach the other', async () => {
    mia = await msnpSignIn(server, { version: 12, handle: 'mia@localhost', password: 'mia-secret' });
    await sync(12, mia);
    await msnpSetStatus(mia, 12, 'NLN', { first: true });
    await desk.waitFor((el) => el.is('presence') && el.attrs.from === 'mia@localhost/msn');

    await desk.xmpp.send(
      xml('message', { to: 'mia@localhost', type: 'chat' }, xml('body', {}, 'Hi Mia, from my desk')),
    );
    const sent = await phone.waitFor(isCarbon('sent', 'Hi Mia, from my desk'));
    assert.equal(carbon(sent, 'sent')?.attrs.to, 'mia@localhost');

    const rng = await mia.expect('RNG');
    const [host, port] = (rng.args[1] ?? '').split(':');
    const sb = await MsnpTestClient.connect(Number(port), host);
    sb.send(`ANS ${sb.trid()} mia@localhost ${rng.args[3]} ${rng.args[0]}`);
    await sb.expect('ANS');
    assert.match((await sb.expect('MSG')).payload?.toString() ?? '', /Hi Mia, from my desk$/);

    sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('Hi Ann!'));
    // Mia answers the resource that wrote to her; the phone gets the answer as a copy.
    const reply = await desk.waitFor(isBody('Hi Ann!'));
    assert.equal(reply.attrs.from, 'mia@localhost/msn');
    assert.equal(reply.attrs.to, 'ann@localhost/desk');
    const received = await phone.waitFor(isCarbon('received', 'Hi Ann!'));
    assert.equal(carbon(received, 'received')?.attrs.from, 'mia@localhost/msn');
    await nothing(phone, isBody('Hi Ann!'));

    // Ann picks up her phone and answers from there: the desktop gets the copy, Mia the text.
    await phone.xmpp.send(
      xml('message', { to: 'mia@localhost/msn', type: 'chat' }, xml('body', {}, 'On my phone now')),
    );
    assert.match((await sb.expect('MSG')).payload?.toString() ?? '', /On my phone now$/);
    await desk.waitFor(isCarbon('sent', 'On my phone now'));
    // Mia's next message follows Ann to her phone.
    sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('Following you'));
    await phone.waitFor(isBody('Following you'));
    await desk.waitFor(isCarbon('received', 'Following you'));
    await sb.close();
  });
});
