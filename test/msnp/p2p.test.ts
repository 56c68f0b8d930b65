import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { pictureMsnObject } from '../../src/msnp/msn-object.ts';
import {
  ackFrame,
  buildSlp,
  decodeP2PFrame,
  encodeP2PFrame,
  P2P_FLAGS,
  type P2PHeader,
  p2pMessagePayload,
  parseP2PEnvelope,
  parseSlp,
} from '../../src/msnp/sb/p2p.ts';
import { type PictureOwner, PictureServer } from '../../src/msnp/sb/picture-server.ts';
import { byeSlp, frame, inviteSlp, p2pPayload, readP2P } from '../support/msnp-p2p.ts';

const header = (fields: Partial<P2PHeader> = {}): Omit<P2PHeader, 'messageSize'> => ({
  sessionId: 0,
  identifier: 0,
  offset: 0,
  totalSize: 0,
  flags: 0,
  ackSessionId: 0,
  ackUniqueId: 0,
  ackDataSize: 0,
  ...fields,
});

describe('MSNP2P v1 framing', () => {
  it('lays out the header as in the msnpiki "MSNC:Display Pictures" invitation example', () => {
    // 00 00 00 00 58 A9 18 01 00 00 00 00 00 00 00 00
    // 91 02 00 00 00 00 00 00 91 02 00 00 00 00 00 00
    // AB 38 1E 00 00 00 00 00 00 00 00 00 00 00 00 00
    const payload = Buffer.alloc(0x291, 0x41);
    const bytes = encodeP2PFrame({
      header: header({ identifier: 0x0118a958, totalSize: 0x291, ackSessionId: 0x1e38ab }),
      payload,
      appId: 0,
    });
    assert.equal(
      bytes.subarray(0, 48).toString('hex'),
      '0000000058a918010000000000000000' +
        '91020000000000009102000000000000' +
        'ab381e00000000000000000000000000',
    );
    assert.equal(bytes.length, 48 + 0x291 + 4);
    assert.equal(bytes.subarray(-4).toString('hex'), '00000000');
  });

  it('round-trips every field, 64-bit ones beyond 32 bits, and the big-endian footer', () => {
    const payload = randomBytes(100);
    const fields = {
      sessionId: 0xfedcba98,
      identifier: 0x12345678,
      offset: 2 ** 40,
      totalSize: 2 ** 40 + 100,
      flags: P2P_FLAGS.msnObjectData,
      ackSessionId: 7,
      ackUniqueId: 0xffffffff,
      ackDataSize: 2 ** 52,
    };
    const bytes = encodeP2PFrame({ header: fields, payload, appId: 1 });
    assert.deepEqual(bytes.subarray(-4), Buffer.from([0, 0, 0, 1]));
    const decoded = decodeP2PFrame(bytes);
    assert.ok(decoded);
    assert.deepEqual(decoded.header, { ...fields, messageSize: 100 });
    assert.deepEqual(decoded.payload, payload);
    assert.equal(decoded.appId, 1);
    // And the test client's own reading of it agrees.
    const read = readP2P({
      name: 'MSG',
      args: ['a@b.c', 'A', '1'],
      payload: p2pMessagePayload('x@y.z', bytes),
    });
    assert.deepEqual(read.header, { ...fields, messageSize: 100 });
    assert.equal(read.dest, 'x@y.z');
  });

  it('malformed binary decodes to undefined, never throws', () => {
    const good = encodeP2PFrame({ header: header({ totalSize: 10 }), payload: Buffer.alloc(10), appId: 0 });
    const tooLong = Buffer.from(good);
    tooLong.writeUInt32LE(11, 24); // MessageSize says more than there is
    const beyondTotal = Buffer.from(good);
    beyondTotal.writeBigUInt64LE(1n, 8); // offset 1 + 10 bytes > TotalSize 10
    const hugeTotal = Buffer.from(good);
    hugeTotal.writeBigUInt64LE(2n ** 63n, 16);
    for (const bytes of [
      Buffer.alloc(0),
      Buffer.alloc(51),
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.alloc(1)]),
      tooLong,
      beyondTotal,
      hugeTotal,
    ]) {
      assert.equal(decodeP2PFrame(bytes), undefined);
    }
    assert.ok(decodeP2PFrame(good));
    for (let i = 0; i < 2000; i++) {
      const noise = randomBytes(Math.floor(Math.random() * 120));
      assert.doesNotThrow(() => decodeP2PFrame(noise));
      assert.doesNotThrow(() => parseP2PEnvelope(noise));
      assert.doesNotThrow(() => parseSlp(noise));
    }
  });

  it('acknowledgements name the acked Identifier, AckSessionID and TotalSize', () => {
    const acked: P2PHeader = {
      ...header({ sessionId: 5, identifier: 100, totalSize: 3000, ackSessionId: 77 }),
      messageSize: 1202,
    };
    const ack = decodeP2PFrame(ackFrame(acked, 9));
    assert.deepEqual(ack?.header, {
      sessionId: 5,
      identifier: 9,
      offset: 0,
      totalSize: 3000,
      messageSize: 0,
      flags: 0x2,
      ackSessionId: 100,
      ackUniqueId: 77,
      ackDataSize: 3000,
    });
    assert.equal(ack?.appId, 0);
  });

  it('finds P2P-Dest and the binary body, splitting on bytes', () => {
    const body = Buffer.from([0, 0x0d, 0x0a, 0x0d, 0x0a, 0xff, 0]);
    const envelope = parseP2PEnvelope(p2pPayload('Bob@Example.com', body));
    assert.equal(envelope?.dest, 'Bob@Example.com');
    assert.deepEqual(envelope?.body, body);
    assert.equal(
      parseP2PEnvelope(
        Buffer.from('MIME-Version: 1.0\r\nContent-Type: text/plain\r\nP2P-Dest: a@b.c\r\n\r\nx'),
      ),
      undefined,
    );
    assert.equal(
      parseP2PEnvelope(Buffer.from('MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n\r\nx')),
      undefined,
      'no P2P-Dest',
    );
    assert.equal(parseP2PEnvelope(Buffer.from('Content-Type: application/x-msnmsgrp2p')), undefined);
  });
});

