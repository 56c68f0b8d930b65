/** The OAuth scope a token needs to sign in to Messenger over XMPP (Windows Live's `wl.messenger`). */
export const XMPP_SCOPE = 'wl.messenger';

/** What a valid access token stands for. */
export interface TokenGrant {
  accountId: string;
  handle: string;
  scopes: string[];
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** The grant (OAuth token family) the token belongs to: revoking it ends the sessions it opened. */
  grantId?: string;
}

/** Checks OAuth access tokens (SASL X-MESSENGER-OAUTH2 and OAUTHBEARER, later HTTP APIs). */
export interface TokenValidator {
  /** The grant behind `token`, or undefined for an unknown, revoked or expired token. */
  validate(token: string): Promise<TokenGrant | undefined>;
}

/** Until the OAuth server lands: no token is valid. */
export class NoTokens implements TokenValidator {
  async validate(_token: string): Promise<TokenGrant | undefined> {
    return undefined;
  }
}
