/**
 * The account's picture, one for every protocol: uploaded on the web page or set in an
 * XMPP vCard, it reaches XMPP contacts (XEP-0153 hash in presence, XEP-0054 PHOTO) and
 * MSN contacts (the MSN object in NLN/ILN; test/msnp/display-picture.test.ts fetches it).
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
const UPDATE = 'vcard-temp:x:update';
/** A 1×1 PNG, and a 1×1 GIF. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');

describe('the account picture across protocols', () => {
  let server: TestServer;
  let bob: TestXmppClient;
  let carol: MsnpTestClient;
  let alice: TestXmppClient;

  /** The photo hash in the next presence from alice that bob gets, once `accept` likes it. */
  const nextPhoto = async (accept: (photo: string | undefined) => boolean) => {
    const presence = await bob.waitFor(
      (el) =>
        el.is('presence') &&
        el.attrs.from?.startsWith('alice@localhost/') === true &&
        accept(el.getChild('x', UPDATE)?.getChildText('photo') ?? undefined),
    );
    return presence.getChild('x', UPDATE)?.getChildText('photo');
  };
  /** The SHA1D of the MSN object in carol's next NLN for alice. */
  const nextMsnObjectSha1 = async () => {
    for (;;) {
      const nln = await carol.expect('NLN');
      if (nln.args[1] !== 'alice@localhost') continue;
      const object = decodeParam(nln.args[4] ?? '');
      return /SHA1D="([^"]*)"/.exec(object)?.[1];
    }
  };
  const setVcard = (...children: ReturnType<typeof xml>[]) =>
    alice.iq(xml('iq', { type: 'set' }, xml('vCard', { xmlns: 'vcard-temp' }, ...children)));
  const vcardOf = async (handle: string) =>
    (await bob.iq(xml('iq', { type: 'get', to: handle }, xml('vCard', { xmlns: 'vcard-temp' })))).getChild(
      'vCard',
      'vcard-temp',
    );

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const ids: Record<string, string> = {};
    for (const name of ['alice', 'bob', 'carol']) {
      ids[name] = (
        await core.accounts.create({
          privacy: 'allow-all',
          handle: `${name}@localhost`,
          password: PASSWORD,
          displayName: name,
        })
      ).id;
    }
    for (const [a, b] of [
      ['alice', 'bob'],
      ['alice', 'carol'],
    ] as const) {
      await core.relationships.addForward(ids[a] as string, `${b}@localhost`);
      await core.relationships.addForward(ids[b] as string, `${a}@localhost`);
    }
    bob = await connectXmpp(server, { username: 'bob', password: PASSWORD, resource: 'gajim' });
    await bob.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    await bob.xmpp.send(xml('presence'));
    carol = await msnpSignIn(server, { version: 12, handle: 'carol@localhost', password: PASSWORD });
    await sync(12, carol);
    await msnpSetStatus(carol, 12, 'NLN', { first: true });
    alice = await connectXmpp(server, { username: 'alice', password: PASSWORD, resource: 'dino' });
    await alice.xmpp.send(xml('presence'));
    // No picture yet: XEP-0153's empty <photo/>, and no MSN object.
    assert.equal(await nextPhoto(() => true), '');
    const nln = await carol.expect('NLN');
    assert.equal(nln.args[1], 'alice@localhost');
    assert.equal(nln.args[4], undefined);
  });

  after(async () => {
    for (const c of [alice, bob]) await c?.stop();
    await carol?.close();
    await server?.stop();
  });

  it('a picture uploaded on the web page reaches XMPP and MSN contacts', async () => {
    const browser = new WebClient(`http://127.0.0.1:${server.port('http')}`);
    await signIn(browser, 'alice', PASSWORD);
    const csrf = csrfOf((await browser.get('/account')).body);
    const upload = await browser.postMultipart(
      '/account/avatar',
      { csrf },
      { name: 'avatar', filename: 'me.png', type: 'image/png', data: PNG },
    );
    assert.equal(upload.status, 303, upload.body);

    assert.equal(await nextPhoto((p) => p === sha1(PNG)), sha1(PNG));
    const card = await vcardOf('alice@localhost');
    assert.equal(card?.getChild('PHOTO')?.getChildText('TYPE'), 'image/png');
    assert.deepEqual(Buffer.from(card?.getChild('PHOTO')?.getChildText('BINVAL') ?? '', 'base64'), PNG);
    assert.equal(await nextMsnObjectSha1(), Buffer.from(sha1(PNG), 'hex').toString('base64'));
  });

  it('a vCard PHOTO set over XMPP replaces it everywhere, the web page included', async () => {
    await setVcard(
      xml('FN', {}, 'Alice'),
      xml('PHOTO', {}, xml('TYPE', {}, 'image/gif'), xml('BINVAL', {}, GIF.toString('base64'))),
    );
    assert.equal(await nextPhoto((p) => p === sha1(GIF)), sha1(GIF));
    assert.equal(await nextMsnObjectSha1(), Buffer.from(sha1(GIF), 'hex').toString('base64'));
    const card = await vcardOf('alice@localhost');
    assert.equal(card?.getChild('PHOTO')?.getChildText('TYPE'), 'image/gif');
    assert.deepEqual(Buffer.from(card?.getChild('PHOTO')?.getChildText('BINVAL') ?? '', 'base64'), GIF);
    // Only one PHOTO: the stored vCard does not keep a copy of its own.
    assert.equal(card?.getChildren('PHOTO').length, 1);
    const stored = await server.server.core.pictures.get(
      (await server.server.core.accounts.get('alice@localhost')).id,
    );
    assert.deepEqual(stored?.data, GIF);
  });

  it('refuses a PHOTO that is not an image, and changes nothing', async () => {
    await assert.rejects(
      setVcard(
        xml('FN', {}, 'Not Alice'),
        xml('PHOTO', {}, xml('BINVAL', {}, Buffer.from('<svg onload=alert(1)>').toString('base64'))),
      ),
      /not-acceptable/,
    );
    const account = await server.server.core.accounts.get('alice@localhost');
    assert.equal(account.displayName, 'Alice');
    assert.equal(account.picture?.sha1, sha1(GIF));
  });

  it('a vCard without PHOTO removes the picture: contacts see an empty <photo/>', async () => {
    await setVcard(xml('FN', {}, 'Alice'));
    assert.equal(await nextPhoto((p) => p === ''), '');
    assert.equal((await vcardOf('alice@localhost'))?.getChild('PHOTO'), undefined);
    for (;;) {
      const nln = await carol.expect('NLN');
      if (nln.args[1] === 'alice@localhost' && nln.args[4] === undefined) break;
    }
  });
});
