import type { SecureContext } from 'node:tls';
import type { Core } from '../../core/core.ts';
import type { Logger } from '../../server/logger.ts';
import type { ConversationBridge } from '../modules/conversation-bridge.ts';
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
  /** Local sessions by account id and resource. */
  sessions: Map<string, Map<string, XmppSession>>;
  /** XMPP accounts taking part in MSNP conversations. */
  bridge: ConversationBridge;
}

/** The bus channel XMPP uses to reach an account's XMPP sessions on any node. */
export function xmppChannel(accountId: string): string {
  return `xmpp:${accountId}`;
}
