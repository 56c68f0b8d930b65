import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import type { MsnpTestClient } from './msnp-client.ts';

/**
 * The requesting side of an MSNC1 display-picture transfer, as MSN Messenger 6.0–7.5
 * runs it over a switchboard (msnpiki "MSNC:Display Pictures", "MSNC:P2Pv1 Headers",
 * "MSNC:MSNSLP"). The framing is written out here on its own (not with the server's
 * codec), so the tests check the server against a second reading of the documents.
 */

export const DISPLAY_PICTURE_GUID = '{A4268EEC-FEC5-49E5-95C3-F126696BDBF6}';

export interface Header {
  sessionId: number;
  identifier: number;
  offset: number;
  totalSize: number;
  messageSize: number;
  flags: number;
  ackSessionId: number;
  ackUniqueId: number;
  ackDataSize: number;
}

export interface Received {
  /** `MSG handle friendly len`: who the server says it is from. */
  from: string;
  dest: string;
  header: Header;
  payload: Buffer;
  footer: number;
}

/** 48-byte little-endian header, payload, 4-byte big-endian footer. */
export function frame(header: Omit<Header, 'messageSize'>, payload: Buffer, footer: number): Buffer {
  const out = Buffer.alloc(48 + payload.length + 4);
  out.writeUInt32LE(header.sessionId, 0);
  out.writeUInt32LE(header.identifier, 4);
  out.writeBigUInt64LE(BigInt(header.offset), 8);
  out.writeBigUInt64LE(BigInt(header.totalSize), 16);
  out.writeUInt32LE(payload.length, 24);
  out.writeUInt32LE(header.flags, 28);
  out.writeUInt32LE(header.ackSessionId, 32);
  out.writeUInt32LE(header.ackUniqueId, 36);
  out.writeBigUInt64LE(BigInt(header.ackDataSize), 40);
  payload.copy(out, 48);
  out.writeUInt32BE(footer, 48 + payload.length);
  return out;
}

