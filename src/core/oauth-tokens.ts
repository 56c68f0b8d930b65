import type { AccountRow, NewOAuthToken, OAuthTokenRow, Store } from '../store/types.ts';
import { AtMostEvery } from '../util/at-most-every.ts';
import { randomToken } from '../util/ids.ts';
import type { DomainEvents } from './events.ts';
import {
  type AuthorizedApp,
  type Introspection,
  type OAuthApi,
  OAuthError,
  type Scope,
  type TokenSet,
} from './oauth-api.ts';
import { invalidGrant, plausibleToken, unknownAccountAsOAuthError } from './oauth-checks.ts';
import { toClient } from './oauth-clients.ts';
import { checkScopes, knownScopes, OFFLINE_SCOPE } from './oauth-scopes.ts';
import { hashToken } from './tickets.ts';
import type { TokenGrant } from './tokens.ts';

/** Live Connect's access tokens lived an hour. */
export const DEFAULT_ACCESS_TOKEN_SECONDS = 3600;
export const REFRESH_TOKEN_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;

/** Spent codes are kept this long after they expire, so a late replay still revokes what they issued. */
const CODE_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Expired rows are deleted at most this often (on issue). */
const PURGE_INTERVAL_MS = 60 * 1000;
/** `lastUsedAt` is written at most this often per token: it is shown to the user, not audited. */
const TOUCH_INTERVAL_MS = 60 * 1000;

export interface OAuthTokenOptions {
  /** Lifetime of access tokens; default 3600 (an hour). */
  accessTokenSeconds?: number;
  /** Where `grant-revoked` goes, so sessions a revoked grant signed in end on every node; default: nowhere. */
  events?: DomainEvents;
}

/** A valid access token's account and grant. */
export interface AccessTokenInfo {
  account: AccountRow;
  scopes: Scope[];
  clientId: string;
  expiresAt: number;
  /** The token family (one grant): what `grant-revoked` events name. */
  familyId: string;
}

/** What `issueTokens` takes: `OAuthApi.issueTokens`'s input, and more for internal use. */
export type TokenRequest = Parameters<OAuthApi['issueTokens']>[0] & {
  /** The grant the tokens join (revoked together); default: a new one. */
  familyId?: string;
  /** The access token's lifetime, when not the server's (`accessTokenSeconds`). */
  accessSeconds?: number;
};

/** What one access token, and its refresh token when there is one, are minted for. */
export interface TokenGrantRequest {
  clientId: string;
  accountId: string;
  accessScopes: Scope[];
  refreshScopes: Scope[] | undefined;
  familyId: string;
  codeHash: string | null;
  grantedAt: number;
  now: number;
  accessSeconds?: number;
}

/**
 * The tokens an OAuth grant holds: issuing, refresh with rotation, revocation,
 * introspection and validation, and the account's view of its grants. Tokens are
 * 32 random bytes in base64url, and only their SHA-256 is stored; the tokens of one
 * grant form a family, revoked together.
 */
