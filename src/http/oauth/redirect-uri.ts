import type { OAuthClient } from '../../core/oauth-api.ts';

/** RFC 6749 §3.1.2.3: the redirect URI may be left out when exactly one is registered. */
export function soleRedirectUri(client: OAuthClient): string | undefined {
  return client.redirectUris.length === 1 ? client.redirectUris[0] : undefined;
}

/**
 * `uri` with the parameters added to its query (RFC 6749 §4.1.2: the query the URI
 * already has is kept), or to its fragment (§4.2.2, the implicit grant's tokens).
 */
export function withParameters(
  uri: string,
  params: Record<string, string | undefined>,
  where: 'query' | 'fragment',
): string {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  const encoded = new URLSearchParams(entries).toString();
  if (where === 'fragment') return `${uri}#${encoded}`;
  // Appended as text, so the registered query stays exactly as it was.
  const separator = !uri.includes('?') ? '?' : uri.endsWith('?') || uri.endsWith('&') ? '' : '&';
  return `${uri}${separator}${encoded}`;
}
