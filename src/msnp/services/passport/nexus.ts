import type { FastifyInstance, FastifyRequest } from 'fastify';
import { usableHost } from '../../../util/host.ts';
import { configuredOrigin } from '../../../util/public-origin.ts';
import { sendExact } from '../raw-reply.ts';

/** What to name when the request has no usable Host header (HTTP/1.0 clients). */
const DEFAULT_HOST = 'login.passport.com';

/**
 * The host of config `publicUrl` when set; else the host the client reached us by, as
 * given in its Host header: `login.passport.com` mapped to us by the hosts file, or
 * `127.0.0.1:8443` for a test. Anything that is not a plain host[:port] (it would end
 * up inside a comma-separated header) falls back to the default.
 */
export function requestHost(request: FastifyRequest): string {
  const configured = configuredOrigin(request);
  if (configured !== undefined) return new URL(configured).host;
  return usableHost(request.headers.host) ?? DEFAULT_HOST;
}

/**
 * The Passport "Nexus" (configuration server): `GET https://nexus.passport.com/rdr/pprdr.asp`
 * answers 200 with an empty body and the realm's URLs in a `PassportURLs` header,
 * the Update Configuration message of [MS-PASS] §2.2.12 (docs/msnp-reference.md §5.3
 * step 1). MSN Messenger 5–7.0 and aMSN then sign in at `https://` + DALogin.
 *
 * DALogin carries no scheme (clients prefix `https://`; [AMSN] gotNexusReply strips
 * the 8 characters `DALogin=`) and points back at the host the client used, so one
 * server answers for every Passport host name it is mapped to. The other URLs are
 * informational (register, profile, privacy, help links in the sign-in dialog); they
 * point at the same host.
 */
export function registerNexus(app: FastifyInstance): void {
  app.get('/rdr/pprdr.asp', async (request, reply) => {
    const host = requestHost(request);
    const site = `https://${host}/`;
    const urls = [
      'DARealm=Passport.Net',
      `DALogin=${host}/login2.srf`,
      `DAReg=${site}`,
      `Properties=${site}`,
      `Privacy=${site}`,
      `GeneralRedir=${site}`,
      `Help=${site}`,
      'ConfigVersion=15',
    ].join(',');
    // COMPAT: MSN Messenger matches the header name case-sensitively (see sendExact).
    sendExact(reply, 200, { PassportURLs: urls, 'Content-Type': 'text/html' });
  });
}
