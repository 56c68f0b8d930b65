import type { Bus, BusSubscription, JsonValue } from '../bus/types.ts';
import type { CircleMessage } from './circles.ts';
import type { AccountPresence } from './presence-model.ts';

/**
 * Domain events, addressed to one account and delivered through the bus to every
 * node that holds one of its endpoints. Each protocol renders them in its own
 * words (e.g. `contact-added-me` is MSNP's `ADD RL` / `ADC RL` and XMPP's inbound
 * `subscribe`).
 */
export type DomainEvent =
  /** A contact's presence as this account may see it (already filtered for privacy). */
  | { type: 'presence'; contactId: string; contactHandle: string; presence: AccountPresence }
  /** This account's own lists changed (another endpoint of it, or the CLI, changed them). */
  | { type: 'lists-changed'; listVersion: number; contactId: string | null }
  /** Someone put this account on their forward list (MSN reverse list). */
  | { type: 'contact-added-me'; contactId: string; contactHandle: string; displayName: string }
  /** Someone removed this account from their forward list. */
  | { type: 'contact-removed-me'; contactId: string; contactHandle: string }
  /** A message was stored for this account while it had no endpoint able to take it. */
  | { type: 'offline-stored'; messageId: string }
  /** Someone invites this account into a conversation (MSNP `RNG`). */
  | {
      type: 'conversation-invite';
      conversationId: string;
      inviterHandle: string;
      inviterName: string;
      /** An endpoint of this account not to ring (the inviter's own, when it calls its other endpoints). */
      exceptEndpointId?: string;
      /** The node that hosts the conversation (absent: the node that hears the event). */
      hostNodeId?: string;
      /** The host's switchboard; `host` absent: the address the client reached its own node at. */
      switchboard?: { host?: string; port: number };
      /** Answer cookies the host issued for this account's MSN endpoints on other nodes, by endpoint id. */
      cookies?: Record<string, string>;
    }
  /** This account's circles changed: one created, an invitation, a member joined or left (core/circles.ts). */
  | { type: 'circles-changed'; circleId: string }
  /** A member's endpoint joined (`joined`) or left a circle's conversation this account belongs to. */
  | { type: 'circle-roster'; circleId: string; memberHandle: string; endpointId: string; joined: boolean }
  /** A message to a circle this account belongs to; the sender's own endpoint skips it. */
  | {
      type: 'circle-message';
      circleId: string;
      senderHandle: string;
      senderEndpointId: string;
      message: CircleMessage;
    }
  /** This account's own endpoints changed (one signed in or out, or changed its presence). */
  | { type: 'endpoints-changed' }
  /**
   * An opaque notification one endpoint addressed to this account (core/peer-notifications.ts):
   * for its endpoints other than the sender's, or only for the endpoint `targetEndpoint` names.
   */
  | {
      type: 'peer-notification';
      senderHandle: string;
      /** The sending endpoint's id, never notified itself. */
      senderEndpointId: string;
      /** The sending endpoint's own name for itself (an MSN machine GUID), if it has one. */
      senderEndpoint?: string;
      /** The recipient endpoint it is for (an MSN machine GUID); all of them when absent. */
      targetEndpoint?: string;
      kind: number;
      payload: string;
    }
  /** The account must sign out the given endpoint (or all of them): deleted, or signed in elsewhere. */
  | {
      type: 'sign-out';
      endpointId: string | null;
      reason:
        | 'account-deleted'
        | 'signed-in-elsewhere'
        | 'server-shutdown'
        /** The operator ended the sessions (`papillon kick`). */
        | 'kicked'
        /** The password was changed (`papillon account passwd`): sign in again with the new one. */
        | 'password-changed';
    }
  /**
   * An access grant (an OAuth token family) was revoked: the sessions that signed in with
   * one of its tokens end (signing out of the web pages ends the chat page's XMPP session).
   */
  | { type: 'grant-revoked'; grantId: string }
  /**
   * A notice from the operator to everyone online (`papillon broadcast`), or the
   * maintenance countdown when `shutdownInMinutes` is set (`papillon shutdown --in`).
   */
  | {
      type: 'server-notice';
      /** The operator's words; may be empty for a countdown. */
      text: string;
      shutdownInMinutes?: number;
    };

export function accountChannel(accountId: string): string {
  return `account:${accountId}`;
}

/** Typed publish/subscribe of domain events on top of the untyped bus. */
export class DomainEvents {
  constructor(private readonly bus: Bus) {}

  async publish(accountId: string, event: DomainEvent): Promise<void> {
    await this.bus.publish(accountChannel(accountId), event as unknown as JsonValue);
  }

  async subscribe(accountId: string, handler: (event: DomainEvent) => void): Promise<BusSubscription> {
    return this.bus.subscribe(accountChannel(accountId), (message) =>
      handler(message as unknown as DomainEvent),
    );
  }
}
