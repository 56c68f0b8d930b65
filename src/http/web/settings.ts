import type { Core } from '../../core/core.ts';
import { normalizeHandle } from '../../util/handle.ts';

export type SignupMode = 'open' | 'closed' | 'invite';

/** What the web pages need from the configuration. */
export interface WebSettings {
  /** Accounts signing up here get handles `name@domain`. */
  domain: string;
  /** Self-service passwords (sign-up, password change) must be at least this long. */
  passwordMinLength: number;
  /** Who may create an account on the web: everyone, no one, or whoever has the invite code. */
  signup: SignupMode;
  signupInviteCode?: string | undefined;
  /** Accounts one address may create per hour; 0 or unset: no limit. */
  signupsPerHour?: number | undefined;
  /** What the Connect page tells people; unset: the page says to ask the operator. */
  connect?: ConnectInfo | undefined;
}

/**
 * Where clients reach this server, for the Connect page. The composition root fills
 * in the ports once the listeners are up (port 0 in tests becomes the real one).
 */
export interface ConnectInfo {
  /** Config `publicHost`; unset: the host name the browser used. */
  publicHost?: string | undefined;
  msnpPort?: number | undefined;
  xmppPort?: number | undefined;
  /** Direct TLS (XEP-0368); unset when there is no certificate. */
  xmppsPort?: number | undefined;
  httpPort?: number | undefined;
  /** Unset when HTTPS is not served. */
  httpsPort?: number | undefined;
  /** Where the CA certificate clients must trust is (`<dataDir>/certs/ca.crt`); offered when the file exists. */
  caFile?: string | undefined;
}

/** The settings are read through to `settings`, so changes to it (SIGHUP, the admin area) apply at once. */
export interface WebContext extends WebSettings {
  core: Core;
  /** The live settings object the HTTP and HTTPS apps share. */
  settings: WebSettings;
}

/** For an app built without configuration (tests of other parts): no self-service sign-up. */
export const DEFAULT_WEB_SETTINGS: WebSettings = {
  domain: 'localhost',
  passwordMinLength: 8,
  signup: 'closed',
};

/**
 * The handle someone typed into a sign-in or sign-up box: `alice` means
 * `alice@<domain>`; a full address is taken as typed (lower-cased).
 */
export function handleFromInput(input: string, domain: string): string {
  const handle = normalizeHandle(input);
  return handle.includes('@') ? handle : `${handle}@${domain}`;
}
