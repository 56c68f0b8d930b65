import type { Store } from '../store/types.ts';
import type { Presence } from './presence.ts';
import type { Relationships } from './relationships.ts';

/**
 * The account property holding when the account last went offline as its contacts
 * see it (milliseconds since the epoch): written by `Presence` when the visible
 * aggregate goes offline, whichever protocol the last endpoint spoke. Going
 * invisible counts as going offline, so the record never tells more than presence did.
 */
export const LAST_SEEN_PROPERTY = 'presence.last-seen';

/** What a viewer may know of an account's last activity (XMPP XEP-0012). */
export type LastActivityView =
  | { kind: 'forbidden' }
  /** Online as the viewer sees it now. */
  | { kind: 'online' }
  | { kind: 'offline'; since: number | undefined };

export class LastActivity {
  constructor(
    private readonly store: Store,
    private readonly presence: Presence,
    private readonly relationships: Relationships,
  ) {}

  /**
   * Only those who may see the account's presence learn its last activity: itself,
   * and contacts subscribed to it (its forward-list watchers allowed to see it).
   */
  async seenBy(viewerId: string, targetId: string): Promise<LastActivityView> {
    if (viewerId !== targetId) {
      const view = await this.relationships.contact(viewerId, targetId);
      const subscription = view.derived.subscription;
      if (subscription !== 'to' && subscription !== 'both') return { kind: 'forbidden' };
    }
    const presence = await this.presence.seenBy(viewerId, targetId);
    // Its own account is online when any endpoint is, invisible ones included.
    if (presence.status !== 'offline') return { kind: 'online' };
    const stored = (await this.store.getProperties(targetId, [LAST_SEEN_PROPERTY]))[LAST_SEEN_PROPERTY];
    const since = stored === undefined ? undefined : Number(stored);
    return { kind: 'offline', since: since !== undefined && Number.isFinite(since) ? since : undefined };
  }
}
