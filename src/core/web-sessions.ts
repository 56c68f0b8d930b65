import type { AccountRow, Store } from '../store/types.ts';
import { AtMostEvery } from '../util/at-most-every.ts';
import { randomToken } from '../util/ids.ts';
import type { WebSessionApi } from './oauth-api.ts';
import { hashToken } from './tickets.ts';

/** A web sign-in lasts 30 days; signing in again starts a new one. */
export const WEB_SESSION_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;
/** Expired sessions are deleted at most this often (on create). */
const PURGE_INTERVAL_MS = 60 * 1000;
/** Our tokens are 43 characters; nothing much longer is worth a lookup. */
const MAX_TOKEN_LENGTH = 512;

/** What else ends with web sessions (the chat page's tokens: core/web-chat.ts), by their stored hashes. */
export type WebSessionsEnded = (accountId: string, tokenHashes: string[]) => Promise<void>;

/**
 * Web sign-in sessions for the account pages and the OAuth consent page. The cookie
 * holds a 32-byte random token, of which only the SHA-256 is stored; the CSRF token
 * (also 32 random bytes) is stored as is, since it grants nothing without the cookie.
 */
export class WebSessions implements WebSessionApi {
  readonly #purge = new AtMostEvery(PURGE_INTERVAL_MS);

  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
    private readonly ended: WebSessionsEnded = async () => {},
  ) {}

  async create(accountId: string): Promise<{ token: string; csrf: string; expiresAt: number }> {
    const now = this.clock();
    if (this.#purge.due(now)) await this.store.purgeWebSessions(now);
    const token = randomToken(32);
    const csrf = randomToken(32);
    const expiresAt = now + WEB_SESSION_LIFETIME_MS;
    await this.store.createWebSession({
      tokenHash: hashToken(token),
      accountId,
      csrf,
      createdAt: now,
      expiresAt,
    });
    return { token, csrf, expiresAt };
  }

  /** The session's account, or undefined for a missing, unknown or expired token. */
  async get(
    token: string | undefined,
  ): Promise<{ account: AccountRow; csrf: string; expiresAt: number } | undefined> {
    if (token === undefined || token === '' || token.length > MAX_TOKEN_LENGTH) return undefined;
    const session = await this.store.getWebSession(hashToken(token));
    if (session === undefined || session.expiresAt <= this.clock()) return undefined;
    const account = await this.store.getAccountById(session.accountId);
    return account && { account, csrf: session.csrf, expiresAt: session.expiresAt };
  }

  /** Signs out: the token, and what was issued through it, stop working at once. */
  async destroy(token: string | undefined): Promise<void> {
    if (token === undefined || token === '' || token.length > MAX_TOKEN_LENGTH) return;
    const tokenHash = hashToken(token);
    const session = await this.store.getWebSession(tokenHash);
    if (!(await this.store.deleteWebSession(tokenHash)) || session === undefined) return;
    await this.ended(session.accountId, [tokenHash]);
  }

  /**
   * Signs the account out everywhere but the session holding `keepToken` (after a
   * password change: whoever knew the old password loses the sessions it opened, and the
   * chat pages open in them). Returns how many ended.
   */
  async endOthers(accountId: string, keepToken?: string): Promise<number> {
    const keep = keepToken === undefined || keepToken === '' ? undefined : hashToken(keepToken);
    const ended = await this.store.deleteWebSessionsOf(accountId, keep);
    if (ended.length > 0) await this.ended(accountId, ended);
    return ended.length;
  }
}
