import type { Core } from '../../core/core.ts';
import { PapillonError } from '../../util/errors.ts';
import { hasControlCharacters } from '../../util/text.ts';

/**
 * What the account page keeps in the account's profile properties.
 *
 * The personal message is presence (`statusText`: MSN's PSM, XMPP's `<status/>`),
 * and presence belongs to endpoints (connections); the web page is not one. So it
 * is stored as a property, and applied to every endpoint signed in now; clients
 * that sign in later announce their own (MSN's UUX, XMPP's initial presence).
 * The picture is core's (`core.pictures`).
 */
export const PERSONAL_MESSAGE = 'profile.personal-message';

/** The personal message box takes one line; 256 characters keeps it to one line on a contact list. */
export const MAX_PERSONAL_MESSAGE = 256;

/** Stores the personal message and shows it to contacts through every endpoint signed in now. */
export async function setPersonalMessage(core: Core, accountId: string, text: string): Promise<void> {
  const message = text.trim();
  if ([...message].length > MAX_PERSONAL_MESSAGE) {
    throw new PapillonError('conflict', `a personal message is at most ${MAX_PERSONAL_MESSAGE} characters`);
  }
  if (hasControlCharacters(message)) {
    throw new PapillonError('conflict', 'a personal message is one line of text');
  }
  await core.accounts.setProperty(accountId, PERSONAL_MESSAGE, message === '' ? null : message);
  // Endpoint by endpoint: watchers get the new aggregate once it changes. A signed-out
  // (offline) endpoint shows nothing, so it is left alone. LIMITATION: `presence.set`
  // records the endpoint under this node's id, which is right while there is one node;
  // with a cluster bus, core needs a call that changes the text in place.
  for (const endpoint of await core.presence.endpoints(accountId)) {
    if (endpoint.presence.status === 'offline') continue;
    await core.presence.set(accountId, endpoint.endpointId, { statusText: message });
  }
}
