import type { DomainEvent } from '../../core/events.ts';
import { handleIq } from '../modules/iq.ts';
import { handleMessage } from '../modules/message.ts';
import { handlePresence, sendContactPresence } from '../modules/presence.ts';
import { pushRoster, subscriptionPresence } from '../modules/roster.ts';
import { type XmlElement, xml } from '../stream/element.ts';
import { type RoutedStanza, routeStanza } from './context.ts';
import type { XmppSession } from './session.ts';

/** A stanza from the client (after binding). */
export async function handleStanza(s: XmppSession, el: XmlElement): Promise<void> {
  if (el.name === 'message') return handleMessage(s, el);
  if (el.name === 'presence') return handlePresence(s, el);
  return handleIq(s, el);
}

/** A stanza another session routed to this account. */
export function deliverRouted(s: XmppSession, routed: RoutedStanza): void {
  if (routed.except === s.resource) return;
  if (routed.targets === null ? !s.available : !routed.targets.includes(s.resource)) return;
  s.send(routed.xml);
}

/** Domain events (presence, lists, subscriptions) in XMPP words. */
export async function renderDomainEvent(s: XmppSession, event: DomainEvent): Promise<void> {
  const account = s.account;
  if (!account) return;
  switch (event.type) {
    case 'presence':
      // RFC 6121 §4.4.2: presence broadcasts go to available resources.
      if (s.available) sendContactPresence(s, event.contactHandle, event.presence);
      return;
    case 'lists-changed':
      return pushRoster(s, event.contactId);
    case 'contact-added-me': {
      // RFC 6121 §3.1.3: an inbound request the user must answer (auto-approved ones just appear in the roster).
      if (!s.available) return;
      const view = await s.ctx.core.relationships.contact(account.id, event.contactId);
      if (view.derived.pendingIn) s.send(subscriptionPresence(s, 'subscribe', event.contactHandle));
      return;
    }
    case 'contact-removed-me':
      // RFC 6121 §3.3.3: the contact unsubscribed.
      if (s.available) s.send(subscriptionPresence(s, 'unsubscribe', event.contactHandle));
      return;
    case 'sign-out':
      if (event.endpointId !== null && event.endpointId !== s.endpointId) return;
      if (event.reason === 'account-deleted') s.streamError('not-authorized', 'the account was deleted');
      else if (event.reason === 'server-shutdown') s.streamError('system-shutdown');
      else s.streamError('conflict', 'signed in elsewhere');
      return;
    case 'conversation-invite':
      // An MSN user called this account into a switchboard: the account joins it.
      s.ctx.bridge.accept(account, event.conversationId);
      return;
    case 'offline-stored':
      return;
  }
}

/** RFC 6121 §4.6.3: a session that ends without unavailable presence still tells those who got directed presence. */
export async function onSessionEnd(s: XmppSession): Promise<void> {
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
