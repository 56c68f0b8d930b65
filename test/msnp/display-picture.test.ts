import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeParam, type MsnpCommand } from '../../src/msnp/codec/index.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus } from '../support/msnp-login.ts';
import { frame, inviteSlp, P2PRequester, p2pPayload } from '../support/msnp-p2p.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import {
  newSwitchboard,
  openSwitchboard,
  type Person,
  signIn,
  sync,
  textMessage,
} from '../transcripts/msnp-session.ts';

/** A "PNG" (right signature, random rest) spanning several 1202-byte chunks. */
function picture(bytes: number): Buffer {
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), randomBytes(bytes - 8)]);
}

const sha1 = (data: Buffer | string, encoding: 'hex' | 'base64') =>
  createHash('sha1').update(data).digest(encoding);

/** The attributes of a descriptor, read with a plain regular expression (not the server's parser). */
function attributesOf(msnObject: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of msnObject.matchAll(/(\w+)="([^"]*)"/g)) out[m[1] as string] = m[2] as string;
  return out;
}

/** Checks a descriptor names `data` as `creator`'s display picture with a correct SHA1C. */
function assertDescribes(msnObject: string, creator: string, data: Buffer): void {
  const a = attributesOf(msnObject);
  assert.equal(a.Creator, creator);
  assert.equal(a.Size, String(data.length));
  assert.equal(a.Type, '3');
  assert.equal(a.SHA1D, sha1(data, 'base64'));
  assert.equal(
    a.SHA1C,
    sha1(
      `Creator${a.Creator}Size${a.Size}Type${a.Type}Location${a.Location}Friendly${a.Friendly}SHA1D${a.SHA1D}`,
      'base64',
    ),
  );
}

/** `ILN/NLN … handle friendly clientid msnobj`: the (decoded) msnobj, if any. */
function msnObjectIn(cmd: MsnpCommand): string | undefined {
  const encoded = cmd.args[cmd.name === 'ILN' ? 5 : 4];
  return encoded === undefined ? undefined : decodeParam(encoded);
}

