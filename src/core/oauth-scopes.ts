import { OAuthError, SCOPES, type Scope } from './oauth-api.ts';

/** The scope that lets a grant have refresh tokens (Live Connect's `wl.offline_access`). */
export const OFFLINE_SCOPE: Scope = 'wl.offline_access';

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
export function checkScopes(scopes: readonly string[]): Scope[] {
  for (const s of scopes) {
    if (!isScope(s)) throw new OAuthError('invalid_scope', `unknown scope ${JSON.stringify(s.slice(0, 64))}`);
  }
  return ordered(scopes as Scope[]);
}

/** Stored scopes, minus any this version no longer knows. */
export function knownScopes(scopes: readonly string[]): Scope[] {
  return ordered(scopes.filter(isScope));
}
