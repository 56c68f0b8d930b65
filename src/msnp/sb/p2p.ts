/**
 * MSNP2P version 1 (MSNC1, MSN Messenger 6.0 – 7.5, MSNP9–12) as it travels through
 * the switchboard: an `MSG` whose content type is `application/x-msnmsgrp2p`, with a
 * `P2P-Dest` header, carrying a 48-byte binary header, a payload and a 4-byte footer
 * (docs/msnp-reference.md §12.5). MSNSLP (the SIP-like text the payload holds while a
 * session is negotiated) is parsed and built here too.
 * References: msnpiki "MSNC:P2Pv1 Headers" (NINA wiki "Protocols/MSNP/MSNC/Binary
 * Headers"), imfreedom "P2Pv1 Headers" (flags, AppIDs), msnpiki "MSNC:MSNSLP".
 *
 * Pure functions of bytes: malformed input gives `undefined`, never an exception.
 */

export const P2P_HEADER_BYTES = 48;
export const P2P_FOOTER_BYTES = 4;
/** The largest payload per P2P message over the switchboard (msnpiki "MSNC:Display Pictures"). */
export const P2P_MAX_CHUNK_BYTES = 1202;

/** Header flags (imfreedom "P2Pv1 Headers", Flags). */
export const P2P_FLAGS = {
  nak: 0x1,
  ack: 0x2,
  waiting: 0x4,
  error: 0x8,
  file: 0x10,
  msnObjectData: 0x20,
  close: 0x40,
  transportError: 0x80,
  directHandshake: 0x100,
} as const;

/** Footer application ids (imfreedom "P2Pv1 Headers", Footer). */
export const P2P_APP_IDS = {
  /** MSNSLP negotiation and acknowledgements. */
  slp: 0,
  /** MSN object data: display pictures and custom emoticons. */
  msnObject: 1,
  fileTransfer: 2,
  /** "Display Image" in newer clients (Windows Live Messenger 8+). */
  displayImage: 12,
} as const;

export const P2P_CONTENT_TYPE = 'application/x-msnmsgrp2p';

/** The binary header: six DWORDs and three QWORDs, little-endian. */
export interface P2PHeader {
  /** 0 while negotiating over MSNSLP; then the SessionID the INVITE named. */
  sessionId: number;
  /** The message's identifier (its sender's BaseIdentifier and successors). */
  identifier: number;
  /** Where this chunk's payload starts within the whole message. */
  offset: number;
  /** The size of the whole message (all chunks); for an ACK, the acknowledged message's. */
  totalSize: number;
  /** This chunk's payload size. */
  messageSize: number;
  flags: number;
  /** Called AckSessionID: a random value on ordinary messages; on ACKs, the acknowledged Identifier. */
  ackSessionId: number;
  /** Called AckUniqueID: on ACKs, the acknowledged message's AckSessionID. */
  ackUniqueId: number;
  /** On ACKs, the acknowledged message's TotalSize. */
  ackDataSize: number;
}

export interface P2PFrame {
  header: P2PHeader;
  payload: Buffer;
  /** The big-endian footer. */
  appId: number;
}

const MAX_U32 = 0xffff_ffff;

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_U32;
}

