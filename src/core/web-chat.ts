import { AtMostEvery } from '../util/at-most-every.ts';
import { randomToken } from '../util/ids.ts';
import type { Core } from './core.ts';
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
/** Expired tokens of every client are deleted at most this often (on issue), as OAuthService does. */
const purge = new AtMostEvery(60 * 1000);
/** Spent OAuth codes are kept a day after they expire (core/oauth.ts, CODE_RETENTION_MS). */
const CODE_RETENTION_MS = 24 * 60 * 60 * 1000;

/** The token family of a web session's chat tokens: derived from the session's stored hash, never its token. */
export function webChatGrantId(webSessionToken: string): string {
  return `web-chat:${hashToken(webSessionToken)}`;
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
  const lifetimeMs = WEB_CHAT_TOKEN_SECONDS * 1000;
  const issued = await core.rates.increment(`${webChatGrantId(webSessionToken)}:issued`, 1, lifetimeMs);
  if (issued.count > WEB_CHAT_TOKENS_PER_LIFETIME) return undefined;
  if (purge.due(now)) await core.store.purgeOAuth(now - CODE_RETENTION_MS, now);
  await ensureClient(core, now);
  const token = randomToken(32);
  const expiresAt = now + lifetimeMs;
  await core.store.saveOAuthTokens([
    {
      tokenHash: hashToken(token),
      kind: 'access',
      clientId: WEB_CHAT_CLIENT_ID,
      accountId,
      scopes: [XMPP_SCOPE],
      familyId: webChatGrantId(webSessionToken),
      codeHash: null,
      grantedAt: now,
      createdAt: now,
      expiresAt,
    },
  ]);
  return { token, expiresAt };
}

/**
 * The web session ended (sign-out): its chat tokens stop working, and its XMPP sessions on
 * every node end (the `grant-revoked` event; see xmpp/c2s/router.ts).
 */
export async function endWebChat(
  core: Core,
  webSessionToken: string,
  accountId: string,
  now = Date.now(),
): Promise<void> {
  const grantId = webChatGrantId(webSessionToken);
  await core.store.revokeOAuthFamily(grantId, now);
  await core.events.publish(accountId, { type: 'grant-revoked', grantId });
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
