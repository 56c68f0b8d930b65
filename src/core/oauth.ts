import type { Store } from '../store/types.ts';
import type { AuthorizedApp, Introspection, OAuthApi, OAuthClient, Scope, TokenSet } from './oauth-api.ts';
import { type NewClient, OAuthClients } from './oauth-clients.ts';
import { AuthorizationCodes, type CodeRedemption, type CodeRequest } from './oauth-codes.ts';
import { parseScopes } from './oauth-scopes.ts';
import {
  type AccessTokenInfo,
  type OAuthTokenOptions,
  OAuthTokens,
  type TokenRequest,
} from './oauth-tokens.ts';
import type { TokenGrant, TokenValidator } from './tokens.ts';

export interface OAuthServiceOptions extends OAuthTokenOptions {
  clock?: () => number;
}

/**
 * The OAuth 2.0 authorization server's rules (RFC 6749 with RFC 7636 PKCE, RFC 7009
 * revocation, RFC 7662 introspection and RFC 9700's current practice), over the store.
 * Codes, tokens and client secrets are 32 random bytes in base64url, and only their
 * SHA-256 is stored. Also the `TokenValidator` XMPP SASL checks bearer tokens with.
 *
 * One API over its parts: the registered clients (oauth-clients.ts), the
 * authorization-code flow (oauth-codes.ts), the tokens (oauth-tokens.ts) and the
 * scope checks (oauth-scopes.ts).
 */
export class OAuthService implements OAuthApi, TokenValidator {
  readonly #clients: OAuthClients;
  readonly #codes: AuthorizationCodes;
  readonly #tokens: OAuthTokens;

  constructor(store: Store, options: OAuthServiceOptions = {}) {
    const clock = options.clock ?? Date.now;
    this.#clients = new OAuthClients(store, clock);
    this.#tokens = new OAuthTokens(store, clock, options);
    this.#codes = new AuthorizationCodes(store, clock, this.#tokens);
  }

  /** Lifetime of access tokens, in seconds. */
  get accessTokenSeconds(): number {
    return this.#tokens.accessTokenSeconds;
  }

  parseScopes(text: string | undefined): Scope[] {
    return parseScopes(text);
  }

  // Clients --------------------------------------------------------------------------

  registerClient(input: NewClient): Promise<{ client: OAuthClient; secret?: string }> {
    return this.#clients.register(input);
  }

  getClient(id: string): Promise<OAuthClient | undefined> {
    return this.#clients.get(id);
  }

  listClients(ownerId?: string): Promise<OAuthClient[]> {
    return this.#clients.list(ownerId);
  }

  /** Its codes and tokens go with it (store cascade), so every token it held stops working. */
  deleteClient(id: string, ownerId?: string): Promise<boolean> {
    return this.#clients.delete(id, ownerId);
  }

  /** RFC 6749 §2.3.1 / §3.2.1: a confidential client's secret, checked in constant time. */
  authenticateClient(id: string, secret: string | undefined): Promise<OAuthClient> {
    return this.#clients.authenticate(id, secret);
  }

  // Authorization codes ----------------------------------------------------------------

  issueCode(input: CodeRequest): Promise<string> {
    return this.#codes.issue(input);
  }

  redeemCode(input: CodeRedemption): Promise<TokenSet> {
    return this.#codes.redeem(input);
  }

  // Tokens -------------------------------------------------------------------------------

  issueTokens(input: TokenRequest): Promise<TokenSet> {
    return this.#tokens.issueTokens(input);
  }

  /** Revokes every token of one grant and ends the sessions signed in with them, on every node. */
  revokeGrant(accountId: string, grantId: string): Promise<void> {
    return this.#tokens.revokeGrant(accountId, grantId);
  }

  /** RFC 6749 §6 with rotation (RFC 9700 §4.14.2). */
  refresh(input: { refreshToken: string; clientId: string; scopes?: Scope[] }): Promise<TokenSet> {
    return this.#tokens.refresh(input);
  }

  /** RFC 7009 §2.1. */
  revoke(token: string, clientId?: string): Promise<void> {
    return this.#tokens.revoke(token, clientId);
  }

  /** RFC 7662 §2.2. */
  introspect(token: string): Promise<Introspection> {
    return this.#tokens.introspect(token);
  }

  validateAccessToken(token: string): Promise<AccessTokenInfo | undefined> {
    return this.#tokens.validateAccessToken(token);
  }

  /** `TokenValidator` for XMPP SASL; the mechanism itself requires `wl.messenger`. */
  validate(token: string): Promise<TokenGrant | undefined> {
    return this.#tokens.validate(token);
  }

  // The account's view -----------------------------------------------------------------

  /** Clients holding a live token for the account, with the scopes those tokens carry. */
  authorizedApps(accountId: string): Promise<AuthorizedApp[]> {
    return this.#tokens.authorizedApps(accountId);
  }

  /** Revokes every token the client holds for the account, and its codes not yet redeemed. */
  revokeApp(accountId: string, clientId: string): Promise<void> {
    return this.#tokens.revokeApp(accountId, clientId);
  }
}
