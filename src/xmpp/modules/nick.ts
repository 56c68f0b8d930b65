import { isPapillonError } from '../../util/errors.ts';
import { NS } from '../namespaces.ts';
import { StanzaError } from '../stanza-error.ts';
import { xml } from '../stream/element.ts';
import type { NodeProfile } from './pep-profile.ts';

/**
 * XEP-0172 user nickname over PEP: the account's display name, the one MSN contacts
 * see and the vCard FN, changed from whichever side.
 */
export const nickNode: NodeProfile = {
  async publish(core, owner, _itemId, payload) {
    if (payload.name !== 'nick' || payload.xmlns !== NS.nick) {
      throw new StanzaError(
        'modify',
        'bad-request',
        'a nickname is a <nick/> in http://jabber.org/protocol/nick',
      );
    }
    const nick = payload.text().trim();
    // An empty <nick/> takes the nickname back (§4.3); the account keeps its display name.
    if (nick === '') return 'derived';
    try {
      await core.accounts.setDisplayName(owner.id, nick);
    } catch (err) {
      if (isPapillonError(err, 'bad-display-name'))
        throw new StanzaError('modify', 'not-acceptable', err.message);
      throw err;
    }
    return 'derived';
  },
  derived: {
    current: async (_core, owner) => ({
      itemId: 'current',
      payload: xml('nick', { xmlns: NS.nick }, owner.displayName),
    }),
    version: (facts) => facts.displayName,
  },
};
