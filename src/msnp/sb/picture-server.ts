import { randomInt } from 'node:crypto';
import type { Logger } from '../../server/logger.ts';
import { normalizeHandle } from '../../util/handle.ts';
import { msnObjectField, parseMsnObject, sha1dFromHex } from '../msn-object.ts';
import {
  ackFrame,
  buildSlp,
  decodeP2PFrame,
  encodeP2PFrame,
  MAX_SLP_BYTES,
  P2P_APP_IDS,
  P2P_FLAGS,
  P2P_MAX_CHUNK_BYTES,
  type P2PFrame,
  type P2PHeader,
  p2pMessagePayload,
  parseP2PEnvelope,
  parseSlp,
  type SlpMessage,
} from './p2p.ts';

/** EUF-GUID of a display picture (or custom emoticon) request (msnpiki "MSNC:Display Pictures"). */
export const DISPLAY_PICTURE_EUF_GUID = '{A4268EEC-FEC5-49E5-95C3-F126696BDBF6}';

/** Picture sessions the server runs at once on one switchboard connection. */
export const MAX_PICTURE_SESSIONS = 4;
/** A session whose requester stops answering is dropped after this long. */
export const PICTURE_SESSION_TIMEOUT_MS = 60_000;

/** A participant of the conversation whose picture the server holds. */
export interface PictureOwner {
  handle: string;
  displayName: string;
  picture: { sha1: string; size: number; data: Buffer };
}

/** What the picture server needs of the switchboard connection it serves. */
export interface PictureServerHost {
  /** The handle signed in on this connection (the one asking for pictures). */
  requester(): string | undefined;
  /** `handle` if it is another participant of this conversation with a stored picture. */
  owner(handle: string): Promise<PictureOwner | undefined>;
  /** Writes `MSG owner-handle owner-friendly len` + `payload` to this connection only. */
  send(owner: PictureOwner, payload: Buffer): void;
  log(): Logger;
}

type Stage = 'ok' | 'preparation' | 'data' | 'delivered';

interface PictureSession {
  owner: PictureOwner;
  requester: string;
  /** The SessionID the INVITE named; the data-level messages carry it. */
  sessionId: number;
  callId: string;
  appId: number;
  /** Identifiers of the messages the server sent in this session (what ACKs name). */
  sent: Set<number>;
  nextIdentifier: number;
  /** The Identifier of the message whose ACK the next step waits for. */
  awaiting: number | undefined;
  stage: Stage;
  timer: NodeJS.Timeout;
}

/** An INVITE arriving in several chunks, held until complete (msnpiki "MSNC:P2Pv1 Headers", splitting). */
interface HeldInvite {
  owner: PictureOwner;
  first: P2PHeader;
  chunks: Buffer[];
  received: number;
  /** The MSG payloads as they came, relayed unchanged if the INVITE is not for the server. */
  payloads: Buffer[];
}

/** The SessionID line of a session request body: an unsigned 32-bit decimal, non-zero. */
function sessionIdOf(slp: SlpMessage): number | undefined {
  const text = slp.body.get('sessionid') ?? '';
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n > 0 && n <= 0xffff_ffff ? n : undefined;
}

/** A random non-zero unsigned 32-bit value (BaseIdentifier, AckSessionID). */
function random32(): number {
  return randomInt(1, 0xffff_fff0);
}

/**
 * Serves display-picture requests for pictures the server stores (uploaded on the web
 * page, or an XMPP vCard photo), on behalf of a participant whose MSN client cannot:
 * they may be signed in over XMPP only, or with an MSN client that has no picture. One
 * instance per switchboard connection; it only ever talks to that connection.
 *
 * The exchange (msnpiki "MSNC:Display Pictures"):
 * requester INVITE → server ACK, `200 OK` → requester ACK → server data preparation
 * (4 zero bytes) → requester ACK → server data (chunks of ≤ 1202 bytes, flags 0x20)
 * → requester ACK → requester BYE → server ACK.
 */