// An account's stored picture (web page, XMPP vCard) shown to MSN Messenger 7.5 (MSNP12)
// contacts: its MSN object in ILN/NLN, and the picture itself from the switchboard,
// which the server serves in the owner's name (src/msnp/sb/picture-server.ts).
describe('stored display pictures for MSNP9–12 contacts', () => {
  let server: TestServer;
  let alice: Person;
  let bob: TestXmppClient;
  let dan: Person;
  const bobPicture = picture(3000);
  const danPicture = picture(1500);

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const a = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'alice@localhost',
      password: 'alice-pw',
      displayName: 'Alice',
    });
    for (const name of ['bob', 'dan']) {
      const other = await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-pw`,
        displayName: name === 'bob' ? 'Bob' : 'Dan',
      });
      await core.relationships.addForward(a.id, other.handle);
      await core.relationships.addForward(other.id, a.handle);
      await core.pictures.set(other.id, name === 'bob' ? bobPicture : danPicture);
    }
    bob = await connectXmpp(server, { username: 'bob', password: 'bob-pw', resource: 'gajim' });
    await bob.xmpp.send(xml('presence'));
    alice = await signIn(server, 12, 'alice@localhost', 'alice-pw', 'alice');
    await sync(12, alice.client);
  });
  after(async () => {
    await bob.stop();
    await alice.client.close();
    await dan?.client.close();
    await server.stop();
  });

  let bobObject = '';

  it('an XMPP-only contact’s stored picture is in the ILN as an MSN object', async () => {
    const ilns = await msnpSetStatus(alice.client, 12, 'NLN', { first: true });
    const iln = ilns.find((c) => c.args[2] === 'bob@localhost');
    assert.ok(iln, `ILN for bob among ${ilns.map((c) => c.args.join(' ')).join('; ')}`);
    bobObject = msnObjectIn(iln) ?? '';
    assertDescribes(bobObject, 'bob@localhost', bobPicture);
  });

  it('the switchboard serves it in the owner’s name, byte for byte, INVITE chunked or not', async () => {
    const sb = await callXmppBob();
    const requester = new P2PRequester(sb, 'alice@localhost', 'bob@localhost');
    const first = await requester.fetchPicture(bobObject);
    assert.deepEqual(first.data, bobPicture);
    const second = await requester.fetchPicture(bobObject, { inviteChunk: 300 });
    assert.deepEqual(second.data, bobPicture);
    // The conversation goes on, and Bob's XMPP client heard nothing of the transfer.
    const trid = sb.trid();
    sb.sendPayload('MSG', [trid, 'A'], textMessage('nice picture'));
    assert.deepEqual((await sb.expect('ACK')).args, [String(trid)]);
    await bob.waitFor((el) => el.is('message') && el.getChildText('body') === 'nice picture');
    assert.equal(bob.stanzas.filter((el) => el.is('message')).length, 0);
    await sb.close();
  });

  it('a picture set in Bob’s XMPP vCard is announced with NLN and served', async () => {
    const next = Buffer.concat([Buffer.from('GIF89a'), randomBytes(1994)]);
    await bob.iq(
      xml(
        'iq',
        { type: 'set' },
        xml(
          'vCard',
          { xmlns: 'vcard-temp' },
          xml('FN', {}, 'Bob'),
          xml('PHOTO', {}, xml('TYPE', {}, 'image/gif'), xml('BINVAL', {}, next.toString('base64'))),
        ),
      ),
    );
    const nln = await nlnOf('bob@localhost', (m) => attributesOf(m).SHA1D === sha1(next, 'base64'));
    const announced = msnObjectIn(nln) ?? '';
    assertDescribes(announced, 'bob@localhost', next);
    const sb = await callXmppBob();
    const got = await new P2PRequester(sb, 'alice@localhost', 'bob@localhost').fetchPicture(announced);
    assert.deepEqual(got.data, next);
    // The old picture's object is no longer the server's to serve.
    assert.notEqual(attributesOf(announced).SHA1D, attributesOf(bobObject).SHA1D);
    await sb.close();
  });

  it('for an MSN client without a picture of its own, the server answers; other objects go to the client', async () => {
    dan = await signIn(server, 12, 'dan@localhost', 'dan-pw', 'dan');
    await sync(12, dan.client);
    await msnpSetStatus(dan.client, 12, 'NLN', { first: true, clientId: '1342177280' });
    const nln = await nlnOf('dan@localhost');
    const stored = msnObjectIn(nln) ?? '';
    assertDescribes(stored, 'dan@localhost', danPicture);

    const { callerSb, calleeSb } = await openSwitchboard(alice, dan, 12);
    const requester = new P2PRequester(callerSb, 'alice@localhost', 'dan@localhost');
    assert.deepEqual((await requester.fetchPicture(stored)).data, danPicture);
    await calleeSb.expectNothing(200);

    // An object the server does not hold (Dan's client's own, say) is Dan's client's business.
    const own = `<msnobj Creator="dan@localhost" Size="1234" Type="3" Location="dan.tmp" Friendly="AAA=" SHA1D="${sha1('other', 'base64')}"/>`;
    const invite = inviteSlp({
      from: 'alice@localhost',
      to: 'dan@localhost',
      msnObject: own,
      sessionId: 4242,
      callId: '{11111111-2222-3333-4444-555555555555}',
      branch: '{66666666-7777-8888-9999-000000000000}',
    });
    const payload = p2pPayload(
      'dan@localhost',
      frame(
        {
          sessionId: 0,
          identifier: 5000,
          offset: 0,
          totalSize: invite.length,
          flags: 0,
          ackSessionId: 1,
          ackUniqueId: 0,
          ackDataSize: 0,
        },
        invite,
        0,
      ),
    );
    const trid = callerSb.trid();
    callerSb.sendPayload('MSG', [trid, 'D'], payload);
    assert.deepEqual((await callerSb.expect('ACK')).args, [String(trid)]);
    const relayed = await calleeSb.expect('MSG');
    assert.deepEqual(relayed.args.slice(0, 2), ['alice@localhost', 'Alice']);
    assert.deepEqual(relayed.payload, payload);

    // Once Dan's client has a picture of its own, that is the one contacts see.
    const ownEncoded = encodeURIComponent(own);
    await msnpSetStatus(dan.client, 12, 'NLN', { clientId: '1342177280', msnObject: ownEncoded });
    const changed = await nlnOf('dan@localhost', (m) => m === own);
    assert.equal(msnObjectIn(changed), own);
    await Promise.all([callerSb.close(), calleeSb.close()]);
  });

  it('malformed P2P binary is relayed as it is; the connection stays usable', async () => {
    const { callerSb, calleeSb } = await openSwitchboard(alice, dan, 12);
    const header = {
      sessionId: 0,
      identifier: 9000,
      offset: 0,
      totalSize: 5000,
      flags: 0,
      ackSessionId: 1,
      ackUniqueId: 0,
      ackDataSize: 0,
    };
    const storedInvite = inviteSlp({
      from: 'alice@localhost',
      to: 'dan@localhost',
      msnObject: `<msnobj Creator="dan@localhost" SHA1D="${sha1(danPicture, 'base64')}"/>`,
      sessionId: 77,
      callId: '{AAAAAAAA-2222-3333-4444-555555555555}',
      branch: '{BBBBBBBB-7777-8888-9999-000000000000}',
    });
    const badSizes = frame(header, Buffer.from('x'), 0);
    badSizes.writeUInt32LE(50, 24); // MessageSize disagrees with the bytes
    const payloads = [
      p2pPayload('dan@localhost', Buffer.from('too short')),
      p2pPayload('dan@localhost', randomBytes(300)),
      p2pPayload('dan@localhost', badSizes),
      p2pPayload(
        'dan@localhost',
        frame({ ...header, totalSize: 40 }, Buffer.from('INVITE garbage\0\0\r\n'.padEnd(40, 'x')), 0),
      ),
      // The first chunk of an INVITE for the stored picture that never continues…
      p2pPayload('dan@localhost', frame({ ...header, totalSize: storedInvite.length + 1 }, storedInvite, 0)),
      // …is relayed once something else follows.
      Buffer.from(textMessage('still there?')),
    ];
    for (const payload of payloads) {
      const trid = callerSb.trid();
      callerSb.sendPayload('MSG', [trid, 'D'], payload);
      assert.deepEqual((await callerSb.expect('ACK')).args, [String(trid)]);
    }
    for (const payload of payloads) assert.deepEqual((await calleeSb.expect('MSG')).payload, payload);
    assert.ok(callerSb.isOpen);
    await Promise.all([callerSb.close(), calleeSb.close()]);
  });

  /** The next NLN Alice gets for `handle` whose MSN object passes `test` (others are skipped). */
  async function nlnOf(
    handle: string,
    test: (msnObject: string) => boolean = () => true,
  ): Promise<MsnpCommand> {
    for (;;) {
      const nln = await alice.client.expect('NLN');
      if (nln.args[1] === handle && test(msnObjectIn(nln) ?? '')) return nln;
    }
  }

  /** Alice's switchboard with Bob (XMPP): XFR, USR, CAL, and Bob's bridge joins. */
  async function callXmppBob(): Promise<MsnpTestClient> {
    const sb = await newSwitchboard(alice.client, 'alice@localhost');
    sb.send(`CAL ${sb.trid()} bob@localhost`);
    assert.equal((await sb.expect('CAL')).args[1], 'RINGING');
    assert.equal((await sb.expect('JOI')).args[0], 'bob@localhost');
    return sb;
  }
});
