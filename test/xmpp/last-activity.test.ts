import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { sync } from '../transcripts/msnp-session.ts';

const LAST = 'jabber:iq:last';
type Element = Awaited<ReturnType<TestXmppClient['iq']>>;

const lastOf = (to: string) => xml('iq', { type: 'get', to }, xml('query', { xmlns: LAST }));
/** The `seconds` of a last-activity answer, or the error condition. */
async function ask(c: TestXmppClient, to: string): Promise<number | string> {
  const iq = lastOf(to);
  iq.attrs.id = `l${Math.random().toString(36).slice(2)}`;
  await c.xmpp.send(iq);
  const reply = await c.waitFor((e) => e.attrs.id === iq.attrs.id);
  if (reply.attrs.type === 'result') return Number(reply.getChild('query', LAST)?.attrs.seconds);
  return (
    reply
      .getChild('error')
      ?.children.find(
        (n: unknown): n is Element =>
          typeof n === 'object' && (n as Element).attrs?.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas',
      )?.name ?? 'error'
  );
}
const features = async (c: TestXmppClient, to: string): Promise<string[]> => {
  const info = await c.iq(
    xml('iq', { type: 'get', to }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })),
  );
  return (info.getChild('query')?.getChildren('feature') ?? []).map((f: Element) => f.attrs.var);
};

describe('XEP-0012 last activity, XEP-0202 entity time, and disco#info listing them', () => {
  let server: TestServer;
  let ivy: TestXmppClient;
  let kim: TestXmppClient;
  const password = 'last-activity-secret';

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const i = await core.accounts.create({ privacy: 'allow-all', handle: 'ivy@localhost', password });
    const j = await core.accounts.create({ privacy: 'allow-all', handle: 'jon@localhost', password });
    await core.accounts.create({ privacy: 'allow-all', handle: 'kim@localhost', password });
    await core.accounts.create({ privacy: 'allow-all', handle: 'lea@localhost', password });
    await core.relationships.addForward(i.id, j.handle);
    await core.relationships.addForward(j.id, i.handle);
    await core.relationships.addForward(i.id, 'lea@localhost');
    ivy = await connectXmpp(server, { username: 'ivy', password, resource: 'gajim' });
    kim = await connectXmpp(server, { username: 'kim', password, resource: 'poezio' });
  });
  after(async () => {
    await ivy?.stop();
    await kim?.stop();
    await server?.stop();
  });

  it('the server answers its uptime and its time', async () => {
    const uptime = await ask(ivy, 'localhost');
    assert.equal(typeof uptime, 'number');
    assert.ok(Number.isInteger(uptime) && (uptime as number) >= 0);
    const reply = await ivy.iq(
      xml('iq', { type: 'get', to: 'localhost' }, xml('time', { xmlns: 'urn:xmpp:time' })),
    );
    const time = reply.getChild('time', 'urn:xmpp:time');
    assert.match(time?.getChildText('tzo') ?? '', /^[+-]\d\d:\d\d$/);
    const utc = time?.getChildText('utc') ?? '';
    assert.match(utc, /Z$/);
    assert.ok(Math.abs(Date.parse(utc) - Date.now()) < 5000);
  });

  it('disco#info lists blocking, private storage, last activity and time; an account lists last activity', async () => {
    const server = await features(ivy, 'localhost');
    for (const f of ['urn:xmpp:blocking', 'jabber:iq:private', LAST, 'urn:xmpp:time'])
      assert.ok(server.includes(f), `server feature ${f}`);
    assert.ok((await features(ivy, 'jon@localhost')).includes(LAST));
  });

  it('a contact signed in with MSN: 0 while online, the seconds since it signed out after', async () => {
    const jon = await msnpSignIn(server, { version: 12, handle: 'jon@localhost', password });
    await sync(12, jon);
    await msnpSetStatus(jon, 12, 'NLN', { first: true });
    assert.equal(await ask(ivy, 'jon@localhost'), 0);
    jon.send('OUT');
    await jon.closed();
    await new Promise((r) => setTimeout(r, 1100));
    const seconds = await ask(ivy, 'jon@localhost');
    assert.equal(typeof seconds, 'number');
    assert.ok((seconds as number) >= 1 && (seconds as number) < 10, `got ${seconds}`);
  });

  it('forbidden to those who may not see the contact, and for unknown accounts', async () => {
    // Kim has no subscription to Jon.
    assert.equal(await ask(kim, 'jon@localhost'), 'forbidden');
    assert.equal(await ask(kim, 'nobody@localhost'), 'forbidden');
  });

  it('a contact never seen online since records began: item-not-found', async () => {
    // Ivy is subscribed to Lea (open privacy), who has never signed in.
    assert.equal(await ask(ivy, 'lea@localhost'), 'item-not-found');
  });
});
