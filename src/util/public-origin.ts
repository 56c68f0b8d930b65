import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { usableHost } from './host.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Config `publicUrl` as an origin (`https://chat.example.org`), or null when unset. */
    publicOrigin: string | null;
    /** Config `domain`: the names a Host header may carry when `publicUrl` is unset. */
    serverDomain: string | null;
  }
}

/**
 * The configured external origin, if any. Absolute URLs (OAuth's issuer, the Passport
 * Nexus, picture links) use it instead of the Host header, which a client or a hostile
 * page can set to anything.
 */
export function configuredOrigin(request: FastifyRequest): string | undefined {
  return request.server.publicOrigin ?? undefined;
}

/**
 * The origin absolute URLs use: config `publicUrl`; without it, the request's scheme
 * and Host when the Host names this server (the domain or a name under it, localhost,
 * an IP address), else the domain. Undefined when none of these is known.
 */
export function ownOrigin(request: FastifyRequest): string | undefined {
  const configured = configuredOrigin(request);
  if (configured !== undefined) return configured;
  const domain = request.server.serverDomain ?? undefined;
  const host = usableHost(request.headers.host)?.toLowerCase();
  if (host !== undefined) {
    const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
    const ours =
      name === 'localhost' ||
      isIP(name) !== 0 ||
      (domain !== undefined && (name === domain || name.endsWith(`.${domain}`)));
    if (ours) return `${request.protocol}://${host}`;
  }
  return domain === undefined ? undefined : `${request.protocol}://${domain}`;
}
