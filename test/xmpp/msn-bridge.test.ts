import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServerWithMiaAndXan } from '../support/msn-xmpp-contacts.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import type { TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { newSwitchboard, sync, textMessage, typingMessage } from '../transcripts/msnp-session.ts';

// An MSN Messenger 7.5 user (MSNP12) and a Gajim-like XMPP user talk to each other:
// the XMPP user is a participant of the switchboard the MSN client sees.
describe('MSN ↔ XMPP conversations', () => {
  let server: TestServer;
  let mia: MsnpTestClient;
  let xan: TestXmppClient;
  before(async () => {
    server = await startServerWithMiaAndXan();
    mia = await msnpSignIn(server, { version: 12, handle: 'mia@localhost', password: 'mia-secret' });
    await sync(12, mia);
    await msnpSetStatus(mia, 12, 'NLN', { first: true });
    xan = await connectXmpp(server, { username: 'xan', password: 'xan-secret', resource: 'gajim' });
    await xan.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    await xan.xmpp.send(xml('presence'));
    await xan.waitFor((el) => el.is('presence') && el.attrs.from === 'mia@localhost/msn');
  });
  after(async () => {
    await xan.stop();
    await mia.close();
    await server.stop();
  });

  it('an XMPP message rings the MSN user into a switchboard, and replies come back as chat messages', async () => {
    await xan.xmpp.send(
      xml('message', { to: 'mia@localhost', type: 'chat' }, xml('body', {}, 'Hello from XMPP ☺')),
    );
    const rng = await mia.expect('RNG');
    assert.equal(rng.args[4], 'xan@localhost');
    const [host, port] = (rng.args[1] ?? '').split(':');
    const sb = await MsnpTestClient.connect(Number(port), host);
    const ans = sb.trid();
    sb.send(`ANS ${ans} mia@localhost ${rng.args[3]} ${rng.args[0]}`);
    const iro = await sb.expect('IRO');
    assert.equal(iro.args[3], 'xan@localhost');
    await sb.expect('ANS');
    // The message that rang the bell arrives once Mia is in.
    const msg = await sb.expect('MSG');
    assert.deepEqual(msg.args.slice(0, 2), ['xan@localhost', 'Xan']);
    assert.match(
      msg.payload?.toString() ?? '',
      /Content-Type: text\/plain; charset=UTF-8\r\n[\s\S]*\r\n\r\nHello from XMPP ☺$/,
    );

    sb.sendPayload('MSG', [sb.trid(), 'U'], typingMessage('mia@localhost'));
    const composing = await xan.waitFor((el) => el.is('message') && el.getChild('composing') !== undefined);
    assert.equal(composing.attrs.from, 'mia@localhost/msn');
    const trid = sb.trid();
    sb.sendPayload('MSG', [trid, 'A'], textMessage('Hi Xan, from MSN'));
    assert.deepEqual((await sb.expect('ACK')).args, [String(trid)]);
    const reply = await xan.waitFor(
      (el) => el.is('message') && el.getChildText('body') === 'Hi Xan, from MSN',
    );
    assert.equal(reply.attrs.type, 'chat');

    // Xan answers the full JID the message came from; it goes into the same switchboard.
    await xan.xmpp.send(
      xml('message', { to: reply.attrs.from, type: 'chat' }, xml('body', {}, 'Same window?')),
    );
    assert.match((await sb.expect('MSG')).payload?.toString() ?? '', /Same window\?$/);
    sb.send('OUT');
    await sb.closed();
  });

  it('an MSN user calls an XMPP user into a switchboard; nudges become XEP-0224 attention', async () => {
    const sb = await newSwitchboard(mia, 'mia@localhost');
    sb.send(`CAL ${sb.trid()} xan@localhost`);
    // §12.1: the answer to CAL first, then the invitee's JOI (the XMPP side joins at once).
    const [ringing, joined] = [await sb.next(), await sb.next()];
    assert.deepEqual([ringing.name, ringing.args[1]], ['CAL', 'RINGING']);
    assert.deepEqual([joined.name, joined.args[0]], ['JOI', 'xan@localhost']);
    sb.sendPayload(
      'MSG',
      [sb.trid(), 'U'],
      'MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n',
    );
    await xan.waitFor(
      (el) => el.is('message') && el.getChild('attention', 'urn:xmpp:attention:0') !== undefined,
    );
    // A control character XML cannot carry (an MSN client sends whatever it likes) reaches
    // the XMPP user as U+FFFD instead of breaking the XML stream and dropping the connection.
    sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('bell\u0007 rings'));
    await xan.waitFor((el) => el.is('message') && el.getChildText('body') === 'bell\ufffd rings');
    sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('Are you there?'));
    await xan.waitFor((el) => el.is('message') && el.getChildText('body') === 'Are you there?');
    await xan.xmpp.send(xml('message', { to: 'mia@localhost', type: 'chat' }, xml('body', {}, 'Yes!')));
    assert.match((await sb.expect('MSG')).payload?.toString() ?? '', /Yes!$/);
    await sb.close();
  });

  it('a recipient on MSN and XMPP at once gets an XMPP message once on each', async () => {
    const phone = await connectXmpp(server, { username: 'mia', password: 'mia-secret', resource: 'phone' });
    try {
      await phone.xmpp.send(xml('presence'));
      // A session handles its stanzas in order: the answer means the presence is in.
      await phone.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
      await xan.xmpp.send(
        xml('message', { to: 'mia@localhost', type: 'chat' }, xml('body', {}, 'Both of you?')),
      );
      const rng = await mia.expect('RNG');
      const [host, port] = (rng.args[1] ?? '').split(':');
      const sb = await MsnpTestClient.connect(Number(port), host);
      sb.send(`ANS ${sb.trid()} mia@localhost ${rng.args[3]} ${rng.args[0]}`);
      await sb.expect('ANS');
      assert.match((await sb.expect('MSG')).payload?.toString() ?? '', /Both of you\?$/);
      await phone.waitFor((el) => el.is('message') && el.getChildText('body') === 'Both of you?');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        phone.stanzas.filter((el) => el.is('message') && el.getChildText('body') === 'Both of you?').length,
        0,
        'delivered to the XMPP resource once, not again through the switchboard',
      );
      await sb.close();
    } finally {
      await phone.stop();
    }
  });

  it('when the MSN user cannot be reached, the XMPP message waits offline', async () => {
    mia.send('OUT');
    await mia.closed();
    await xan.waitFor(
      (el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === 'mia@localhost/msn',
    );
    await xan.xmpp.send(
      xml('message', { to: 'mia@localhost', type: 'chat' }, xml('body', {}, 'See you later')),
    );
    const core = server.server.core;
    const miaId = (await core.accounts.get('mia@localhost')).id;
    for (let i = 0; i < 20 && (await core.offline.count(miaId)) === 0; i++)
      await new Promise((r) => setTimeout(r, 25));
    assert.equal(await core.offline.count(miaId), 1);
  });
});
