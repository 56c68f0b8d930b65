import { unmappedAddress } from '../util/address.ts';

/**
 * What the domain counts, as plain numbers: the composition root wires these calls to
 * Prometheus (src/server/metrics.ts); the core never imports a metrics library. Every
 * label is from a small fixed set (never a handle or an address), and each call is an
 * increment: nothing measurable on a hot path.
 */

/** The protocol of an endpoint, read from its id (`msnp:…`, `xmpp:…`). */
export type Protocol = 'msnp' | 'xmpp';

/**
 * How someone proved who they are: MSNP's `USR` packages, the Passport services MSN
 * clients call first (login2, RST), an XMPP SASL mechanism, the web sign-in form, the
 * OAuth token endpoint.
 */
export type SignInPath =
  | 'msnp-md5'
  | 'msnp-twn'
  | 'msnp-sso'
  | 'passport-login2'
  | 'passport-rst'
  | `xmpp-${XmppMechanismLabel}`
  | 'web'
  | 'oauth';

/** SASL mechanism names this server offers, lower-cased; anything else counts as `other`. */
export type XmppMechanismLabel =
  | 'plain'
  | 'scram-sha-1'
  | 'scram-sha-256'
  | 'x-messenger-oauth2'
  | 'oauthbearer'
  | 'other';

/** `throttled`: refused by the guessing limits before any password was checked. */
export type SignInResult = 'ok' | 'failed' | 'throttled';

export interface CoreMetrics {
  signIn(path: SignInPath, result: SignInResult): void;
  /** A chat message (text or nudge; typing notifications are not messages) reached one endpoint. */
  messageRouted(from: Protocol, to: Protocol): void;
}

/** The default: counts nothing. */
export const NO_METRICS: CoreMetrics = {
  signIn() {},
  messageRouted() {},
};

/**
 * The protocol an endpoint or conversation participant id names (`msnp:…`, `msnp-sb:…`,
 * `xmpp:…`, `xmpp-bridge:…`), or undefined for a server-side one (the MSN offline replay).
 */
export function protocolOf(endpointId: string): Protocol | undefined {
  if (endpointId.startsWith('msnp:') || endpointId.startsWith('msnp-sb:')) return 'msnp';
  if (endpointId.startsWith('xmpp:') || endpointId.startsWith('xmpp-bridge:')) return 'xmpp';
  return undefined;
}

const MECHANISMS = new Set<string>([
  'plain',
  'scram-sha-1',
  'scram-sha-256',
  'x-messenger-oauth2',
  'oauthbearer',
]);

/** A SASL mechanism as a bounded label (a client may name any mechanism at all). */
export function xmppSignInPath(mechanism: string | undefined): SignInPath {
  const name = (mechanism ?? '').toLowerCase();
  return `xmpp-${MECHANISMS.has(name) ? (name as XmppMechanismLabel) : 'other'}`;
}

/** The least a sign-in line needs from a logger (pino's and fastify's both fit). */
export interface SignInLog {
  info(fields: object, message: string): void;
}

export interface SignInAttempt {
  path: SignInPath;
  result: SignInResult;
  /** The client's address: what fail2ban bans. */
  address: string | undefined;
  /** The name the client gave (may be anything at all on a failure). */
  handle: string | undefined;
}

/**
 * Counts a sign-in and logs it in the one line shape every protocol uses, which
 * contrib/fail2ban/filter.d/papillon.conf matches:
 *
 *     sign-in failed from 192.0.2.7 (xmpp-plain): "alice@example.org"
 *
 * The address comes before anything the client chose, and the handle is quoted as
 * JSON, so a crafted name can neither name another address to ban nor start a line.
 */
export function recordSignIn(metrics: CoreMetrics, log: SignInLog, attempt: SignInAttempt): void {
  metrics.signIn(attempt.path, attempt.result);
  const address = unmappedAddress(attempt.address) || 'unknown';
  const handle = JSON.stringify((attempt.handle ?? '').slice(0, 256));
  log.info(
    {
      signIn: attempt.result,
      path: attempt.path,
      ip: address,
      ...(attempt.handle ? { login: attempt.handle } : {}),
    },
    `sign-in ${attempt.result} from ${address} (${attempt.path}): ${handle}`,
  );
}
