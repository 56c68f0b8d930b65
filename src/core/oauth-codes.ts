import { createHash } from 'node:crypto';
import type { Store } from '../store/types.ts';
import { randomToken } from '../util/ids.ts';
import { type OAuthApi, OAuthError, type TokenSet } from './oauth-api.ts';
import {
  equalText,
  invalidGrant,
  invalidRequest,
  plausibleToken,
  unknownAccountAsOAuthError,
} from './oauth-checks.ts';
import { checkScopes, OFFLINE_SCOPE } from './oauth-scopes.ts';
import type { OAuthTokens } from './oauth-tokens.ts';
import { hashToken } from './tickets.ts';

/** RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED." */
export const CODE_LIFETIME_MS = 10 * 60 * 1000;

/** RFC 7636 §4.1: `code-verifier = 43*128unreserved`. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** RFC 7636 §4.2: S256's challenge is BASE64URL(SHA256(verifier)), 32 bytes → 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** What issuing a code takes. */
export type CodeRequest = Parameters<OAuthApi['issueCode']>[0];

/** What redeeming a code takes. */
export type CodeRedemption = Parameters<OAuthApi['redeemCode']>[0];

/**
 * The authorization-code grant (RFC 6749 §4.1) with PKCE (RFC 7636, S256 only): codes
 * bound to a client, redirect URI, scopes and challenge, single use, redeemed for the
 * grant's first tokens. Codes are 32 random bytes in base64url; only their SHA-256 is stored.
 */
export class AuthorizationCodes {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
    private readonly tokens: OAuthTokens,
  ) {}

  async issue(input: CodeRequest): Promise<string> {
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

    const now = this.clock();
    await this.tokens.purgeIfDue(now);
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

  async redeem(input: CodeRedemption): Promise<TokenSet> {
    const now = this.clock();
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
    const tokens = this.tokens.mint({
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
}

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
