import { createHash, timingSafeEqual } from 'node:crypto';
import type { AccountRow, NewOAuthToken, OAuthClientRow, OAuthTokenRow, Store } from '../store/types.ts';
import { AtMostEvery } from '../util/at-most-every.ts';
import { isPapillonError } from '../util/errors.ts';
import { newClientId, randomToken } from '../util/ids.ts';
import { hasControlCharacters } from '../util/text.ts';
import type { DomainEvents } from './events.ts';
import {
  type AuthorizedApp,
  type Introspection,
  type OAuthApi,
  type OAuthClient,
  OAuthError,
  SCOPES,
  type Scope,
  type TokenSet,
} from './oauth-api.ts';
import { hashToken } from './tickets.ts';
import type { TokenGrant, TokenValidator } from './tokens.ts';

/** Live Connect's access tokens lived an hour. */
export const DEFAULT_ACCESS_TOKEN_SECONDS = 3600;
export const REFRESH_TOKEN_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;
/** RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED." */
export const CODE_LIFETIME_MS = 10 * 60 * 1000;
/** The scope that lets a grant have refresh tokens (Live Connect's `wl.offline_access`). */
export const OFFLINE_SCOPE: Scope = 'wl.offline_access';

/** Spent codes are kept this long after they expire, so a late replay still revokes what they issued. */
const CODE_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Expired rows are deleted at most this often (on issue). */
const PURGE_INTERVAL_MS = 60 * 1000;
/** `lastUsedAt` is written at most this often per token: it is shown to the user, not audited. */
const TOUCH_INTERVAL_MS = 60 * 1000;
/** Nothing longer can be one of our tokens (43 characters); not worth hashing. */
const MAX_TOKEN_LENGTH = 512;
export const MAX_CLIENT_NAME_LENGTH = 100;
const MAX_REDIRECT_URIS = 10;
const MAX_REDIRECT_URI_LENGTH = 2000;

/** RFC 7636 §4.1: `code-verifier = 43*128unreserved`. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** RFC 7636 §4.2: S256's challenge is BASE64URL(SHA256(verifier)), 32 bytes → 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export interface OAuthServiceOptions {
  clock?: () => number;
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

/**
 * The OAuth 2.0 authorization server's rules (RFC 6749 with RFC 7636 PKCE, RFC 7009
 * revocation, RFC 7662 introspection and RFC 9700's current practice), over the store.
 * Codes, tokens and client secrets are 32 random bytes in base64url, and only their
 * SHA-256 is stored. Also the `TokenValidator` XMPP SASL checks bearer tokens with.
 */
export class OAuthService implements OAuthApi, TokenValidator {
  readonly accessTokenSeconds: number;
  readonly #clock: () => number;
  readonly #events: DomainEvents | undefined;
  readonly #purge = new AtMostEvery(PURGE_INTERVAL_MS);

  constructor(
    private readonly store: Store,
    options: OAuthServiceOptions = {},
  ) {
    this.#clock = options.clock ?? Date.now;
    this.#events = options.events;
    const seconds = options.accessTokenSeconds ?? DEFAULT_ACCESS_TOKEN_SECONDS;
    if (!Number.isInteger(seconds) || seconds < 1) {
      throw new RangeError(`accessTokenSeconds must be a positive whole number, got ${seconds}`);
    }
    this.accessTokenSeconds = seconds;
  }

  parseScopes(text: string | undefined): Scope[] {
    return parseScopes(text);
  }

  // Clients --------------------------------------------------------------------------

  async registerClient(input: {
    name: string;
    redirectUris: string[];
    confidential: boolean;
    ownerId: string | null;
  }): Promise<{ client: OAuthClient; secret?: string }> {
    const name = checkClientName(input.name);
    const redirectUris = [...new Set(input.redirectUris)];
    if (redirectUris.length === 0) throw invalidRequest('at least one redirect URI is needed');
    if (redirectUris.length > MAX_REDIRECT_URIS) {
      throw invalidRequest(`at most ${MAX_REDIRECT_URIS} redirect URIs are allowed`);
    }
    for (const uri of redirectUris) checkRedirectUri(uri);
    const secret = input.confidential ? randomToken(32) : undefined;
    const row: OAuthClientRow = {
      id: newClientId(),
      name,
      secretHash: secret === undefined ? null : hashToken(secret),
      redirectUris,
      ownerId: input.ownerId,
      createdAt: this.#clock(),
    };
    await unknownAccountAsOAuthError(this.store.createOAuthClient(row));
    const client = toClient(row);
    return secret === undefined ? { client } : { client, secret };
  }

