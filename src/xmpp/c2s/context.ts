import type { SecureContext } from 'node:tls';
import type { AddressSlots } from '../../core/address-slots.ts';
import type { Core } from '../../core/core.ts';
import type { Logger } from '../../server/logger.ts';
import type { FlowLimits } from '../../util/flow-limits.ts';
import type { ConversationBridge } from '../modules/conversation-bridge.ts';
import type { XmlElement } from '../stream/element.ts';
import type { ConfirmRequest, DeliveryConfirmations } from './delivery-confirmations.ts';
import type { XmppSession } from './session.ts';

/** What every XMPP client session of this node shares. */
export interface XmppContext {
  core: Core;
  logger: Logger;
  domain: string;
  /** Server software version (XEP-0092). */
  version: string;
  /** TLS for STARTTLS; undefined when no certificate is configured. */
  secureContext: SecureContext | undefined;
  /** RFC 6120 §5.3.1: refuse to go on without TLS (default true). */
  requireTls: boolean;
  maxStanzaBytes: number;
  /** A connection silent this long is closed with `<connection-timeout/>`. */
  idleTimeoutMs: number;
  /** Issue 13: a stream not bound this long after it connected is closed, however busy. */
  loginTimeoutMs: number;
  /** Issue 13: connections per address not yet authenticated (TCP, TLS, WebSocket). */
  preauth: AddressSlots;
  /** XEP-0198 §5: how long a session whose connection dropped waits to be resumed (0: never). */
  resumeTimeoutMs: number;
  /** Issue 13: per-connection output/input bounds and the process memory budget. */
  flow: FlowLimits;
  /** Local sessions by account id and resource. */
  sessions: Map<string, Map<string, XmppSession>>;
  /** XMPP accounts taking part in MSNP conversations. */
  bridge: ConversationBridge;
  /** Messages routed to other nodes, until one confirms it wrote them. */
  confirmations: DeliveryConfirmations;
}

/** The bus channel XMPP uses to reach an account's XMPP sessions on any node. */
export function xmppChannel(accountId: string): string {
  return `xmpp:${accountId}`;
}

/** A stanza routed between XMPP sessions over the bus (channel `xmpp:<account>`). */
export interface RoutedStanza {
  /** Resources to deliver to; null: every available resource. */
  targets: string[] | null;
  /** A resource to leave out (the sender's own, for its presence). */
  except?: string;
  kind: 'message' | 'presence' | 'iq';
  /** The stanza, serialized, with from/to as the sender's server stamped them. */
  xml: string;
  /**
   * XEP-0280: `xml` is a message to copy, wrapped in `<sent/>` or `<received/>`, to the
   * sessions that enabled carbons, except these resources (modules/carbons.ts).
   */
  carbon?: { kind: 'sent' | 'received'; type: string; except: string[] };
  /** XEP-0163 §4.2: a PEP notification of this node, only for sessions whose caps ask for it (`<node>+notify`). */
  notify?: string;
  /** A message the sending node waits to hear was written (delivery-confirmations.ts). */
  confirm?: ConfirmRequest;
}

/** Sends a stanza to an account's XMPP sessions on every node (delivered by router.ts `deliverRouted`). */
export function routeStanza(
  core: Core,
  accountId: string,
  stanza: XmlElement,
  targets: string[] | null = null,
  except?: string,
  confirm?: ConfirmRequest,
): Promise<void> {
  return core.bus.publish(xmppChannel(accountId), {
    targets,
    ...(except === undefined ? {} : { except }),
    kind: stanza.name as RoutedStanza['kind'],
    xml: stanza.toString(),
    ...(confirm === undefined ? {} : { confirm: { ...confirm } }),
  });
}