/** The switchboard MSG payload carrying `binary` to `dest`. */
export function p2pPayload(dest: string, binary: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: ${dest}\r\n\r\n`),
    binary,
  ]);
}

/** Reads a P2P `MSG` the server sent. */
export function readP2P(msg: MsnpCommand): Received {
  const payload = msg.payload ?? Buffer.alloc(0);
  const split = payload.indexOf('\r\n\r\n');
  assert.ok(split > 0, 'MIME headers end');
  const head = payload.subarray(0, split).toString();
  assert.match(head, /^Content-Type: application\/x-msnmsgrp2p$/im);
  const dest = /^P2P-Dest: (.*)$/im.exec(head)?.[1] ?? '';
  const body = payload.subarray(split + 4);
  assert.ok(body.length >= 52, 'header and footer present');
  const header: Header = {
    sessionId: body.readUInt32LE(0),
    identifier: body.readUInt32LE(4),
    offset: Number(body.readBigUInt64LE(8)),
    totalSize: Number(body.readBigUInt64LE(16)),
    messageSize: body.readUInt32LE(24),
    flags: body.readUInt32LE(28),
    ackSessionId: body.readUInt32LE(32),
    ackUniqueId: body.readUInt32LE(36),
    ackDataSize: Number(body.readBigUInt64LE(40)),
  };
  assert.equal(header.messageSize, body.length - 52, 'MessageSize is the payload length');
  return {
    from: msg.args[0] ?? '',
    dest,
    header,
    payload: body.subarray(48, body.length - 4),
    footer: body.readUInt32BE(body.length - 4),
  };
}

/** The INVITE for an MSN object (msnpiki "MSNC:Display Pictures", Invitation). */
export function inviteSlp(options: {
  from: string;
  to: string;
  msnObject: string;
  sessionId: number;
  callId: string;
  branch: string;
  appId?: number;
}): Buffer {
  // The official client base64-encodes the descriptor with its terminating NUL.
  const context = Buffer.from(`${options.msnObject}\0`).toString('base64');
  const body = Buffer.from(
    `EUF-GUID: ${DISPLAY_PICTURE_GUID}\r\nSessionID: ${options.sessionId}\r\nAppID: ${options.appId ?? 1}\r\nContext: ${context}\r\n\r\n\0`,
  );
  return Buffer.concat([
    Buffer.from(
      `INVITE MSNMSGR:${options.to} MSNSLP/1.0\r\nTo: <msnmsgr:${options.to}>\r\nFrom: <msnmsgr:${options.from}>\r\nVia: MSNSLP/1.0/TLP ;branch=${options.branch}\r\nCSeq: 0\r\nCall-ID: ${options.callId}\r\nMax-Forwards: 0\r\nContent-Type: application/x-msnmsgr-sessionreqbody\r\nContent-Length: ${body.length}\r\n\r\n`,
    ),
    body,
  ]);
}

/** The BYE that ends the session (msnpiki "MSNC:Display Pictures"). */
export function byeSlp(options: { from: string; to: string; callId: string }): Buffer {
  const body = Buffer.from('\r\n\0');
  return Buffer.concat([
    Buffer.from(
      `BYE MSNMSGR:${options.to} MSNSLP/1.0\r\nTo: <msnmsgr:${options.to}>\r\nFrom: <msnmsgr:${options.from}>\r\nVia: MSNSLP/1.0/TLP ;branch={${randomUUID().toUpperCase()}}\r\nCSeq: 0\r\nCall-ID: ${options.callId}\r\nMax-Forwards: 0\r\nContent-Type: application/x-msnmsgr-sessionclosebody\r\nContent-Length: ${body.length}\r\n\r\n`,
    ),
    body,
  ]);
}

/**
 * One requester: it numbers its messages from a random BaseIdentifier and answers
 * what it receives as a real client would.
 */
export class P2PRequester {
  private identifier = randomInt(1_000, 0x7fff_ffff);

  constructor(
    readonly sb: MsnpTestClient,
    readonly me: string,
    readonly owner: string,
  ) {}

  nextIdentifier(): number {
    this.identifier += 1;
    return this.identifier;
  }

  /** Sends `data` as one P2P message, split into chunks of `chunk` bytes, each `MSG … D`; returns the TrIDs. */
  sendMessage(
    fields: { sessionId: number; flags?: number; identifier?: number },
    data: Buffer,
    footer: number,
    chunk = 1202,
  ): number[] {
    const identifier = fields.identifier ?? this.nextIdentifier();
    const ackSessionId = randomInt(1, 0x7fff_ffff);
    const trids: number[] = [];
    let offset = 0;
    do {
      const piece = data.subarray(offset, offset + chunk);
      const trid = this.sb.trid();
      this.sb.sendPayload(
        'MSG',
        [trid, 'D'],
        p2pPayload(
          this.owner,
          frame(
            {
              sessionId: fields.sessionId,
              identifier,
              offset,
              totalSize: data.length,
              flags: fields.flags ?? 0,
              ackSessionId,
              ackUniqueId: 0,
              ackDataSize: 0,
            },
            piece,
            footer,
          ),
        ),
      );
      trids.push(trid);
      offset += piece.length;
    } while (offset < data.length);
    return trids;
  }

  /** Acknowledges `r` (msnpiki "MSNC:Display Pictures", Acknowledgement). */
  ack(r: Header): void {
    this.sb.sendPayload(
      'MSG',
      [this.sb.trid(), 'D'],
      p2pPayload(
        this.owner,
        frame(
          {
            sessionId: r.sessionId,
            identifier: this.nextIdentifier(),
            offset: 0,
            totalSize: r.totalSize,
            flags: 0x2,
            ackSessionId: r.identifier,
            ackUniqueId: r.ackSessionId,
            ackDataSize: r.totalSize,
          },
          Buffer.alloc(0),
          0,
        ),
      ),
    );
  }

  /** The switchboard's `ACK trid` for an `MSG … D` (earlier ones, for the ACKs sent, are skipped). */
  async expectAck(trid: number): Promise<void> {
    for (;;) {
      const ack = await this.sb.expect('ACK');
      if (ack.args[0] === String(trid)) return;
      assert.ok(Number(ack.args[0]) < trid, `ACK ${ack.args[0]} out of order`);
    }
  }

  /** The next P2P message from the owner. */
  async receive(timeoutMs = 3000): Promise<Received> {
    const msg = await this.sb.expect('MSG', timeoutMs);
    const r = readP2P(msg);
    assert.equal(r.from, this.owner, 'sent in the owner’s name');
    assert.equal(r.dest, this.me, 'addressed to the requester');
    return r;
  }

  /**
   * The whole exchange for `msnObject`: INVITE (in chunks of `inviteChunk` bytes),
   * ACK and 200 OK, data preparation, data, BYE. Returns the picture's bytes and
   * every P2P message received, in order.
   */
  async fetchPicture(
    msnObject: string,
    options: { inviteChunk?: number } = {},
  ): Promise<{ data: Buffer; received: Received[] }> {
    const received: Received[] = [];
    const take = async () => {
      const r = await this.receive();
      received.push(r);
      return r;
    };
    const sessionId = randomInt(1, 0x7fff_ffff);
    const callId = `{${randomUUID().toUpperCase()}}`;
    const invite = inviteSlp({
      from: this.me,
      to: this.owner,
      msnObject,
      sessionId,
      callId,
      branch: `{${randomUUID().toUpperCase()}}`,
    });
    const inviteId = this.nextIdentifier();
    const trids = this.sendMessage({ sessionId: 0, identifier: inviteId }, invite, 0, options.inviteChunk);
    for (const trid of trids) await this.expectAck(trid);

    const inviteAck = await take();
    assert.equal(inviteAck.header.flags, 0x2, 'the INVITE is acknowledged');
    assert.equal(inviteAck.header.ackSessionId, inviteId);
    assert.equal(inviteAck.header.ackDataSize, invite.length);
    assert.equal(inviteAck.header.totalSize, invite.length);
    assert.equal(inviteAck.footer, 0);

    const ok = await take();
    assert.equal(ok.header.sessionId, 0);
    assert.equal(ok.footer, 0);
    assert.equal(ok.header.messageSize, ok.header.totalSize, '200 OK in one piece');
    const okText = ok.payload.toString();
    assert.match(okText, /^MSNSLP\/1\.0 200 OK\r\n/);
    assert.match(okText, new RegExp(`^Call-ID: ${callId.replace(/[{}]/g, '\\$&')}\r$`, 'm'));
    assert.match(okText, /^CSeq: 1\r$/m);
    assert.match(okText, new RegExp(`^To: <msnmsgr:${this.me}>\r$`, 'm'));
    assert.match(okText, new RegExp(`^From: <msnmsgr:${this.owner}>\r$`, 'm'));
    assert.match(okText, new RegExp(`\r\n\r\nSessionID: ${sessionId}\r\n\r\n\0$`));
    const length = Number(/^Content-Length: (\d+)\r$/m.exec(okText)?.[1]);
    assert.equal(
      length,
      okText.length - okText.indexOf('\r\n\r\n') - 4,
      'Content-Length counts the body and NUL',
    );
    this.ack(ok.header);

    const preparation = await take();
    assert.equal(preparation.header.sessionId, sessionId);
    assert.deepEqual([...preparation.payload], [0, 0, 0, 0]);
    assert.equal(preparation.footer, 1);
    this.ack(preparation.header);

    const chunks: Buffer[] = [];
    let last: Received | undefined;
    for (;;) {
      const piece = await take();
      assert.equal(piece.header.sessionId, sessionId);
      assert.equal(piece.header.flags, 0x20, 'display picture data flag');
      assert.equal(piece.footer, 1);
      assert.ok(piece.header.messageSize <= 1202, 'chunks of at most 1202 bytes');
      assert.equal(
        piece.header.offset,
        chunks.reduce((n, c) => n + c.length, 0),
        'offsets follow on',
      );
      if (last)
        assert.equal(piece.header.identifier, last.header.identifier, 'one Identifier for every chunk');
      chunks.push(piece.payload);
      last = piece;
      if (piece.header.offset + piece.header.messageSize === piece.header.totalSize) break;
    }
    this.ack(last.header);

    const bye = byeSlp({ from: this.me, to: this.owner, callId });
    const byeId = this.nextIdentifier();
    const [byeTrid] = this.sendMessage({ sessionId: 0, identifier: byeId }, bye, 0);
    await this.expectAck(byeTrid ?? 0);
    const byeAck = await take();
    assert.equal(byeAck.header.flags, 0x2, 'the BYE is acknowledged');
    assert.equal(byeAck.header.ackSessionId, byeId);
    return { data: Buffer.concat(chunks), received };
  }
}
