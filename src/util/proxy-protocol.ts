import { isIP, SocketAddress } from 'node:net';

/**
 * The PROXY protocol header a TCP load balancer (HAProxy `send-proxy`/`send-proxy-v2`)
 * puts before a connection's first byte, naming the client it relays for.
 * Spec: HAProxy's doc/proxy-protocol.txt (§2.1 version 1, text; §2.2 version 2, binary).
 * A pure function of bytes: the caller accumulates what it has read and asks again.
 */

/** The client the balancer relays for, as a socket would report it. */
export interface ProxiedPeer {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export type ProxyHeader =
  /** More bytes are needed to decide. */
  | { state: 'incomplete' }
  /** Not a PROXY header, or a malformed one: the connection must be closed (§2.1). */
  | { state: 'invalid'; reason: string }
  /**
   * A whole header of `length` bytes. `peer` is unset for v1 `UNKNOWN`, v2 `LOCAL` (the
   * balancer's own health checks) and v2 families without an IP address: the socket's own
   * address stands (§2.1, §2.2).
   */
  | { state: 'complete'; version: 1 | 2; length: number; peer: ProxiedPeer | undefined };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** §2.1: the longest line, `PROXY UNKNOWN` with two IPv6 addresses, is 107 bytes with its CRLF. */
const V1_MAX_LENGTH = 107;
/** §2.2: the 12-byte signature of version 2. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED = 16;

const incomplete: ProxyHeader = { state: 'incomplete' };
const invalid = (reason: string): ProxyHeader => ({ state: 'invalid', reason });

/** Reads a PROXY header (v1 or v2) at the start of `bytes`. */
export function parseProxyHeader(bytes: Uint8Array): ProxyHeader {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (data.length === 0) return incomplete;
  if (startsLike(data, V1_PREFIX)) return parseV1(data);
  if (startsLike(data, V2_SIGNATURE)) return parseV2(data);
  return invalid('not a PROXY protocol header');
}

/** True while `data` is a prefix of `signature` or starts with it: a mismatch is known at its first byte. */
function startsLike(data: Buffer, signature: Buffer): boolean {
  const n = Math.min(data.length, signature.length);
  return data.subarray(0, n).equals(signature.subarray(0, n));
}

/** §2.1: `PROXY TCP4|TCP6 src dst sport dport\r\n`, or `PROXY UNKNOWN …\r\n`. */
function parseV1(data: Buffer): ProxyHeader {
  const window = data.subarray(0, V1_MAX_LENGTH);
  const end = window.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    // §2.1: "If the CRLF sequence is not found in the first 107 characters … invalid",
    // and a lone CR or LF never ends the line.
    if (data.length >= V1_MAX_LENGTH) return invalid('PROXY v1 line longer than 107 bytes');
    const lone = window.indexOf(0x0a);
    if (lone >= 0) return invalid('PROXY v1 line ends without CRLF');
    const cr = window.indexOf(0x0d);
    if (cr >= 0 && cr < window.length - 1) return invalid('PROXY v1 line ends without CRLF');
    return incomplete;
  }
  const line = window.toString('latin1', V1_PREFIX.length, end);
  const length = end + 2;
  const fields = line.split(' ');
  const protocol = fields[0];
  // §2.1: for UNKNOWN "the receiver must ignore anything presented before the CRLF".
  if (protocol === 'UNKNOWN') return { state: 'complete', version: 1, length, peer: undefined };
  if (protocol !== 'TCP4' && protocol !== 'TCP6') return invalid(`PROXY v1 protocol ${quote(protocol)}`);
  if (fields.length !== 5) return invalid('PROXY v1 line needs four fields after the protocol');
  const [, source = '', destination = '', sourcePort = '', destinationPort = ''] = fields;
  const family = protocol === 'TCP4' ? 4 : 6;
  if (!isV1Address(source, family) || !isV1Address(destination, family)) {
    return invalid(`PROXY v1 ${protocol} addresses ${quote(source)} ${quote(destination)}`);
  }
  if (!isV1Port(sourcePort) || !isV1Port(destinationPort)) {
    return invalid(`PROXY v1 ports ${quote(sourcePort)} ${quote(destinationPort)}`);
  }
  return {
    state: 'complete',
    version: 1,
    length,
    peer: {
      address: family === 4 ? source : canonicalIpv6(source),
      port: Number(sourcePort),
      family: family === 4 ? 'IPv4' : 'IPv6',
    },
  };
}

/** §2.1: four decimal numbers without heading zeroes, or an IPv6 address (no zone). */
function isV1Address(text: string, family: 4 | 6): boolean {
  if (family === 4) return /^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(text) && isIP(text) === 4;
  return /^[0-9a-f:.]+$/i.test(text) && isIP(text) === 6;
}

/** §2.1: a decimal integer 0…65535 without heading zeroes. */
function isV1Port(text: string): boolean {
  return /^(0|[1-9]\d{0,4})$/.test(text) && Number(text) <= 65535;
}

/** §2.2: signature, version/command, family/transport, length, then addresses and TLVs. */
function parseV2(data: Buffer): ProxyHeader {
  // Each fixed byte is checked as soon as it arrives: a bad header is refused at once.
  const versionCommand = data[12];
  if (versionCommand !== undefined) {
    if (versionCommand >> 4 !== 2) return invalid(`PROXY v2 version ${versionCommand >> 4}`);
    if ((versionCommand & 0x0f) > 1) return invalid(`PROXY v2 command ${versionCommand & 0x0f}`);
  }
  const familyTransport = data[13];
  if (familyTransport !== undefined && (familyTransport >> 4 > 3 || (familyTransport & 0x0f) > 2)) {
    return invalid(`PROXY v2 family/transport 0x${hex(familyTransport)}`);
  }
  if (versionCommand === undefined || familyTransport === undefined || data.length < V2_FIXED) {
    return incomplete;
  }
  const command = versionCommand & 0x0f;
  const family = familyTransport >> 4;
  const transport = familyTransport & 0x0f;
  const length = V2_FIXED + data.readUInt16BE(14);
  if (data.length < length) return incomplete;
  const body = data.subarray(V2_FIXED, length);
  // LOCAL: the balancer's own connection (health checks); the block is ignored.
  if (command === 0) return { state: 'complete', version: 2, length, peer: undefined };
  // UNSPEC and AF_UNIX carry no client IP address: the socket's own address stands.
  if (transport === 0 || family === 0 || family === 3) {
    return { state: 'complete', version: 2, length, peer: undefined };
  }
  const size = family === 1 ? 4 : 16;
  if (body.length < 2 * size + 4) {
    return invalid(`PROXY v2 address block of ${body.length} bytes is too short for its family`);
  }
  const port = body.readUInt16BE(2 * size);
  if (family === 1) {
    return {
      state: 'complete',
      version: 2,
      length,
      peer: { address: [...body.subarray(0, 4)].join('.'), port, family: 'IPv4' },
    };
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
  return {
    state: 'complete',
    version: 2,
    length,
    peer: { address: canonicalIpv6(groups.join(':')), port, family: 'IPv6' },
  };
}

/** The form a socket reports (RFC 5952: `2001:db8::1`, `::ffff:192.0.2.1`), so one client has one throttle key. */
function canonicalIpv6(address: string): string {
  return new SocketAddress({ address, family: 'ipv6' }).address;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** Logged text from untrusted bytes: short and printable. */
function quote(text: string | undefined): string {
  return JSON.stringify((text ?? '').slice(0, 40));
}
