import { createHash } from 'node:crypto';
import type { AccountRow, Store } from '../store/types.ts';
import { AtMostEvery } from '../util/at-most-every.ts';
import { randomToken } from '../util/ids.ts';

/** The store purpose of the tickets MSNP8–12 clients present in `USR … TWN S`. */
export const MSNP_LOGIN_PURPOSE = 'msnp-login';
/** Long enough to get from the Passport endpoint back to the notification server. */
export const LOGIN_TICKET_LIFETIME_MS = 10 * 60 * 1000;
/** Expired tickets are deleted at most this often (on issue). */
const PURGE_INTERVAL_MS = 60 * 1000;

/** A ticket as handed to the client: the Passport `t=` and `p=` values. */
export interface IssuedTicket {
  /** The secret token: base64url (`A–Z a–z 0–9 - _`), 43 characters, 256 bits. */
  t: string;
  /** The profile part. Papillon keeps nothing in it, so it is empty. */
  p: string;
  issuedAt: number;
  expiresAt: number;
}

/**
 * One-time login tickets: the Passport ticket of docs/msnp-reference.md §5.2–5.4.
 * The Passport endpoints (login2.srf, RST.srf) issue one after checking the password;
 * the client hands it back on the notification server in `USR trid TWN S t=…&p=…`,
 * where it is redeemed — once, within `LOGIN_TICKET_LIFETIME_MS`.
 *
 * The token is 32 random bytes in base64url, so it holds none of `,` `&` `'` `=`:
 * clients split the Passport header on `,`, find the ticket between `from-PP='` and
 * `'`, and split `t=…&p=…` on `&` (§5.3 step 3, [AMSN]; §5.4, [PECAN]).
 * Only its SHA-256 is stored.
 */
export class LoginTickets {
  readonly #purge = new AtMostEvery(PURGE_INTERVAL_MS);

  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
  ) {}

  async issue(accountId: string): Promise<IssuedTicket> {
    const now = this.clock();
    if (this.#purge.due(now)) await this.store.purgeTickets(now);
    const t = randomToken(32);
    const expiresAt = now + LOGIN_TICKET_LIFETIME_MS;
    await this.store.saveTicket({
      tokenHash: hashToken(t),
      accountId,
      purpose: MSNP_LOGIN_PURPOSE,
      createdAt: now,
      expiresAt,
    });
    return { t, p: '', issuedAt: now, expiresAt };
  }

  /**
   * Redeems what a client sent in `USR … TWN S`: `t=<token>&p=<profile>` (the `p`
   * part is ignored). Also accepted: `&amp;` for `&` (a client that copied the
   * XML-escaped RST token verbatim) and surrounding whitespace. Returns the
   * account once; undefined for anything unknown, expired, used or malformed.
   */
  async redeem(ticket: string): Promise<AccountRow | undefined> {
    const token = parseTicket(ticket);
    if (token === undefined) return undefined;
    const accountId = await this.store.redeemTicket(hashToken(token), MSNP_LOGIN_PURPOSE, this.clock());
    return accountId === undefined ? undefined : this.store.getAccountById(accountId);
  }
}

/** Lower-case hex SHA-256 of a token: what the store keeps. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Generous: our tokens are 43 characters; anything else cannot be one of ours anyway. */
const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

/** The `t` value of `t=…&p=…`, if it looks like a token. */
export function parseTicket(ticket: string): string | undefined {
  const parts = ticket.trim().replaceAll('&amp;', '&').split('&');
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim().toLowerCase() !== 't') continue;
    const value = part.slice(eq + 1).trim();
    return TOKEN.test(value) ? value : undefined;
  }
  return undefined;
}
