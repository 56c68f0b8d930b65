import { createHash, randomBytes } from 'node:crypto';
import type { AccountRow, Store } from '../store/types.ts';
import { AtMostEvery } from '../util/at-most-every.ts';
import { randomToken } from '../util/ids.ts';

/** The store purpose of the tickets MSNP8–12 clients present in `USR … TWN S`. */
export const MSNP_LOGIN_PURPOSE = 'msnp-login';
/** The store purpose of the tokens MSN's web services (address book, OIM, storage…) accept. */
export const MSN_SERVICE_PURPOSE = 'msn-service';
/**
 * The store purpose of the Passport "DA" token (RST's `http://Passport.NET/tb`): what a
 * client signs a token-renewal request with, kept with its proof key (the
 * BinarySecret), which the server needs to check that signature.
 */
export const PASSPORT_DA_PURPOSE = 'passport-da';
/**
 * The store purpose of a login ticket's web-service twin (`issue` with `alsoForWeb`):
 * stored under a hash of its own, so it never signs in, and it outlives the sign-in.
 */
export const LOGIN_WEB_PURPOSE = 'msnp-login-web';
/** Long enough to get from the Passport endpoint back to the notification server. */
export const LOGIN_TICKET_LIFETIME_MS = 10 * 60 * 1000;
/**
 * Service tokens are reused for every web-service call of a sign-in; Windows Live
 * Messenger asks for new ones when the RST2 answer's `wsu:Expires` passes.
 */
export const SERVICE_TOKEN_LIFETIME_MS = 24 * 60 * 60 * 1000;
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
  /** base64 of 24 random bytes: the WS-Trust BinarySecret of an SSO ticket (`withProofKey`). */
  proofKey?: string;
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

  /**
   * A one-time login ticket. `withProofKey`: also a proof key the client answers the
   * MSNP15+ SSO challenge with (MBI_KEY_OLD), kept with the ticket so the notification
   * server can check that answer (`find`) before it redeems the ticket.
   */
  async issue(
    accountId: string,
    options: { withProofKey?: boolean; alsoForWeb?: boolean } = {},
  ): Promise<IssuedTicket> {
    const proofKey = options.withProofKey ? randomBytes(24).toString('base64') : undefined;
    const ticket = await this.#save(accountId, MSNP_LOGIN_PURPOSE, LOGIN_TICKET_LIFETIME_MS, proofKey);
    if (options.alsoForWeb) {
      await this.store.saveTicket({
        tokenHash: hashToken(webTwin(ticket.t)),
        accountId,
        purpose: LOGIN_WEB_PURPOSE,
        createdAt: ticket.issuedAt,
        expiresAt: ticket.issuedAt + SERVICE_TOKEN_LIFETIME_MS,
        proofKey: null,
      });
    }
    return ticket;
  }

  /**
   * The account of a login ticket issued `alsoForWeb`, used or not, while its
   * web-service lifetime lasts: what MSNP8–14 clients present to the services that
   * take the messenger.msn.com ticket (OIM retrieval, rsi.ts). Never a sign-in.
   */
  async verifyWebLogin(ticket: string): Promise<AccountRow | undefined> {
    const token = parseTicket(ticket);
    if (token === undefined) return undefined;
    const row = await this.store.findTicket(hashToken(webTwin(token)), LOGIN_WEB_PURPOSE, this.clock());
    return row === undefined ? undefined : this.store.getAccountById(row.accountId);
  }

  /**
   * A token for MSN's web services (address book, sharing, OIM, storage), reused
   * until it expires. The RST answer hands one out per requested service domain.
   */
  issueService(accountId: string): Promise<IssuedTicket> {
    return this.#save(accountId, MSN_SERVICE_PURPOSE, SERVICE_TOKEN_LIFETIME_MS, undefined);
  }

  /**
   * The Passport DA token of an RST answer (`http://Passport.NET/tb`) with its proof
   * key: a client renews its web-service tokens by signing with that key
   * (passport/rst-renewal.ts). It lives as long as the service tokens it renews.
   */
  issuePassport(accountId: string): Promise<IssuedTicket> {
    return this.#save(
      accountId,
      PASSPORT_DA_PURPOSE,
      SERVICE_TOKEN_LIFETIME_MS,
      randomBytes(24).toString('base64'),
    );
  }

  /** An unexpired Passport DA token's account id and proof key (reusable, never redeemed). */
  async findPassport(token: string): Promise<{ accountId: string; proofKey: string } | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const row = await this.store.findTicket(hashToken(token), PASSPORT_DA_PURPOSE, this.clock());
    return row?.proofKey ? { accountId: row.accountId, proofKey: row.proofKey } : undefined;
  }

  /**
   * The account a web-service request's ticket (`t=…&p=…`, as in ABAuthHeader's
   * TicketToken or OIM's `Ticket passport=`) belongs to; undefined for anything
   * unknown, expired or malformed. Login tickets are not accepted here.
   */
  async verifyService(ticket: string): Promise<AccountRow | undefined> {
    const token = parseTicket(ticket);
    if (token === undefined) return undefined;
    const row = await this.store.findTicket(hashToken(token), MSN_SERVICE_PURPOSE, this.clock());
    return row === undefined ? undefined : this.store.getAccountById(row.accountId);
  }

  /** An unused, unexpired login ticket's account id and proof key, without redeeming it. */
  async find(ticket: string): Promise<{ accountId: string; proofKey: string | null } | undefined> {
    const token = parseTicket(ticket);
    if (token === undefined) return undefined;
    const row = await this.store.findTicket(hashToken(token), MSNP_LOGIN_PURPOSE, this.clock());
    return row === undefined || row.usedAt !== null
      ? undefined
      : { accountId: row.accountId, proofKey: row.proofKey };
  }

  async #save(
    accountId: string,
    purpose: string,
    lifetimeMs: number,
    proofKey: string | undefined,
  ): Promise<IssuedTicket> {
    const now = this.clock();
    if (this.#purge.due(now)) await this.store.purgeTickets(now);
    const t = randomToken(32);
    const expiresAt = now + lifetimeMs;
    await this.store.saveTicket({
      tokenHash: hashToken(t),
      accountId,
      purpose,
      createdAt: now,
      expiresAt,
      proofKey: proofKey ?? null,
    });
    return { t, p: '', issuedAt: now, expiresAt, ...(proofKey ? { proofKey } : {}) };
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

/** What a login ticket's web-service twin is stored by (hashed): never the ticket's own hash. */
function webTwin(token: string): string {
  return `web:${token}`;
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
