import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core/core.ts';
import { registerLogin2 } from './login2.ts';
import { registerNexus } from './nexus.ts';
import { registerRst } from './rst.ts';

export interface PassportRoutesOptions {
  core: Core;
}

/**
 * Papillon's own Passport: where MSN Messenger 5.0–7.5 (MSNP8–12) and compatible
 * clients trade a password for the ticket they present in `USR … TWN S`
 * (docs/msnp-reference.md §5.2–5.4). Clients reach these routes under Microsoft's
 * host names (nexus.passport.com, login.passport.com, login.live.com) mapped to this
 * server, over HTTPS with the certificate `papillon certs` makes.
 *
 * - `GET  /rdr/pprdr.asp` — Nexus: where to sign in (Passport 1.4).
 * - `GET|POST /login2.srf` — Passport 1.4 sign-in (MSN 5.0–7.0, aMSN, libpurple MSNP9).
 * - `POST /RST.srf` — SOAP security-token service (MSN 7.5, msn-pecan).
 *
 * Register with `app.register(passportRoutes, { core })`. The plugin is encapsulated:
 * the XML body parser it adds applies to these routes only.
 */
export async function passportRoutes(app: FastifyInstance, options: PassportRoutesOptions): Promise<void> {
  // SOAP bodies as plain strings; rst.ts parses them itself (with DTDs refused and
  // no entity expansion). Clients send `text/xml; charset=utf-8`; that and anything
  // else, including no Content-Type, is read as text and judged by its content.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  registerNexus(app);
  registerLogin2(app, options.core);
  registerRst(app, options.core);
}