  async getClient(id: string): Promise<OAuthClient | undefined> {
    const row = await this.store.getOAuthClient(id);
    return row && toClient(row);
  }

  async listClients(ownerId?: string): Promise<OAuthClient[]> {
    return (await this.store.listOAuthClients(ownerId)).map(toClient);
  }

  /** Its codes and tokens go with it (store cascade), so every token it held stops working. */
  deleteClient(id: string, ownerId?: string): Promise<boolean> {
    return this.store.deleteOAuthClient(id, ownerId);
  }

  /**
   * RFC 6749 §2.3.1 / §3.2.1. A confidential client must present its secret; a public
   * client must not present one (it has none). The secret is compared by its SHA-256
   * in constant time (RFC 6749 §10.10 — the secret is random, so no slow hash is needed).
   */
  async authenticateClient(id: string, secret: string | undefined): Promise<OAuthClient> {
    const row = await this.store.getOAuthClient(id);
    if (row === undefined) throw new OAuthError('invalid_client', 'unknown client');
    const presented = secret === '' ? undefined : secret;
    if (row.secretHash === null) {
      if (presented !== undefined) throw new OAuthError('invalid_client', 'a public client has no secret');
    } else if (presented === undefined || !equalText(hashToken(presented), row.secretHash)) {
      throw new OAuthError('invalid_client', 'client authentication failed');
    }
    return toClient(row);
  }

  // Authorization codes ----------------------------------------------------------------

  async issueCode(input: {
    clientId: string;
    accountId: string;
    redirectUri: string;
    scopes: Scope[];
    codeChallenge?: string;
    codeChallengeMethod?: 'S256';
  }): Promise<string> {
    const client = await this.store.getOAuthClient(input.clientId);
    if (client === undefined) throw new OAuthError('invalid_client', 'unknown client');
    // RFC 9700 §2.1: redirect URIs are compared by exact string match.
    if (!client.redirectUris.includes(input.redirectUri)) {
      throw invalidRequest('the redirect URI is not registered for this client');
    }
    const scopes = checkScopes(input.scopes);
    if (scopes.length === 0) throw new OAuthError('invalid_scope', 'no scope requested');

    const { codeChallenge, codeChallengeMethod } = input;
    if (codeChallenge !== undefined) {
      // RFC 7636 §4.3: without a method the challenge is "plain", which is refused:
      // S256 only (RFC 9700 §2.1.1); §4.4.1 names the error.
      if ((codeChallengeMethod as string | undefined) !== 'S256') {
        throw invalidRequest('transform algorithm not supported: code_challenge_method must be S256');
      }
      if (!S256_CHALLENGE.test(codeChallenge)) throw invalidRequest('malformed code_challenge');
    } else if (codeChallengeMethod !== undefined) {
      throw invalidRequest('code_challenge_method without code_challenge');
    } else if (client.secretHash === null) {
      // RFC 7636 §4.4.1 / RFC 9700 §2.1.1: public clients must use PKCE.
      throw invalidRequest('code challenge required: public clients must use PKCE (S256)');
    }

    const now = this.#clock();
    await this.#purgeIfDue(now);
    const code = randomToken(32);
    await unknownAccountAsOAuthError(
      this.store.saveOAuthCode({
        codeHash: hashToken(code),
        clientId: client.id,
        accountId: input.accountId,
        redirectUri: input.redirectUri,
        scopes,
        codeChallenge: codeChallenge ?? null,
        challengeMethod: codeChallenge === undefined ? null : 'S256',
        createdAt: now,
        expiresAt: now + CODE_LIFETIME_MS,
      }),
    );
    return code;
  }

