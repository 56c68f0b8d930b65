import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../../core/core.ts';
import { recordSignIn } from '../../../core/metrics.ts';
import { sendExact } from '../raw-reply.ts';
import { parsePassportAuthorization } from './authorization-header.ts';

/**
 * [MS-PASS] §2.2.2 Authentication Server Challenge, with the values Passport sent
 * (docs/msnp-reference.md §5.3 step 4). One answer for every failure — wrong
 * password, unknown handle, no or garbled Authorization header, throttled — so it
 * never tells whether a handle exists. COMPAT: aMSN treats any 401 as "wrong
 * user or password"; MSN Messenger re-prompts because of `prompt`.
 */
const FAILED =
  'Passport1.4 da-status=failed,srealm=Passport.NET,ts=-1,prompt,cburl=http://www.passportimages.com/XPPassportLogo.gif';

/**
 * The Passport 1.4 authentication server, `https://login.passport.com/login2.srf`
 * (docs/msnp-reference.md §5.3): MSN Messenger 5.0–7.0, aMSN 0.9x and libpurple's
 * MSNP9 send the credentials in a Passport1.4 Authorization header and get back the
 * ticket they present to the notification server in `USR trid TWN S t=…&p=…` (§5.2).
 * GET is what clients send; POST is accepted the same way.
 */
export function registerLogin2(app: FastifyInstance, core: Core): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const credentials = parsePassportAuthorization(request.headers.authorization);
    if (credentials === undefined) {
      request.log.info({ ip: request.ip }, 'passport login2: no credentials in the Authorization header');
      return fail(reply);
    }
    // Shared with every protocol: per (address, handle) and per address. A locked
    // client gets the same 401 without its password being checked at all.
    const result = await core.verifyPasswordGuarded(request.ip, credentials.signIn, credentials.password);
    if (result.status !== 'ok') {
      recordSignIn(core.metrics, request.log, {
        path: 'passport-login2',
        result: result.status,
        address: request.ip,
        handle: credentials.signIn,
      });
      return fail(reply);
    }
    const { t, p } = await core.tickets.issue(result.value.id);
    recordSignIn(core.metrics, request.log, {
      path: 'passport-login2',
      result: 'ok',
      address: request.ip,
      handle: result.value.handle,
    });
    // [MS-PASS] §2.2.11 Token Response. COMPAT: [YW] — MSN Messenger breaks unless the
    // status is 200 and the content type text/html. COMPAT: aMSN splits the header on
    // `,`, takes the `from-PP=` item and drops 9 leading characters and the closing
    // quote; some bots look for the `',` that ends it. So the quotes stay, `ru` follows,
    // and neither t nor p may contain a comma (ours are base64url).
    sendExact(reply, 200, {
      'Authentication-Info': `Passport1.4 da-status=success,tname=MSPAuth,tname=MSPProf,tname=MSPSec,from-PP='t=${t}&p=${p}',ru=http://messenger.msn.com`,
      'Content-Type': 'text/html',
    });
  };
  app.route({ method: ['GET', 'POST'], url: '/login2.srf', handler });
}

function fail(reply: FastifyReply): void {
  sendExact(reply, 401, { 'WWW-Authenticate': FAILED, 'Content-Type': 'text/html' });
}