export class PictureServer {
  private readonly sessions = new Map<number, PictureSession>();
  private held: HeldInvite | undefined;
  private closed = false;

  constructor(private readonly host: PictureServerHost) {}

  /**
   * Takes one `MSG` payload from the requester. Returns the payloads to relay to the
   * conversation now, in order: usually `[payload]`; `[]` when the server consumed
   * it (or holds it as part of an INVITE); earlier held chunks first when an INVITE
   * turns out not to be the server's.
   */
  async take(payload: Buffer): Promise<Buffer[]> {
    if (this.closed) return [payload];
    const envelope = parseP2PEnvelope(payload);
    if (!envelope) return [...this.release(), payload];
    const frame = decodeP2PFrame(envelope.body);
    if (!frame) {
      this.host.log().debug({ bytes: envelope.body.length }, 'malformed P2P message; relaying it as it is');
      return [...this.release(), payload];
    }
    const dest = normalizeHandle(envelope.dest);
    if (this.held) {
      const held = this.held;
      if (held.owner.handle === dest && this.continues(held, frame))
        return this.addChunk(held, frame, payload);
    }
    const released = this.release();
    const session = this.sessionFor(dest, frame);
    if (session) {
      this.onSessionMessage(session, frame);
      return released;
    }
    if (!this.mayBeInvite(frame)) return [...released, payload];
    let owner: PictureOwner | undefined;
    try {
      owner = await this.host.owner(dest);
    } catch (err) {
      this.host.log().warn({ err }, 'looking up a stored picture failed; relaying the INVITE');
      return [...released, payload];
    }
    if (!owner || this.closed) return [...released, payload];
    if (frame.header.messageSize < frame.header.totalSize) {
      this.held = {
        owner,
        first: frame.header,
        chunks: [frame.payload],
        received: frame.header.messageSize,
        payloads: [payload],
      };
      return released;
    }
    return this.onInvite(owner, frame.header, frame.payload, [payload]) ? released : [...released, payload];
  }

  /** Forgets every session (the connection is closing). */
  close(): void {
    this.closed = true;
    for (const session of this.sessions.values()) clearTimeout(session.timer);
    this.sessions.clear();
    this.held = undefined;
  }

  /** Sessions running now (for tests and logs). */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /** The first chunk of an MSNSLP INVITE: SessionID 0, no flags, SLP footer, starting `INVITE `. */
  private mayBeInvite(frame: P2PFrame): boolean {
    const h = frame.header;
    return (
      h.sessionId === 0 &&
      h.flags === 0 &&
      h.offset === 0 &&
      frame.appId === P2P_APP_IDS.slp &&
      h.totalSize <= MAX_SLP_BYTES &&
      frame.payload.subarray(0, 7).toString('latin1') === 'INVITE '
    );
  }

  private continues(held: HeldInvite, frame: P2PFrame): boolean {
    const h = frame.header;
    return (
      h.sessionId === 0 &&
      h.identifier === held.first.identifier &&
      h.totalSize === held.first.totalSize &&
      h.offset === held.received &&
      frame.appId === P2P_APP_IDS.slp
    );
  }

  private addChunk(held: HeldInvite, frame: P2PFrame, payload: Buffer): Buffer[] {
    held.chunks.push(frame.payload);
    held.payloads.push(payload);
    held.received += frame.header.messageSize;
    if (held.received < held.first.totalSize) return [];
    this.held = undefined;
    const whole = Buffer.concat(held.chunks);
    return this.onInvite(held.owner, held.first, whole, held.payloads) ? [] : held.payloads;
  }

  /** Held chunks to relay because what follows does not continue them. */
  private release(): Buffer[] {
    const held = this.held;
    if (!held) return [];
    this.held = undefined;
    return held.payloads;
  }

