import type { FastifyPluginAsync } from 'fastify';
import type { MsnpContext } from '../ns/context.ts';
import { registerAddressBook } from './address-book/abservice.ts';
import { registerSharingService } from './address-book/sharing-service.ts';
import { registerConfig } from './config.ts';
import { registerOim } from './oim.ts';
import { registerLogin2 } from './passport/login2.ts';
import { registerNexus } from './passport/nexus.ts';
import { registerRst } from './passport/rst.ts';
import { registerRsi } from './rsi.ts';
import { registerStorage } from './storage.ts';

/**
 * MSN's web services, which MSN Messenger and Windows Live Messenger call over
 * HTTP(S) under Microsoft's host names (mapped to this server; see the README):
 * one file (or folder) per service, mounted here. They speak MSN's own model, so
 * they live with the MSNP code; the composition root hands this plugin to the
 * HTTP app, which imports no protocol.
 *
 * - Passport (docs/msnp-reference.md §5.2–5.4): `GET /rdr/pprdr.asp` (Nexus),
 *   `GET|POST /login2.srf` (Passport 1.4), `POST /RST.srf`, `//RST.srf`, `/RST2.srf`
 *   (SOAP security tokens; MSNP15+ SSO).
 * - Address book (ABCH) and contact sharing: `POST /abservice/abservice.asmx`,
 *   `POST /abservice/SharingService.asmx` (address-book/).
 * - Offline messages (OIM): `POST /OimWS/oim.asmx` (send), `POST /rsi/rsi.asmx` (read, delete).
 * - Roaming profile: `POST /storageservice/SchematizedStore.asmx`; client config:
 *   `POST|GET /Config/MsgrConfig.asmx`.
 *
 * Encapsulated: the body parser added here applies to these routes only. One
 * plugin instance serves the HTTP and the HTTPS app alike.
 */
export function msnServiceRoutes(ctx: MsnpContext): FastifyPluginAsync {
  return async (app) => {
    // SOAP bodies as plain strings; each service parses them with soap.ts (DTDs
    // refused, no entity expansion). Clients send `text/xml; charset=utf-8`; that
    // and anything else, including no Content-Type, is read as text and judged by
    // its content.
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    registerNexus(app);
    registerLogin2(app, ctx.core);
    registerRst(app, ctx.core);
    registerAddressBook(app, ctx.core);
    registerSharingService(app, ctx.core);
    registerOim(app, ctx.core);
    registerRsi(app, ctx.core);
    registerStorage(app, ctx.core);
    registerConfig(app);
  };
}
