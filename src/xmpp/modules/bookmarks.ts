import { parseJid } from '../../util/jid.ts';
import { NS } from '../namespaces.ts';
import { StanzaError } from '../stanza-error.ts';
import type { NodeProfile } from './pep-profile.ts';

/**
 * XEP-0402 PEP native bookmarks: one item per room, the item id its bare JID, kept
 * (persist_items, max_items "max") and private to the owner (access model whitelist,
 * §3 publish-options). Not sent unasked: clients fetch them at sign-in.
 */
export const bookmarksNode: NodeProfile = {
  defaults: { accessModel: 'whitelist', maxItems: 'max', persistItems: true, sendLastPublishedItem: 'never' },
  async publish(_core, _owner, itemId, payload) {
    if (payload.name !== 'conference' || payload.xmlns !== NS.bookmarks) {
      throw new StanzaError('modify', 'bad-request', 'a bookmark is a <conference/> in urn:xmpp:bookmarks:1');
    }
    // §3: the item id is the room's bare JID.
    const room = parseJid(itemId);
    if (!room?.local || room.resource) {
      throw new StanzaError('modify', 'bad-request', "a bookmark's item id is the room's bare JID");
    }
    return 'store';
  },
};