  private sessionFor(dest: string, frame: P2PFrame): PictureSession | undefined {
    const h = frame.header;
    for (const session of this.sessions.values()) {
      if (session.owner.handle !== dest) continue;
      // An ACK of something the server sent names its Identifier as AckSessionID.
      if (h.flags & P2P_FLAGS.ack) {
        if (session.sent.has(h.ackSessionId)) return session;
        continue;
      }
      if (h.sessionId !== 0 && h.sessionId === session.sessionId) return session;
    }
    // MSNSLP (SessionID 0) about one of the server's sessions: its Call-ID says so.
    if (h.sessionId !== 0 || h.flags !== 0 || h.offset !== 0 || h.messageSize !== h.totalSize)
      return undefined;
    if (this.sessions.size === 0) return undefined;
    const slp = parseSlp(frame.payload);
    const callId = slp?.headers.get('call-id')?.toUpperCase();
    if (!callId) return undefined;
    for (const session of this.sessions.values()) {
      if (session.owner.handle === dest && session.callId === callId) return session;
    }
    return undefined;
  }

  /** True when the INVITE asks for `owner`'s stored picture and the server took it on. */
  private onInvite(owner: PictureOwner, first: P2PHeader, bytes: Buffer, payloads: Buffer[]): boolean {
    const log = this.host.log();
    const requester = this.host.requester();
    const slp = parseSlp(bytes);
    if (!requester || !slp || slp.method !== 'INVITE') return false;
    if ((slp.body.get('euf-guid') ?? '').toUpperCase() !== DISPLAY_PICTURE_EUF_GUID) return false;
    const appId = Number(slp.body.get('appid') ?? '');
    // COMPAT: Windows Live Messenger 8+ asks with AppID 12 ("Display Image", imfreedom
    // "P2Pv1 Headers"); MSN Messenger 6.0 – 7.5, aMSN and libpurple with AppID 1.
    if (appId !== P2P_APP_IDS.msnObject && appId !== P2P_APP_IDS.displayImage) return false;
    const sessionId = sessionIdOf(slp);
    const callId = slp.headers.get('call-id')?.toUpperCase();
    if (sessionId === undefined || !callId) return false;
    if (!this.asksFor(slp, owner)) {
      log.debug({ owner: owner.handle }, 'P2P INVITE for another MSN object; relaying it');
      return false;
    }
    const existing = this.sessions.get(sessionId);
    if (existing) {
      if (existing.callId !== callId || existing.owner.handle !== owner.handle) return false;
      // A repeated INVITE: acknowledge it again, the session goes on.
      this.send(existing, ackFrame(first, this.identifier(existing)));
      return true;
    }
    if (this.sessions.size >= MAX_PICTURE_SESSIONS) {
      log.info({ owner: owner.handle }, 'too many picture sessions on this switchboard; relaying the INVITE');
      return false;
    }
    const session: PictureSession = {
      owner,
      requester,
      sessionId,
      callId,
      appId,
      sent: new Set(),
      nextIdentifier: random32(),
      awaiting: undefined,
      stage: 'ok',
      timer: setTimeout(() => this.forget(session, 'timed out'), PICTURE_SESSION_TIMEOUT_MS),
    };
    session.timer.unref();
    this.sessions.set(sessionId, session);
    log.info(
      { owner: owner.handle, sessionId, bytes: owner.picture.size, chunks: payloads.length },
      'serving a stored display picture',
    );
    this.send(session, ackFrame(first, this.identifier(session)));
    const ok = buildSlp(
      'MSNSLP/1.0 200 OK',
      [
        ['To', slp.headers.get('from') ?? `<msnmsgr:${requester}>`],
        ['From', slp.headers.get('to') ?? `<msnmsgr:${owner.handle}>`],
        ['Via', slp.headers.get('via') ?? ''],
        ['CSeq', String(Number(slp.headers.get('cseq') ?? '0') + 1 || 1)],
        ['Call-ID', slp.headers.get('call-id') ?? ''],
        ['Max-Forwards', '0'],
        ['Content-Type', 'application/x-msnmsgr-sessionreqbody'],
      ],
      [['SessionID', String(sessionId)]],
    );
    session.awaiting = this.sendMessage(session, 0, ok, 0, P2P_APP_IDS.slp);
    return true;
  }

