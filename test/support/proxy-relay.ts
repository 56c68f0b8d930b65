import net, { type AddressInfo } from 'node:net';

/**
 * The sending side of the PROXY protocol (HAProxy's doc/proxy-protocol.txt), written from
 * the spec for tests: header encoders, and a relay that stands in for a TCP load balancer.
 */

export interface Client {
  address: string;
  port: number;
}

/** The balancer's own address of the client's family (the header names both ends). */
function defaultServer(client: Client): Client {
  return { address: net.isIP(client.address) === 6 ? '::1' : '127.0.0.1', port: 1863 };
}

/** §2.1: `PROXY TCP4|TCP6 src dst sport dport\r\n`. */
export function proxyV1(client: Client, server: Client = defaultServer(client)): Buffer {
  const protocol = net.isIP(client.address) === 6 ? 'TCP6' : 'TCP4';
  return Buffer.from(
    `PROXY ${protocol} ${client.address} ${server.address} ${client.port} ${server.port}\r\n`,
    'latin1',
  );
}

export const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);

/** §2.2: a v2 header; `client` unset is the LOCAL command (health checks). `tlvs`: extra bytes after the addresses. */
export function proxyV2(
  client: Client | undefined,
  server: Client | undefined = undefined,
  tlvs: Buffer = Buffer.alloc(0),
): Buffer {
  if (!client) return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const six = net.isIP(client.address) === 6;
  const to = server ?? defaultServer(client);
  const addresses = Buffer.concat([
    addressBytes(client.address, six),
    addressBytes(to.address, six),
    u16(client.port),
    u16(to.port),
    tlvs,
  ]);
  return Buffer.concat([
    V2_SIGNATURE,
    Buffer.from([0x21, six ? 0x21 : 0x11]),
    u16(addresses.length),
    addresses,
  ]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function addressBytes(address: string, six: boolean): Buffer {
  if (!six) return Buffer.from(address.split('.').map(Number));
  const [head = '', tail = ''] = address.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = groups(tail);
  const all = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return Buffer.from(all.flatMap((g) => [Number.parseInt(g, 16) >> 8, Number.parseInt(g, 16) & 0xff]));
}

export interface Relay {
  port: number;
  close(): Promise<void>;
}

/**
 * A load balancer in miniature: each connection to `port` is relayed to 127.0.0.1:`target`
 * after `header(n)` (n: the connection's number, from 0) is written first, as HAProxy's
 * `send-proxy`/`send-proxy-v2` does.
 */
export async function startRelay(target: number, header: (n: number) => Buffer): Promise<Relay> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port: target });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    outbound.write(header(count++));
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