function isU64(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** Header + payload + footer. Throws on out-of-range fields (a programming error). */
export function encodeP2PFrame(frame: {
  header: Omit<P2PHeader, 'messageSize'>;
  payload?: Buffer;
  appId: number;
}): Buffer {
  const payload = frame.payload ?? Buffer.alloc(0);
  const h = frame.header;
  for (const [name, value] of [
    ['sessionId', h.sessionId],
    ['identifier', h.identifier],
    ['flags', h.flags],
    ['ackSessionId', h.ackSessionId],
    ['ackUniqueId', h.ackUniqueId],
    ['appId', frame.appId],
  ] as const) {
    if (!isU32(value)) throw new RangeError(`P2P ${name} out of range: ${value}`);
  }
  for (const [name, value] of [
    ['offset', h.offset],
    ['totalSize', h.totalSize],
    ['ackDataSize', h.ackDataSize],
  ] as const) {
    if (!isU64(value)) throw new RangeError(`P2P ${name} out of range: ${value}`);
  }
  const out = Buffer.alloc(P2P_HEADER_BYTES + payload.length + P2P_FOOTER_BYTES);
  out.writeUInt32LE(h.sessionId, 0);
  out.writeUInt32LE(h.identifier, 4);
  out.writeBigUInt64LE(BigInt(h.offset), 8);
  out.writeBigUInt64LE(BigInt(h.totalSize), 16);
  out.writeUInt32LE(payload.length, 24);
  out.writeUInt32LE(h.flags, 28);
  out.writeUInt32LE(h.ackSessionId, 32);
  out.writeUInt32LE(h.ackUniqueId, 36);
  out.writeBigUInt64LE(BigInt(h.ackDataSize), 40);
  payload.copy(out, P2P_HEADER_BYTES);
  out.writeUInt32BE(frame.appId, P2P_HEADER_BYTES + payload.length);
  return out;
}

/**
 * The frame in `bytes` (the MSG body after the MIME headers). Undefined unless the
 * sizes agree: MessageSize is exactly the bytes between header and footer, and the
 * chunk lies within TotalSize.
 */
export function decodeP2PFrame(bytes: Buffer): P2PFrame | undefined {
  if (bytes.length < P2P_HEADER_BYTES + P2P_FOOTER_BYTES) return undefined;
  const offset = bytes.readBigUInt64LE(8);
  const totalSize = bytes.readBigUInt64LE(16);
  const ackDataSize = bytes.readBigUInt64LE(40);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (offset > max || totalSize > max || ackDataSize > max) return undefined;
  const messageSize = bytes.readUInt32LE(24);
  if (messageSize !== bytes.length - P2P_HEADER_BYTES - P2P_FOOTER_BYTES) return undefined;
  if (offset + BigInt(messageSize) > totalSize) return undefined;
  return {
    header: {
      sessionId: bytes.readUInt32LE(0),
      identifier: bytes.readUInt32LE(4),
      offset: Number(offset),
      totalSize: Number(totalSize),
      messageSize,
      flags: bytes.readUInt32LE(28),
      ackSessionId: bytes.readUInt32LE(32),
      ackUniqueId: bytes.readUInt32LE(36),
      ackDataSize: Number(ackDataSize),
    },
    payload: bytes.subarray(P2P_HEADER_BYTES, P2P_HEADER_BYTES + messageSize),
    appId: bytes.readUInt32BE(bytes.length - P2P_FOOTER_BYTES),
  };
}

/**
 * The acknowledgement of `acked` (msnpiki "MSNC:Display Pictures", Acknowledgement):
 * same SessionID, TotalSize and AckDataSize the acked TotalSize, flags 0x2,
 * AckSessionID its Identifier, AckUniqueID its AckSessionID, no payload, footer 0.
 */
export function ackFrame(acked: P2PHeader, identifier: number): Buffer {
  return encodeP2PFrame({
    header: {
      sessionId: acked.sessionId,
      identifier,
      offset: 0,
      totalSize: acked.totalSize,
      flags: P2P_FLAGS.ack,
      ackSessionId: acked.identifier,
      ackUniqueId: acked.ackSessionId,
      ackDataSize: acked.totalSize,
    },
    appId: P2P_APP_IDS.slp,
  });
}

/** A P2P switchboard message's destination and binary part. */
export interface P2PEnvelope {
  /** The `P2P-Dest` handle, as written. */
  dest: string;
  /** Everything after the blank line: header, payload, footer. */
  body: Buffer;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** MIME headers of a switchboard message are short; a P2P one never needs more. */
const MAX_MIME_HEAD_BYTES = 1024;

/**
 * The destination and binary body of an `MSG` payload if it is a P2P message
 * (`Content-Type: application/x-msnmsgrp2p`, `P2P-Dest: handle`), else undefined.
 * Split on bytes: the body is binary.
 */
export function parseP2PEnvelope(payload: Buffer): P2PEnvelope | undefined {
  const split = payload.subarray(0, MAX_MIME_HEAD_BYTES + CRLFCRLF.length).indexOf(CRLFCRLF);
  if (split < 0) return undefined;
  const head = payload.subarray(0, split).toString('latin1');
  let type: string | undefined;
  let dest: string | undefined;
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-type') type = value.split(';')[0]?.trim().toLowerCase();
    else if (name === 'p2p-dest') dest = value;
  }
  if (type !== P2P_CONTENT_TYPE || !dest) return undefined;
  return { dest, body: payload.subarray(split + CRLFCRLF.length) };
}

/** An `MSG` payload carrying `frame` to `dest`. */
export function p2pMessagePayload(dest: string, frame: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(
      `MIME-Version: 1.0\r\nContent-Type: ${P2P_CONTENT_TYPE}\r\nP2P-Dest: ${dest}\r\n\r\n`,
      'utf8',
    ),
    frame,
  ]);
}

