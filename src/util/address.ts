/**
 * A socket address as people and logs write it: an IPv4 client of a dual-stack
 * listener shows up as `::ffff:1.2.3.4` (RFC 4291 §2.5.5.2), which is `1.2.3.4`.
 */
export function unmappedAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}