  /** Whether the INVITE's Context names `owner`'s stored picture: its SHA1D is the picture's. */
  private asksFor(slp: SlpMessage, owner: PictureOwner): boolean {
    const context = slp.body.get('context') ?? '';
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(context)) return false;
    const msnObject = parseMsnObject(Buffer.from(context, 'base64').toString('utf8'));
    if (!msnObject) return false;
    return msnObjectField(msnObject, 'SHA1D') === sha1dFromHex(owner.picture.sha1);
  }

  private onSessionMessage(session: PictureSession, frame: P2PFrame): void {
    const h = frame.header;
    if (h.flags & P2P_FLAGS.ack) {
      if (h.ackSessionId !== session.awaiting) return;
      this.advance(session);
      return;
    }
    if (h.flags & (P2P_FLAGS.nak | P2P_FLAGS.error | P2P_FLAGS.close | P2P_FLAGS.transportError)) {
      this.forget(session, `requester ended it (flags 0x${h.flags.toString(16)})`);
      return;
    }
    // Every other message is acknowledged, as a client would (msnpiki "MSNC:Display Pictures").
    if (h.offset + h.messageSize === h.totalSize) this.send(session, ackFrame(h, this.identifier(session)));
    if (h.sessionId !== 0) return;
    const slp = parseSlp(frame.payload);
    if (slp?.method === 'BYE') {
      this.host.log().debug({ sessionId: session.sessionId }, 'picture session closed by BYE');
      this.forget(session);
    } else if (slp && slp.method !== 'INVITE') {
      this.forget(session, `requester answered ${slp.method ?? slp.status}`);
    }
  }

  private advance(session: PictureSession): void {
    switch (session.stage) {
      case 'ok':
        // The data preparation message: four zero bytes in the session (msnpiki "MSNC:Display Pictures").
        session.stage = 'preparation';
        session.awaiting = this.sendMessage(session, session.sessionId, Buffer.alloc(4), 0, session.appId);
        return;
      case 'preparation':
        session.stage = 'data';
        session.awaiting = this.sendMessage(
          session,
          session.sessionId,
          session.owner.picture.data,
          P2P_FLAGS.msnObjectData,
          session.appId,
        );
        return;
      case 'data':
        session.stage = 'delivered';
        session.awaiting = undefined;
        this.host
          .log()
          .info({ owner: session.owner.handle, sessionId: session.sessionId }, 'display picture delivered');
        return;
      case 'delivered':
        return;
    }
  }

  /** Sends `data` as one P2P message (one Identifier, chunks at increasing offsets); returns its Identifier. */
  private sendMessage(
    session: PictureSession,
    sessionId: number,
    data: Buffer,
    flags: number,
    appId: number,
  ): number {
    const identifier = this.identifier(session);
    const ackSessionId = random32();
    let offset = 0;
    do {
      const chunk = data.subarray(offset, offset + P2P_MAX_CHUNK_BYTES);
      this.send(
        session,
        encodeP2PFrame({
          header: {
            sessionId,
            identifier,
            offset,
            totalSize: data.length,
            flags,
            ackSessionId,
            ackUniqueId: 0,
            ackDataSize: 0,
          },
          payload: chunk,
          appId,
        }),
      );
      offset += chunk.length;
    } while (offset < data.length);
    return identifier;
  }

  private identifier(session: PictureSession): number {
    const identifier = session.nextIdentifier;
    session.nextIdentifier = identifier >= 0xffff_ffff ? 1 : identifier + 1;
    session.sent.add(identifier);
    return identifier;
  }

  private send(session: PictureSession, frame: Buffer): void {
    if (this.closed) return;
    this.host.send(session.owner, p2pMessagePayload(session.requester, frame));
  }

  private forget(session: PictureSession, why?: string): void {
    clearTimeout(session.timer);
    if (this.sessions.get(session.sessionId) === session) this.sessions.delete(session.sessionId);
    if (why)
      this.host
        .log()
        .info(
          { owner: session.owner.handle, sessionId: session.sessionId },
          `picture session dropped: ${why}`,
        );
  }
}