/** An MSNSLP message: a request (`INVITE MSNMSGR:x MSNSLP/1.0`) or a response (`MSNSLP/1.0 200 OK`). */
export interface SlpMessage {
  /** Request method (INVITE, BYE, ACK …) or undefined for a response. */
  method: string | undefined;
  /** Request target (`MSNMSGR:handle`), empty for a response. */
  target: string;
  /** Response status code, or undefined for a request. */
  status: number | undefined;
  /** Response reason phrase. */
  reason: string;
  /** Headers by lower-case name (To, From, Via, CSeq, Call-ID, Max-Forwards, Content-Type, Content-Length). */
  headers: Map<string, string>;
  /** Body `Name: value` lines by lower-case name (EUF-GUID, SessionID, AppID, Context …). */
  body: Map<string, string>;
}

/** MSNSLP messages in practice are well under this; anything larger is not ours to parse. */
export const MAX_SLP_BYTES = 8192;

/**
 * An MSNSLP message from its bytes (msnpiki "MSNC:MSNSLP"): start line, headers, a
 * blank line, a body of `Name: value` lines ending in NUL. Undefined if malformed.
 */
export function parseSlp(bytes: Buffer): SlpMessage | undefined {
  if (bytes.length === 0 || bytes.length > MAX_SLP_BYTES) return undefined;
  const text = bytes.toString('utf8').replace(/\0+$/, '');
  const split = text.indexOf('\r\n\r\n');
  const head = split >= 0 ? text.slice(0, split) : text;
  const rest = split >= 0 ? text.slice(split + 4) : '';
  const [startLine = '', ...headerLines] = head.split('\r\n');
  let method: string | undefined;
  let target = '';
  let status: number | undefined;
  let reason = '';
  const response = /^MSNSLP\/1\.0 (\d{3})(?: (.*))?$/.exec(startLine);
  const request = /^([A-Z]+) (\S+) MSNSLP\/1\.0$/.exec(startLine);
  if (response) {
    status = Number(response[1]);
    reason = response[2] ?? '';
  } else if (request) {
    method = request[1];
    target = request[2] ?? '';
  } else {
    return undefined;
  }
  const headers = parseFields(headerLines);
  if (!headers) return undefined;
  const length = Number(headers.get('content-length') ?? '0');
  if (!Number.isSafeInteger(length) || length < 0) return undefined;
  const body = parseFields(rest.split('\r\n'));
  if (!body) return undefined;
  return { method, target, status, reason, headers, body };
}

function parseFields(lines: string[]): Map<string, string> | undefined {
  const fields = new Map<string, string>();
  for (const line of lines) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return fields;
}

/**
 * An MSNSLP message's bytes: `startLine`, `headers` (Content-Length is added), a blank
 * line, then `body` as `Name: value` lines, a blank line and the NUL the length counts.
 */
export function buildSlp(
  startLine: string,
  headers: ReadonlyArray<readonly [string, string]>,
  body: ReadonlyArray<readonly [string, string]>,
): Buffer {
  const bodyBytes = Buffer.from(`${body.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n\0`, 'utf8');
  const head = [startLine, ...headers.map(([k, v]) => `${k}: ${v}`), `Content-Length: ${bodyBytes.length}`];
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'utf8'), bodyBytes]);
}