describe('MSNSLP', () => {
  it('builds a 200 OK whose Content-Length counts the body and its NUL', () => {
    const bytes = buildSlp(
      'MSNSLP/1.0 200 OK',
      [
        ['To', '<msnmsgr:a@b.c>'],
        ['Call-ID', '{X}'],
      ],
      [['SessionID', '42']],
    );
    assert.equal(
      bytes.toString(),
      'MSNSLP/1.0 200 OK\r\nTo: <msnmsgr:a@b.c>\r\nCall-ID: {X}\r\nContent-Length: 18\r\n\r\nSessionID: 42\r\n\r\n\0',
    );
    const parsed = parseSlp(bytes);
    assert.equal(parsed?.status, 200);
    assert.equal(parsed?.reason, 'OK');
    assert.equal(parsed?.method, undefined);
    assert.equal(parsed?.headers.get('call-id'), '{X}');
    assert.equal(parsed?.body.get('sessionid'), '42');
  });

  it('parses an INVITE and a BYE as a client sends them', () => {
    const invite = parseSlp(
      inviteSlp({
        from: 'a@b.c',
        to: 'd@e.f',
        msnObject: '<msnobj/>',
        sessionId: 7,
        callId: '{C}',
        branch: '{B}',
      }),
    );
    assert.equal(invite?.method, 'INVITE');
    assert.equal(invite?.target, 'MSNMSGR:d@e.f');
    assert.equal(invite?.headers.get('via'), 'MSNSLP/1.0/TLP ;branch={B}');
    assert.equal(invite?.body.get('euf-guid'), '{A4268EEC-FEC5-49E5-95C3-F126696BDBF6}');
    assert.equal(invite?.body.get('appid'), '1');
    assert.equal(parseSlp(byeSlp({ from: 'a@b.c', to: 'd@e.f', callId: '{C}' }))?.method, 'BYE');
    for (const bad of ['', 'HELLO', 'INVITE x SIP/2.0\r\n\r\n', 'MSNSLP/1.0 200 OK\r\nno colon\r\n\r\n']) {
      assert.equal(parseSlp(Buffer.from(bad)), undefined, JSON.stringify(bad));
    }
  });
});

