import { PapillonError } from '../util/errors.ts';
import { hasControlCharacters } from '../util/text.ts';
import type { Core } from './core.ts';

/**
 * The account's stored personal message (MSN's PSM, XMPP's `<status/>`), set from
 * outside a connection: the web account page and MSN's roaming profile (storage
 * service UpdateProfile).
 *
 * Presence belongs to endpoints, so the text is kept as a property and applied to
 * every endpoint signed in now; clients that sign in later announce their own.
 */
export const PERSONAL_MESSAGE_PROPERTY = 'profile.personal-message';

/** One line; 256 characters keeps it to one line on a contact list. */
export const MAX_PERSONAL_MESSAGE_CHARS = 256;

/** Stores the personal message and shows it through every endpoint signed in now. */
export async function setPersonalMessage(core: Core, accountId: string, text: string): Promise<void> {
  const message = text.trim();
  if ([...message].length > MAX_PERSONAL_MESSAGE_CHARS) {
    throw new PapillonError(
      'conflict',
      `a personal message is at most ${MAX_PERSONAL_MESSAGE_CHARS} characters`,
    );
  }
  if (hasControlCharacters(message))
    throw new PapillonError('conflict', 'a personal message is one line of text');
  await core.accounts.setProperty(accountId, PERSONAL_MESSAGE_PROPERTY, message === '' ? null : message);
  // LIMITATION (as on the web page): `presence.set` records the endpoint under this
  // node's id; with a cluster bus, core needs a call that changes the text in place.
  for (const endpoint of await core.presence.endpoints(accountId)) {
    if (endpoint.presence.status === 'offline') continue;
    await core.presence.set(accountId, endpoint.endpointId, { statusText: message });
  }
}

/** The stored personal message, '' when none. */
export async function personalMessageOf(core: Core, accountId: string): Promise<string> {
  const properties = await core.accounts.properties(accountId, [PERSONAL_MESSAGE_PROPERTY]);
  return properties[PERSONAL_MESSAGE_PROPERTY] ?? '';
}