  async redeemCode(input: {
    code: string;
    clientId: string;
    redirectUri: string;
    codeVerifier?: string;
  }): Promise<TokenSet> {
    const now = this.#clock();
    if (!plausibleToken(input.code)) throw invalidGrant('invalid authorization code');
    const codeHash = hashToken(input.code);
    const code = await this.store.getOAuthCode(codeHash);
    if (code === undefined) throw invalidGrant('invalid authorization code');
    if (code.usedAt !== null) {
      // RFC 6749 §4.1.2: "If an authorization code is used more than once, the
      // authorization server MUST deny the request and SHOULD revoke (when possible)
      // all tokens previously issued based on that authorization code."
      await this.store.revokeOAuthTokensByCode(codeHash, now);
      throw invalidGrant('authorization code already used');
    }
    if (code.expiresAt <= now) throw invalidGrant('authorization code expired');
    // RFC 6749 §4.1.3: issued to this client, and the same redirect_uri as in the request.
    if (code.clientId !== input.clientId) throw invalidGrant('authorization code issued to another client');
    if (code.redirectUri !== input.redirectUri) throw invalidGrant('redirect_uri does not match');
    checkCodeVerifier(code.codeChallenge, input.codeVerifier === '' ? undefined : input.codeVerifier);

    const scopes = checkScopes(code.scopes);
    const tokens = this.#newTokens({
      clientId: code.clientId,
      accountId: code.accountId,
      accessScopes: scopes,
      refreshScopes: scopes.includes(OFFLINE_SCOPE) ? scopes : undefined,
      familyId: randomToken(16),
      codeHash,
      grantedAt: now,
      now,
    });
    if (!(await unknownAccountAsOAuthError(this.store.redeemOAuthCode(codeHash, now, tokens.rows)))) {
      // Someone redeemed it in between: a replay as above (their tokens are committed).
      await this.store.revokeOAuthTokensByCode(codeHash, now);
      throw invalidGrant('authorization code already used');
    }
    return tokens.set;
  }

  // Tokens -------------------------------------------------------------------------------

  async issueTokens(input: {
    clientId: string;
    accountId: string;
    scopes: Scope[];
    refresh: boolean;
    /** The grant the tokens join (revoked together); default: a new one. */
    familyId?: string;
    /** The access token's lifetime, when not the server's (`accessTokenSeconds`). */
    accessSeconds?: number;
  }): Promise<TokenSet> {
    const client = await this.store.getOAuthClient(input.clientId);
    if (client === undefined) throw new OAuthError('invalid_client', 'unknown client');
    const scopes = checkScopes(input.scopes);
    if (scopes.length === 0) throw new OAuthError('invalid_scope', 'no scope requested');
    const now = this.#clock();
    await this.#purgeIfDue(now);
    const tokens = this.#newTokens({
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
    await this.store.revokeOAuthFamily(grantId, this.#clock());
    await this.#grantsRevoked(accountId, [grantId]);
  }

  /**
   * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): the presented refresh token is
   * revoked and a new one issued in the same family; presenting a revoked one again
   * means it was copied, so the whole family is revoked.
   */
  async refresh(input: { refreshToken: string; clientId: string; scopes?: Scope[] }): Promise<TokenSet> {
    const now = this.#clock();
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

    const tokens = this.#newTokens({
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
    const now = this.#clock();
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
    const now = this.#clock();
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
    const tokens = await this.store.listOAuthTokens(accountId, this.#clock());
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
    await this.store.revokeOAuthGrants(accountId, clientId, this.#clock());
    await this.#grantsRevoked(accountId, grants);
  }

  // Internals ----------------------------------------------------------------------------

  #live(row: OAuthTokenRow): boolean {
    return row.revokedAt === null && row.expiresAt > this.#clock();
  }

  /** An access token, and a refresh token when `refreshScopes` is given, of one family. */
  #newTokens(grant: {
    clientId: string;
    accountId: string;
    accessScopes: Scope[];
    refreshScopes: Scope[] | undefined;
    familyId: string;
    codeHash: string | null;
    grantedAt: number;
    now: number;
    accessSeconds?: number;
  }): { rows: NewOAuthToken[]; set: TokenSet } {
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

  async #purgeIfDue(now: number): Promise<void> {
    if (this.#purge.due(now)) await this.store.purgeOAuth(now - CODE_RETENTION_MS, now);
  }
}

// Scopes -----------------------------------------------------------------------------------

function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Deduplicated, in the order of SCOPES. */
function ordered(scopes: Iterable<Scope>): Scope[] {
  const set = new Set(scopes);
  return SCOPES.filter((s) => set.has(s));
}

/**
 * RFC 6749 §3.3 separates scopes with spaces; Live Connect clients also sent commas
 * (COMPAT). Unknown → invalid_scope. Empty or missing → [] (the caller picks a default
 * or refuses).
 */
export function parseScopes(text: string | undefined): Scope[] {
  if (text === undefined) return [];
  const found: Scope[] = [];
  for (const word of text.split(/[\s,]+/)) {
    if (word === '') continue;
    if (!isScope(word))
      throw new OAuthError('invalid_scope', `unknown scope ${JSON.stringify(word.slice(0, 64))}`);
    found.push(word);
  }
  return ordered(found);
}

/** Scopes handed in as an array, checked at run time all the same. */
function checkScopes(scopes: readonly string[]): Scope[] {
  for (const s of scopes) {
    if (!isScope(s)) throw new OAuthError('invalid_scope', `unknown scope ${JSON.stringify(s.slice(0, 64))}`);
  }
  return ordered(scopes as Scope[]);
}