export class OAuthTokens {
  readonly accessTokenSeconds: number;
  readonly #events: DomainEvents | undefined;
  readonly #purge = new AtMostEvery(PURGE_INTERVAL_MS);

  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
    options: OAuthTokenOptions = {},
  ) {
    this.#events = options.events;
    const seconds = options.accessTokenSeconds ?? DEFAULT_ACCESS_TOKEN_SECONDS;
    if (!Number.isInteger(seconds) || seconds < 1) {
      throw new RangeError(`accessTokenSeconds must be a positive whole number, got ${seconds}`);
    }
    this.accessTokenSeconds = seconds;
  }

  async issueTokens(input: TokenRequest): Promise<TokenSet> {
    const client = await this.store.getOAuthClient(input.clientId);
    if (client === undefined) throw new OAuthError('invalid_client', 'unknown client');
    const scopes = checkScopes(input.scopes);
    if (scopes.length === 0) throw new OAuthError('invalid_scope', 'no scope requested');
    const now = this.clock();
    await this.purgeIfDue(now);
    const tokens = this.mint({
      clientId: client.id,
      accountId: input.accountId,
      accessScopes: scopes,
      refreshScopes: input.refresh && scopes.includes(OFFLINE_SCOPE) ? scopes : undefined,
      familyId: input.familyId ?? randomToken(16),
      codeHash: null,
      grantedAt: now,
      now,
      ...(input.accessSeconds === undefined ? {} : { accessSeconds: input.accessSeconds }),
    });
    await unknownAccountAsOAuthError(this.store.saveOAuthTokens(tokens.rows));
    return tokens.set;
  }

  /** Revokes every token of one grant and ends the sessions signed in with them, on every node. */
  async revokeGrant(accountId: string, grantId: string): Promise<void> {
    await this.store.revokeOAuthFamily(grantId, this.clock());
    await this.#grantsRevoked(accountId, [grantId]);
  }

  /**
   * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): the presented refresh token is
   * revoked and a new one issued in the same family; presenting a revoked one again
   * means it was copied, so the whole family is revoked.
   */
  async refresh(input: { refreshToken: string; clientId: string; scopes?: Scope[] }): Promise<TokenSet> {
    const now = this.clock();
    const row = plausibleToken(input.refreshToken)
      ? await this.store.getOAuthToken(hashToken(input.refreshToken))
      : undefined;
    if (row === undefined || row.kind !== 'refresh') throw invalidGrant('invalid refresh token');
    // RFC 6749 §6: "validate the refresh token ... was issued to the authenticated client".
    if (row.clientId !== input.clientId) throw invalidGrant('refresh token issued to another client');
    if (row.revokedAt !== null) {
      await this.store.revokeOAuthFamily(row.familyId, now);
      await this.#grantsRevoked(row.accountId, [row.familyId]);
      throw invalidGrant('refresh token already used or revoked');
    }
    if (row.expiresAt <= now) throw invalidGrant('refresh token expired');

    const granted = checkScopes(row.scopes);
    // RFC 6749 §6: the requested scope "MUST NOT include any scope not originally granted".
    const requested =
      input.scopes === undefined || input.scopes.length === 0 ? granted : checkScopes(input.scopes);
    const wider = requested.find((s) => !granted.includes(s));
    if (wider !== undefined) throw new OAuthError('invalid_scope', `scope ${wider} was not granted`);

    const tokens = this.mint({
      clientId: row.clientId,
      accountId: row.accountId,
      accessScopes: requested,
      // RFC 6749 §6: a new refresh token's scope is "identical to that of the refresh
      // token included by the client in the request".
      refreshScopes: granted,
      familyId: row.familyId,
      codeHash: row.codeHash,
      grantedAt: row.grantedAt,
      now,
    });
    if (!(await this.store.rotateRefreshToken(row.tokenHash, now, tokens.rows))) {
      // A concurrent use of the same token won: it is being reused.
      await this.store.revokeOAuthFamily(row.familyId, now);
      await this.#grantsRevoked(row.accountId, [row.familyId]);
      throw invalidGrant('refresh token already used or revoked');
    }
    return tokens.set;
  }

  /**
   * RFC 7009 §2.1: revokes the token; a refresh token takes the access tokens of its
   * grant (its family) with it. An unknown token is not an error (§2.2). When the
   * requesting client is named, it may only revoke its own tokens.
   */
  async revoke(token: string, clientId?: string): Promise<void> {
    if (!plausibleToken(token)) return;
    const row = await this.store.getOAuthToken(hashToken(token));
    if (row === undefined) return;
    if (clientId !== undefined && row.clientId !== clientId) {
      // RFC 7009 §2.1: "the request is refused"; RFC 6749 §5.2's invalid_grant covers a
      // grant "issued to another client".
      throw invalidGrant('the token was issued to another client');
    }
    const now = this.clock();
    if (row.kind === 'refresh') await this.store.revokeOAuthFamily(row.familyId, now);
    else await this.store.revokeOAuthToken(row.tokenHash, now);
    // The sessions signed in with the grant's tokens end too: RFC 7009 §2.1 lets a
    // revocation reach "related tokens and the underlying authorization grant".
    await this.#grantsRevoked(row.accountId, [row.familyId]);
  }

  /** RFC 7662 §2.2: anything unknown, expired or revoked is just `active: false`. */
  async introspect(token: string): Promise<Introspection> {
    const row = plausibleToken(token) ? await this.store.getOAuthToken(hashToken(token)) : undefined;
    if (row === undefined || !this.#live(row)) return { active: false };
    const account = await this.store.getAccountById(row.accountId);
    if (account === undefined) return { active: false };
    return {
      active: true,
      scope: knownScopes(row.scopes).join(' '),
      clientId: row.clientId,
      username: account.handle,
      sub: account.id,
      // RFC 7662 §2.2: seconds since the epoch.
      exp: Math.floor(row.expiresAt / 1000),
      iat: Math.floor(row.createdAt / 1000),
      tokenType: row.kind === 'access' ? 'access_token' : 'refresh_token',
    };
  }

  async validateAccessToken(token: string): Promise<AccessTokenInfo | undefined> {
    if (!plausibleToken(token)) return undefined;
    const row = await this.store.getOAuthToken(hashToken(token));
    if (row === undefined || row.kind !== 'access' || !this.#live(row)) return undefined;
    const account = await this.store.getAccountById(row.accountId);
    if (account === undefined) return undefined;
    const now = this.clock();
    if (row.lastUsedAt === null || now - row.lastUsedAt >= TOUCH_INTERVAL_MS) {
      await this.store.touchOAuthToken(row.tokenHash, now);
    }
    return {
      account,
      scopes: knownScopes(row.scopes),
      clientId: row.clientId,
      expiresAt: row.expiresAt,
      familyId: row.familyId,
    };
  }

  /** `TokenValidator` for XMPP SASL; the mechanism itself requires `wl.messenger`. */
  async validate(token: string): Promise<TokenGrant | undefined> {
    const info = await this.validateAccessToken(token);
    return (
      info && {
        accountId: info.account.id,
        handle: info.account.handle,
        scopes: info.scopes,
        expiresAt: info.expiresAt,
        grantId: info.familyId,
      }
    );
  }

  // The account's view -----------------------------------------------------------------

  /** Clients holding a live token for the account, with the scopes those tokens carry. */
  async authorizedApps(accountId: string): Promise<AuthorizedApp[]> {
    const tokens = await this.store.listOAuthTokens(accountId, this.clock());
    const byClient = new Map<string, { scopes: Set<string>; grantedAt: number; lastUsedAt: number | null }>();
    for (const t of tokens) {
      const entry = byClient.get(t.clientId);
      if (entry === undefined) {
        byClient.set(t.clientId, {
          scopes: new Set(t.scopes),
          grantedAt: t.grantedAt,
          lastUsedAt: t.lastUsedAt,
        });
        continue;
      }
      for (const s of t.scopes) entry.scopes.add(s);
      entry.grantedAt = Math.min(entry.grantedAt, t.grantedAt);
      if (t.lastUsedAt !== null) entry.lastUsedAt = Math.max(entry.lastUsedAt ?? 0, t.lastUsedAt);
    }
    const apps: AuthorizedApp[] = [];
    for (const [clientId, entry] of byClient) {
      const row = await this.store.getOAuthClient(clientId);
      if (row === undefined) continue;
      apps.push({
        client: toClient(row),
        scopes: knownScopes([...entry.scopes]),
        grantedAt: entry.grantedAt,
        lastUsedAt: entry.lastUsedAt,
      });
    }
    return apps.sort((a, b) => a.grantedAt - b.grantedAt);
  }

  /** Revokes every token the client holds for the account, and its codes not yet redeemed. */
  async revokeApp(accountId: string, clientId: string): Promise<void> {
    // The client's grants for the account, expired tokens included (`> 0`): a session
    // outlives the access token it signed in with.
    const grants = (await this.store.listOAuthTokens(accountId, 0))
      .filter((t) => t.clientId === clientId)
      .map((t) => t.familyId);
    await this.store.revokeOAuthGrants(accountId, clientId, this.clock());
    await this.#grantsRevoked(accountId, grants);
  }

  // Internals (mint and purgeIfDue serve the authorization-code flow too) ---------------

  #live(row: OAuthTokenRow): boolean {
    return row.revokedAt === null && row.expiresAt > this.clock();
  }

  /** An access token, and a refresh token when `refreshScopes` is given, of one family. */
  mint(grant: TokenGrantRequest): { rows: NewOAuthToken[]; set: TokenSet } {
    const accessSeconds = grant.accessSeconds ?? this.accessTokenSeconds;
    const common = {
      clientId: grant.clientId,
      accountId: grant.accountId,
      familyId: grant.familyId,
      codeHash: grant.codeHash,
      grantedAt: grant.grantedAt,
      createdAt: grant.now,
    };
    const accessToken = randomToken(32);
    const rows: NewOAuthToken[] = [
      {
        ...common,
        tokenHash: hashToken(accessToken),
        kind: 'access',
        scopes: grant.accessScopes,
        expiresAt: grant.now + accessSeconds * 1000,
      },
    ];
    const set: TokenSet = {
      accessToken,
      tokenType: 'Bearer',
      expiresIn: accessSeconds,
      scopes: grant.accessScopes,
      accountId: grant.accountId,
    };
    if (grant.refreshScopes !== undefined) {
      const refreshToken = randomToken(32);
      rows.push({
        ...common,
        tokenHash: hashToken(refreshToken),
        kind: 'refresh',
        scopes: grant.refreshScopes,
        expiresAt: grant.now + REFRESH_TOKEN_LIFETIME_MS,
      });
      set.refreshToken = refreshToken;
    }
    return { rows, set };
  }

  /** Tells every node (the account's channel) that these grants are revoked: their sessions end. */
  async #grantsRevoked(accountId: string, grantIds: Iterable<string>): Promise<void> {
    for (const grantId of new Set(grantIds)) {
      await this.#events?.publish(accountId, { type: 'grant-revoked', grantId });
    }
  }

  /** Deletes expired codes and tokens, at most every PURGE_INTERVAL_MS (called when issuing). */
  async purgeIfDue(now: number): Promise<void> {
    if (this.#purge.due(now)) await this.store.purgeOAuth(now - CODE_RETENTION_MS, now);
  }
}
