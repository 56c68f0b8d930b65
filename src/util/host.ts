/** A host name or bracketed IPv6 literal, with an optional port. */
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/**
 * A Host header value (RFC 9110 §7.2) as sent, if it is a plain host[:port];
 * undefined when it is missing or holds anything else, so it is safe to echo into
 * URLs and headers.
 */
export function usableHost(header: string | undefined): string | undefined {
  const host = header?.trim();
  return host !== undefined && host.length <= 261 && HOST.test(host) ? host : undefined;
}
