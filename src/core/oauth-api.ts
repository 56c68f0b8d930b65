import type { AccountRow } from '../store/types.ts';

/**
 * The OAuth 2.0 authorization server's domain API (RFC 6749, 7009, 7636, 7662;
 * Live Connect's scopes). `core/oauth.ts` implements it; `http/oauth` and `http/web`
 * use it. Tokens and codes are opaque random strings, stored hashed.
 */

/** Live Connect scopes Papillon grants (https://learn.microsoft.com … "Scopes and permissions", wl.*). */
export const SCOPES = [
  'wl.messenger',
  'wl.signin',
  'wl.basic',
  'wl.emails',
  'wl.offline_access',
  'wl.contacts',
] as const;
export type Scope = (typeof SCOPES)[number];

export interface OAuthClient {
  /** `client_id`: 32 random hex digits (never begins with `-`, so it is safe on a command line). */
  id: string;
  name: string;
  /** Confidential clients have a secret; public ones (desktop, mobile, JS) must use PKCE S256. */
  confidential: boolean;
  /** Exact-match redirect URIs (RFC 9700 §2.1). */
  redirectUris: string[];
  /** The account that registered it on the web; null when the operator did (CLI). */
  ownerId: string | null;
  createdAt: number;
}

export interface TokenSet {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds. */
  expiresIn: number;
  refreshToken?: string;
  scopes: Scope[];
  accountId: string;
}

/** RFC 6749 §5.2 error codes (and §4.1.2.1 for the authorization endpoint). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'server_error';

export class OAuthError extends Error {
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
  }
}

/** An app a user has authorized, for the "apps with access" page. */
export interface AuthorizedApp {
  client: OAuthClient;
  scopes: Scope[];
  grantedAt: number;
  lastUsedAt: number | null;
}

/** RFC 7662 §2.2 introspection answer. */
export interface Introspection {
  active: boolean;
  scope?: string;
  clientId?: string;
  username?: string;
  sub?: string;
  exp?: number;
  iat?: number;
  tokenType?: 'access_token' | 'refresh_token';
}

export interface OAuthApi {
  /** Parses space- or comma-separated scopes (COMPAT: Live Connect clients sent both); unknown → invalid_scope. */
  parseScopes(text: string | undefined): Scope[];

  registerClient(input: {
    name: string;
    redirectUris: string[];
    confidential: boolean;
    ownerId: string | null;
  }): Promise<{ client: OAuthClient; secret?: string }>;
  getClient(id: string): Promise<OAuthClient | undefined>;
  /** All clients (ownerId undefined), or those one account registered. */
  listClients(ownerId?: string): Promise<OAuthClient[]>;
  /** When ownerId is given, only that owner's client is deleted. Revokes its tokens. */
  deleteClient(id: string, ownerId?: string): Promise<boolean>;
  /** Constant-time check of a confidential client's secret. */
  authenticateClient(id: string, secret: string | undefined): Promise<OAuthClient>;

  /** Authorization code (single use, 10 minutes), bound to client, redirect URI, scopes and PKCE challenge. */
  issueCode(input: {
    clientId: string;
    accountId: string;
    redirectUri: string;
    scopes: Scope[];
    codeChallenge?: string;
    codeChallengeMethod?: 'S256';
  }): Promise<string>;
  /** RFC 6749 §4.1.3 + RFC 7636 §4.6. A replayed code revokes what it issued (RFC 6749 §4.1.2). */
  redeemCode(input: {
    code: string;
    clientId: string;
    redirectUri: string;
    codeVerifier?: string;
  }): Promise<TokenSet>;
  /** Implicit grant (§4.2) and internal use: an access token (and a refresh token when wl.offline_access and allowed). */
  issueTokens(input: {
    clientId: string;
    accountId: string;
    scopes: Scope[];
    refresh: boolean;
  }): Promise<TokenSet>;
  /** RFC 6749 §6 with rotation: the old refresh token dies; reusing it revokes the whole family (RFC 9700 §4.14.2). */
  refresh(input: { refreshToken: string; clientId: string; scopes?: Scope[] }): Promise<TokenSet>;
  /** RFC 7009: revokes an access or refresh token (and, for a refresh token, its access tokens). Unknown → no error. */
  revoke(token: string, clientId?: string): Promise<void>;
  introspect(token: string): Promise<Introspection>;
  /** A valid access token's account and scopes (bearer use: XMPP SASL, /v5.0/me). */
  validateAccessToken(
    token: string,
  ): Promise<{ account: AccountRow; scopes: Scope[]; clientId: string; expiresAt: number } | undefined>;

  /** Apps with access to an account, and taking that access away. */
  authorizedApps(accountId: string): Promise<AuthorizedApp[]>;
  revokeApp(accountId: string, clientId: string): Promise<void>;
}

/** Web sign-in sessions (HttpOnly cookie holds the token; stored hashed). */
export interface WebSessionApi {
  create(accountId: string): Promise<{ token: string; csrf: string; expiresAt: number }>;
  get(
    token: string | undefined,
  ): Promise<{ account: AccountRow; csrf: string; expiresAt: number } | undefined>;
  destroy(token: string | undefined): Promise<void>;
  endOthers(accountId: string, keepToken?: string): Promise<number>;
}
