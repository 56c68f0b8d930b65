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
}

export interface WebContext extends WebSettings {
  core: Core;
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