/** Stored scopes, minus any this version no longer knows. */
function knownScopes(scopes: readonly string[]): Scope[] {
  return ordered(scopes.filter(isScope));
}

// Clients ------------------------------------------------------------------------------------

function checkClientName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '') throw invalidRequest('the app name is empty');
  if ([...trimmed].length > MAX_CLIENT_NAME_LENGTH) {
    throw invalidRequest(`the app name is longer than ${MAX_CLIENT_NAME_LENGTH} characters`);
  }
  if (hasControlCharacters(trimmed)) throw invalidRequest('the app name contains control characters');
  return trimmed;
}

/** Schemes that would run or read something in the browser rather than reach an app. */
const FORBIDDEN_SCHEMES = new Set([
  'javascript:',
  'data:',
  'vbscript:',
  'file:',
  'blob:',
  'about:',
  'filesystem:',
]);
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A redirect URI a client may register: absolute without a fragment (RFC 6749 §3.1.2);
 * https, or http on the loopback interface (RFC 8252 §7.3, §8.3), or a private-use
 * scheme named after a domain in reverse order, like `com.example.app:/cb`
 * (RFC 8252 §7.1). Throws OAuthError('invalid_request') saying what is wrong.
 */
export function checkRedirectUri(uri: string): void {
  const shown = JSON.stringify(uri.length > 100 ? `${uri.slice(0, 100)}…` : uri);
  if (uri.length > MAX_REDIRECT_URI_LENGTH) {
    throw invalidRequest(`redirect URI ${shown} is longer than ${MAX_REDIRECT_URI_LENGTH} characters`);
  }
  if (/\s/.test(uri)) throw invalidRequest(`redirect URI ${shown} contains white space`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalidRequest(`redirect URI ${shown} is not an absolute URI`);
  }
  if (uri.includes('#')) throw invalidRequest(`redirect URI ${shown} must not have a fragment`);
  if (url.username !== '' || url.password !== '') {
    throw invalidRequest(`redirect URI ${shown} must not hold a user name or password`);
  }
  const scheme = url.protocol;
  if (scheme === 'https:') {
    if (url.hostname === '') throw invalidRequest(`redirect URI ${shown} has no host`);
    return;
  }
  if (scheme === 'http:') {
    if (LOOPBACK_HOSTS.has(url.hostname)) return;
    throw invalidRequest(`redirect URI ${shown} must use https (http only on localhost or 127.0.0.1)`);
  }
  if (FORBIDDEN_SCHEMES.has(scheme) || !scheme.slice(0, -1).includes('.')) {
    throw invalidRequest(
      `redirect URI ${shown} must use https, http on localhost, or an app scheme like com.example.app:/callback`,
    );
  }
}

function toClient(row: OAuthClientRow): OAuthClient {
  return {
    id: row.id,
    name: row.name,
    confidential: row.secretHash !== null,
    redirectUris: [...row.redirectUris],
    ownerId: row.ownerId,
    createdAt: row.createdAt,
  };
}

// Checks -------------------------------------------------------------------------------------

/**
 * RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge,
 * else invalid_grant. RFC 9700 §2.1.1: a verifier for a code issued without a
 * challenge is refused too (PKCE downgrade).
 */
function checkCodeVerifier(challenge: string | null, verifier: string | undefined): void {
  if (challenge === null) {
    if (verifier !== undefined) throw invalidGrant('code_verifier given, but no code_challenge was');
    return;
  }
  if (verifier === undefined) throw invalidGrant('code_verifier required');
  if (!CODE_VERIFIER.test(verifier)) throw invalidGrant('malformed code_verifier');
  const computed = createHash('sha256').update(verifier, 'ascii').digest('base64url');
  if (!equalText(computed, challenge)) throw invalidGrant('code_verifier does not match the code_challenge');
}

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Our tokens are 43 base64url characters; anything far off is not worth a lookup. */
function plausibleToken(token: string): boolean {
  return token.length > 0 && token.length <= MAX_TOKEN_LENGTH;
}

/**
 * The store's `no-such-account` (an account or client deleted meanwhile, or never
 * there) as the OAuth error callers handle.
 */
async function unknownAccountAsOAuthError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isPapillonError(err, 'no-such-account')) throw invalidRequest('no such account or client');
    throw err;
  }
}

function invalidRequest(description: string): OAuthError {
  return new OAuthError('invalid_request', description);
}

function invalidGrant(description: string): OAuthError {
  return new OAuthError('invalid_grant', description);
}
