import type { Store } from '../store/types.ts';
import { normalizeHandle } from '../util/handle.ts';
import type { DomainEvents } from './events.ts';
import type { Presence } from './presence.ts';
import type { Visibility } from './visibility.ts';

/** Where a peer notification comes from: the signed-in endpoint that sends it. */
export interface PeerSender {
  accountId: string;
  handle: string;
  endpointId: string;
  /** The endpoint's own name for itself (an MSN machine GUID), if any. */
  endpoint?: string;
}

export interface PeerNote {
  /** One endpoint of the recipient (an MSN machine GUID); every endpoint when absent. */
  targetEndpoint?: string;
  kind: number;
  payload: string;
}

/**
 * Why a notification was not passed on: no such account, or none of its endpoints is
 * there for the sender (signed out, invisible to it, or blocking it: the sender
 * cannot tell these apart, as with presence).
 */
export type PeerResult = 'sent' | 'unknown' | 'offline';

/**
 * Opaque notifications between endpoints (MSN's UUN → UBN: P2P and multipoint
 * bootstrap data, sharing invitations). The core routes them to the recipient's
 * endpoints as a `peer-notification` event and never reads the payload.
 */
export class PeerNotifications {
  constructor(
    private readonly store: Store,
    private readonly events: DomainEvents,
    private readonly presence: Presence,
    private readonly visibility: Visibility,
  ) {}

  async send(sender: PeerSender, targetHandle: string, note: PeerNote): Promise<PeerResult> {
    const target = await this.store.getAccountByHandle(normalizeHandle(targetHandle));
    if (!target) return 'unknown';
    // Only someone the sender may see, and who is visibly signed in, hears it; the
    // sender's own other endpoints always do (the sending one is skipped on delivery).
    if (target.id !== sender.accountId) {
      if (!(await this.visibility.canSee(sender.accountId, target.id))) return 'offline';
      const status = (await this.presence.current(target.id)).status;
      if (status === 'offline' || status === 'invisible') return 'offline';
    }
    await this.events.publish(target.id, {
      type: 'peer-notification',
      senderHandle: sender.handle,
      senderEndpointId: sender.endpointId,
      ...(sender.endpoint ? { senderEndpoint: sender.endpoint } : {}),
      ...(note.targetEndpoint ? { targetEndpoint: note.targetEndpoint } : {}),
      kind: note.kind,
      payload: note.payload,
    });
    return 'sent';
  }
}
