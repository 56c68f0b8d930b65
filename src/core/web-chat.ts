import type { Core } from './core.ts';
import type { OAuthService } from './oauth.ts';
import { hashToken } from './tickets.ts';
import { XMPP_SCOPE } from './tokens.ts';

/**
 * The chat page's XMPP credentials (issue 12, `/chat`): a signed-in browser gets short-lived
 * OAuth access tokens for `wl.messenger` — never the password — which the page's XMPP client
 * presents with SASL OAUTHBEARER (RFC 7628). Every token issued for one web session is in one
 * token family (`familyId`) named after that session, so signing out of the web pages
 * revokes them all at once and ends the XMPP sessions that signed in with them.
 */

/** The built-in OAuth client the tokens are issued to: public, with no redirect URI, so no authorization request can name it. */
export const WEB_CHAT_CLIENT_ID = 'papillon-web-chat';
const WEB_CHAT_CLIENT_NAME = 'Papillon chat page';
/**
 * Long enough to open the WebSocket and authenticate; the page asks for a new one at each
 * (re)connection, and a live session outlives its token (it ends on web sign-out instead).
 */
export const WEB_CHAT_TOKEN_SECONDS = 10 * 60;
/** Tokens one web session may have per token lifetime: a page reconnecting now and then needs a few. */
export const WEB_CHAT_TOKENS_PER_LIFETIME = 30;

/** The token family of a web session's chat tokens: derived from the session's stored hash, never its token. */
export function webChatGrantId(webSessionToken: string): string {
  return webChatGrantIdOf(hashToken(webSessionToken));
}

function webChatGrantIdOf(webSessionHash: string): string {
  return `web-chat:${webSessionHash}`;
}

/**
 * A fresh access token for the account's XMPP sign-in, in the web session's family, or
 * undefined when the session asked for too many (`WEB_CHAT_TOKENS_PER_LIFETIME`).
 */
export async function issueWebChatToken(
  core: Core,
  webSessionToken: string,
  accountId: string,
  now = Date.now(),
): Promise<{ token: string; expiresAt: number } | undefined> {
  const familyId = webChatGrantId(webSessionToken);
  const issued = await core.rates.increment(`${familyId}:issued`, 1, WEB_CHAT_TOKEN_SECONDS * 1000);
  if (issued.count > WEB_CHAT_TOKENS_PER_LIFETIME) return undefined;
  await ensureClient(core, now);
  const tokens = await core.oauth.issueTokens({
    clientId: WEB_CHAT_CLIENT_ID,
    accountId,
    scopes: [XMPP_SCOPE],
    refresh: false,
    familyId,
    accessSeconds: WEB_CHAT_TOKEN_SECONDS,
  });
  return { token: tokens.accessToken, expiresAt: now + tokens.expiresIn * 1000 };
}

/**
 * Web sessions ended (sign-out, or every other browser after a password change): their chat
 * tokens stop working, and the XMPP sessions signed in with them end on every node (the
 * `grant-revoked` event; see xmpp/c2s/router.ts). Called by core/web-sessions.ts.
 */
export async function endWebChats(
  oauth: OAuthService,
  accountId: string,
  webSessionHashes: string[],
): Promise<void> {
  for (const hash of webSessionHashes) await oauth.revokeGrant(accountId, webChatGrantIdOf(hash));
}

/** Creates the built-in client on first use (two nodes may race: the loser finds the winner's row). */
async function ensureClient(core: Core, now: number): Promise<void> {
  if (await core.store.getOAuthClient(WEB_CHAT_CLIENT_ID)) return;
  try {
    await core.store.createOAuthClient({
      id: WEB_CHAT_CLIENT_ID,
      name: WEB_CHAT_CLIENT_NAME,
      secretHash: null,
      redirectUris: [],
      ownerId: null,
      createdAt: now,
    });
  } catch (err) {
    if (!(await core.store.getOAuthClient(WEB_CHAT_CLIENT_ID))) throw err;
  }
}
