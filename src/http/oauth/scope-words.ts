import type { Scope } from '../../core/oauth-api.ts';

/**
 * Each scope in plain words, for the consent page and the "apps with access" list.
 * The meanings follow Live Connect's `wl.*` scopes, narrowed to what Papillon has.
 */
export const SCOPE_WORDS: Readonly<Record<Scope, string>> = {
  'wl.messenger': 'Sign in to Messenger as you: chat with your contacts, see their status and change yours',
  'wl.signin': 'Sign you in to the app with your Papillon account',
  'wl.basic': 'See your display name and account ID',
  'wl.emails': 'See your account address',
  'wl.offline_access': 'Keep this access when you are not using the app, until you take it back',
  'wl.contacts': 'See your contact list',
};

export function scopeWords(scope: Scope): string {
  return SCOPE_WORDS[scope] ?? scope;
}