describe('picture server (one switchboard connection)', () => {
  const data = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), randomBytes(2600)]);
  const owner: PictureOwner = {
    handle: 'bob@x.y',
    displayName: 'Bob',
    picture: { sha1: createHash('sha1').update(data).digest('hex'), size: data.length, data },
  };
  const setup = () => {
    const sent: Buffer[] = [];
    const server = new PictureServer({
      requester: () => 'alice@x.y',
      owner: async (handle) => (handle === owner.handle ? owner : undefined),
      send: (from, payload) => {
        assert.equal(from, owner);
        sent.push(payload);
      },
      log: () => pino({ level: 'silent' }),
    });
    return { server, sent };
  };
  const invite = (msnObject: string, sessionId = 99) =>
    inviteSlp({ from: 'alice@x.y', to: 'bob@x.y', msnObject, sessionId, callId: '{CALL}', branch: '{BR}' });
  const chunks = (bytes: Buffer, size: number, identifier = 1000) => {
    const out: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += size) {
      const piece = bytes.subarray(offset, offset + size);
      out.push(
        p2pPayload(
          'bob@x.y',
          frame({ ...header({ identifier, offset, totalSize: bytes.length, ackSessionId: 5 }) }, piece, 0),
        ),
      );
    }
    return out;
  };
  const ackOf = (r: ReturnType<typeof readP2P>, identifier: number) =>
    p2pPayload(
      'bob@x.y',
      frame(
        header({
          sessionId: r.header.sessionId,
          identifier,
          totalSize: r.header.totalSize,
          flags: 2,
          ackSessionId: r.header.identifier,
          ackUniqueId: r.header.ackSessionId,
          ackDataSize: r.header.totalSize,
        }),
        Buffer.alloc(0),
        0,
      ),
    );
  const read = (payload: Buffer | undefined) => {
    assert.ok(payload, 'a message was sent');
    return readP2P({ name: 'MSG', args: ['bob@x.y', 'Bob', String(payload.length)], payload });
  };

  it('serves a stored picture, consuming every message of the session', async () => {
    const { server, sent } = setup();
    const [first, second] = chunks(invite(pictureMsnObject('bob@x.y', owner.picture)), 400);
    assert.ok(first && second);
    assert.deepEqual(await server.take(first), [], 'the first INVITE chunk is held');
    assert.equal(sent.length, 0);
    const rest = chunks(invite(pictureMsnObject('bob@x.y', owner.picture)), 400).slice(1);
    for (const chunk of rest) assert.deepEqual(await server.take(chunk), []);
    assert.equal(sent.length, 2, 'ACK and 200 OK');
    const ack = read(sent[0]);
    assert.equal(ack.header.ackSessionId, 1000);
    const ok = read(sent[1]);
    assert.match(ok.payload.toString(), /^MSNSLP\/1\.0 200 OK/);
    assert.deepEqual(await server.take(ackOf(ok, 2000)), []);
    const preparation = read(sent[2]);
    assert.equal(preparation.header.sessionId, 99);
    assert.deepEqual(await server.take(ackOf(preparation, 2001)), []);
    const pieces = sent.slice(3).map(read);
    assert.equal(pieces.length, 3);
    assert.deepEqual(Buffer.concat(pieces.map((p) => p.payload)), data);
    const last = pieces.at(-1);
    assert.ok(last);
    assert.deepEqual(await server.take(ackOf(last, 2002)), []);
    assert.equal(server.activeSessions, 1);
    const bye = chunks(byeSlp({ from: 'alice@x.y', to: 'bob@x.y', callId: '{CALL}' }), 1202, 2003)[0];
    assert.ok(bye);
    assert.deepEqual(await server.take(bye), []);
    assert.equal(read(sent.at(-1)).header.ackSessionId, 2003, 'the BYE is acknowledged');
    assert.equal(server.activeSessions, 0);
    // Once forgotten, an ACK for the old session is someone else's business.
    const stray = ackOf(last, 2004);
    assert.deepEqual(await server.take(stray), [stray]);
  });

  it('relays INVITEs for other objects, held chunks included, and everything else as it is', async () => {
    const { server, sent } = setup();
    const other = pictureMsnObject('bob@x.y', { sha1: 'ab'.repeat(20), size: 10 });
    const pieces = chunks(invite(other), 400);
    const relayed: Buffer[] = [];
    for (const piece of pieces) relayed.push(...(await server.take(piece)));
    assert.deepEqual(relayed, pieces, 'every chunk, in order, byte for byte');
    // An INVITE begun and not continued is released by what follows.
    const [begun] = chunks(invite(pictureMsnObject('bob@x.y', owner.picture)), 300, 3000);
    assert.ok(begun);
    assert.deepEqual(await server.take(begun), []);
    const text = Buffer.from('MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi');
    assert.deepEqual(await server.take(text), [begun, text]);
    // To someone without a stored picture, garbage, or not P2P at all.
    const toCarol = Buffer.from(
      p2pPayload('carol@x.y', chunks(invite('<msnobj/>'), 2000)[0]?.subarray(90) ?? Buffer.alloc(0)),
    );
    for (const payload of [
      toCarol,
      p2pPayload('bob@x.y', Buffer.from('short')),
      p2pPayload('bob@x.y', randomBytes(200)),
      Buffer.from('MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n\r\n'),
    ]) {
      assert.deepEqual(await server.take(payload), [payload]);
    }
    assert.equal(sent.length, 0);
    server.close();
    const late = chunks(invite(pictureMsnObject('bob@x.y', owner.picture)), 2000)[0];
    assert.ok(late);
    assert.deepEqual(await server.take(late), [late], 'a closed server takes nothing');
  });
});
