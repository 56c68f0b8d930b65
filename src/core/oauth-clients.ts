import type { OAuthClientRow, Store } from '../store/types.ts';
import { newClientId, randomToken } from '../util/ids.ts';
import { hasControlCharacters } from '../util/text.ts';
import { type OAuthApi, type OAuthClient, OAuthError } from './oauth-api.ts';
import { equalText, invalidRequest, unknownAccountAsOAuthError } from './oauth-checks.ts';
import { hashToken } from './tickets.ts';

export const MAX_CLIENT_NAME_LENGTH = 100;
const MAX_REDIRECT_URIS = 10;
const MAX_REDIRECT_URI_LENGTH = 2000;

/** What registering a client takes. */
export type NewClient = Parameters<OAuthApi['registerClient']>[0];

/**
 * The registered OAuth clients (apps): registration with its checks, and client
 * authentication by secret. A confidential client's secret is 32 random bytes in
 * base64url, and only its SHA-256 is stored.
 */
export class OAuthClients {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
  ) {}

  async register(input: NewClient): Promise<{ client: OAuthClient; secret?: string }> {
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
      createdAt: this.clock(),
    };
    await unknownAccountAsOAuthError(this.store.createOAuthClient(row));
    const client = toClient(row);
    return secret === undefined ? { client } : { client, secret };
  }

  async get(id: string): Promise<OAuthClient | undefined> {
    const row = await this.store.getOAuthClient(id);
    return row && toClient(row);
  }

  async list(ownerId?: string): Promise<OAuthClient[]> {
    return (await this.store.listOAuthClients(ownerId)).map(toClient);
  }

  /** Its codes and tokens go with it (store cascade), so every token it held stops working. */
  delete(id: string, ownerId?: string): Promise<boolean> {
    return this.store.deleteOAuthClient(id, ownerId);
  }

  /**
   * RFC 6749 §2.3.1 / §3.2.1. A confidential client must present its secret; a public
   * client must not present one (it has none). The secret is compared by its SHA-256
   * in constant time (RFC 6749 §10.10 — the secret is random, so no slow hash is needed).
   */
  async authenticate(id: string, secret: string | undefined): Promise<OAuthClient> {
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
}

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

export function toClient(row: OAuthClientRow): OAuthClient {
  return {
    id: row.id,
    name: row.name,
    confidential: row.secretHash !== null,
    redirectUris: [...row.redirectUris],
    ownerId: row.ownerId,
    createdAt: row.createdAt,
  };
}
