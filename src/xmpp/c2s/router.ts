import type { DomainEvent } from '../../core/events.ts';
import { presenceShown, pushBlocklist } from '../modules/blocking.ts';
import { wantsNotify } from '../modules/caps.ts';
import { deliverCarbon } from '../modules/carbons.ts';
import { handleIq } from '../modules/iq.ts';
import { handleMessage } from '../modules/message.ts';
import { deliverOffline, offlineSessionEnded } from '../modules/offline.ts';
import { onContactPresence } from '../modules/pep-notify.ts';
import { handlePresence, sendContactPresence } from '../modules/presence.ts';
import { pushRoster, subscriptionPresence } from '../modules/roster.ts';
import { type XmlElement, xml } from '../stream/element.ts';
import { type RoutedStanza, routeStanza } from './context.ts';
import { confirmDelivery } from './delivery-confirmations.ts';
import type { XmppSession } from './session.ts';

/** A stanza from the client (after binding). */
export async function handleStanza(s: XmppSession, el: XmlElement): Promise<void> {
  if (el.name === 'message') return handleMessage(s, el);
  if (el.name === 'presence') return handlePresence(s, el);
  return handleIq(s, el);
}

/** A stanza another session routed to this account. */
export function deliverRouted(s: XmppSession, routed: RoutedStanza): void {
  if (routed.carbon) {
    deliverCarbon(s, routed);
    return;
  }
  if (routed.except === s.resource) return;
  if (routed.targets === null ? !s.available : !routed.targets.includes(s.resource)) return;
  if (routed.notify !== undefined && !wantsNotify(s, routed.notify)) return;
  s.send(routed.xml);
  if (routed.confirm) confirmDelivery(s.ctx.core, routed.confirm);
}

/** Domain events (presence, lists, subscriptions) in XMPP words. */
export async function renderDomainEvent(s: XmppSession, event: DomainEvent): Promise<void> {
  const account = s.account;
  if (!account) return;
  switch (event.type) {
    case 'presence':
      // RFC 6121 §4.4.2: presence broadcasts go to available resources.
      // XEP-0191 §3.3: not from a contact the user blocks.
      if (!s.available || !presenceShown(s, event.contactId)) return;
      sendContactPresence(s, event.contactHandle, event.presence);
      // XEP-0163: a new picture or display name is an avatar or nick notification too.
      return onContactPresence(s, event.contactId, event.presence);
    case 'lists-changed':
      await pushRoster(s, event.contactId);
      return pushBlocklist(s, event.contactId);
    case 'contact-added-me': {
      // RFC 6121 §3.1.3: an inbound request the user must answer (auto-approved ones just appear in the roster).
      if (!s.available) return;
      const view = await s.ctx.core.relationships.contact(account.id, event.contactId);
      if (view.derived.pendingIn)
        s.send(subscriptionPresence(s, 'subscribe', event.contactHandle, event.displayName));
      return;
    }
    case 'contact-removed-me':
      // RFC 6121 §3.3.3: the contact unsubscribed.
      if (s.available) s.send(subscriptionPresence(s, 'unsubscribe', event.contactHandle));
      return;
    case 'sign-out':
      if (event.endpointId !== null && event.endpointId !== s.endpointId) return;
      // As Prosody's mod_c2s: a deleted account is `not-authorized`, a changed password `reset`.
      if (event.reason === 'account-deleted') s.streamError('not-authorized', 'the account was deleted');
      else if (event.reason === 'password-changed') s.streamError('reset', 'the password was changed');
      else if (event.reason === 'kicked')
        s.streamError('policy-violation', 'signed out by the server operator');
      else if (event.reason === 'server-shutdown') s.streamError('system-shutdown');
      else s.streamError('conflict', 'signed in elsewhere');
      return;
    case 'grant-revoked':
      // RFC 7009 §2: a revoked token is void at once; the session it opened ends with it
      // (web sign-out ends the chat page). `not-authorized`, as for a deleted account.
      if (s.grantId === event.grantId) s.streamError('not-authorized', 'the access was revoked');
      return;
    case 'server-notice': {
      // An operator's notice: a headline from the server itself (RFC 6121 §5.2.2).
      const minutes = event.shutdownInMinutes;
      const countdown =
        minutes === undefined
          ? ''
          : `The server stops for maintenance in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
      const body = [countdown, event.text].filter((t) => t !== '').join(' ');
      s.send(
        xml(
          'message',
          { type: 'headline', from: s.ctx.domain, to: s.jid },
          xml('subject', {}, minutes === undefined ? 'Server notice' : 'Server maintenance'),
          xml('body', {}, body),
        ),
      );
      return;
    }
    case 'conversation-invite':
      // An MSN user called this account into a switchboard: the account joins it.
      // Not awaited: joining a conversation on another node must not hold this session's events.
      void s.ctx.bridge.accept(account, event.conversationId, event.hostNodeId);
      return;
    case 'offline-stored':
      // Stored while this resource was available (e.g. an MSN user who saw the account
      // offline sent an OIM): delivered now, not at the next sign-in, to a resource that
      // takes bare-JID messages (RFC 6121 §8.5.2.1.1: not a negative priority). A lease
      // holds each message for one delivery, so of several resources only one gets it
      // (another delivery's released messages come back this way too).
      if (s.available && s.priority >= 0) await deliverOffline(s);
      return;
  }
}

/** RFC 6121 §4.6.3: a session that ends without unavailable presence still tells those who got directed presence. */
export async function onSessionEnd(s: XmppSession): Promise<void> {
  // Offline messages it was delivering leave the store, or go back to it (issue 13).
  await offlineSessionEnded(s);
  // Directed presence (§4.6.3) is owed its unavailable even if no broadcast presence was sent.
  for (const target of s.directedPresence) {
    const account = await s.ctx.core.accounts.find(target);
    if (account) {
      await routeStanza(
        s.ctx.core,
        account.id,
        xml('presence', { type: 'unavailable', from: s.jid, to: target }),
      );
    }
  }
  s.directedPresence.clear();
  if (!s.available) return;
  s.available = false;
  // The user's other resources learn that this one left.
  if (!s.account) return;
  await routeStanza(
    s.ctx.core,
    s.account.id,
    xml('presence', { type: 'unavailable', from: s.jid }),
    null,
    s.resource,
  );
}
