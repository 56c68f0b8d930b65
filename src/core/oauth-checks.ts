import { timingSafeEqual } from 'node:crypto';
import { isPapillonError } from '../util/errors.ts';
import { OAuthError } from './oauth-api.ts';

/* Checks and errors the OAuth service's parts (clients, codes, tokens) share. */

/** Nothing longer can be one of our tokens (43 characters); not worth hashing. */
const MAX_TOKEN_LENGTH = 512;

export function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Our tokens are 43 base64url characters; anything far off is not worth a lookup. */
export function plausibleToken(token: string): boolean {
  return token.length > 0 && token.length <= MAX_TOKEN_LENGTH;
}

/**
 * The store's `no-such-account` (an account or client deleted meanwhile, or never
 * there) as the OAuth error callers handle.
 */
export async function unknownAccountAsOAuthError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isPapillonError(err, 'no-such-account')) throw invalidRequest('no such account or client');
    throw err;
  }
}

export function invalidRequest(description: string): OAuthError {
  return new OAuthError('invalid_request', description);
}

export function invalidGrant(description: string): OAuthError {
  return new OAuthError('invalid_grant', description);
}
