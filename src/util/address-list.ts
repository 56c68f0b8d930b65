import { BlockList, isIP } from 'node:net';
import { unmappedAddress } from './address.ts';

/**
 * Named ranges a list of proxy addresses may use, as fastify's `trustProxy` (proxy-addr)
 * reads them, so `trustProxy` and `proxyProtocol` accept the same words (config.ts checks
 * the entries).
 */
export const NAMED_RANGES: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/**
 * A test for "is this socket address in the list": `::ffff:10.1.2.3` (an IPv4 client of a
 * dual-stack listener) counts as `10.1.2.3`. Entries are assumed valid (config checked them).
 */
export function addressMatcher(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries.flatMap((e) =>
    Object.hasOwn(NAMED_RANGES, e) ? (NAMED_RANGES[e] ?? []) : [e],
  )) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    const plain = unmappedAddress(address);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}
