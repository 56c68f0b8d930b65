import { randomBytes } from 'node:crypto';
import { type AddressSlot, AddressSlots } from '../../core/address-slots.ts';
import type { MsnpContext } from '../ns/context.ts';
import { NsSession } from '../ns/session.ts';
import { SbSession } from '../sb/session.ts';
import { GatewayTransport } from './gateway-transport.ts';
import { SbRelay, type SwitchboardAddress } from './sb-relay.ts';

/** The `Server=` of `Action=open`: a notification server or a switchboard session. */
export type GatewayServerKind = 'NS' | 'SB';

/** Why a gateway session ended (for the log). */
export type GatewayCloseReason = 'closed' | 'idle' | 'overflow' | 'shutdown';

interface EntryCommon {
  /** The secret the client names in `SessionID=`. */
  readonly id: string;
  /** A short name for the logs, which must not carry the SessionID (it is a bearer secret). */
  readonly logId: string;
  readonly transport: GatewayTransport;
  /** The last time a request for this session arrived or was answered. */
  lastSeen: number;
  /** A request is being handled; a second one meanwhile is refused (§13). */
  busy: boolean;
  /** Its place among its address's sessions not signed in (released when it is forgotten). */
  readonly preauth: AddressSlot;
}

export type GatewayEntry =
  | (EntryCommon & { readonly kind: 'NS'; readonly session: NsSession })
  /** A switchboard on this node, or another node's reached through this one (sb-relay.ts). */
  | (EntryCommon & { readonly kind: 'SB'; readonly session: SbSession | SbRelay });

export interface GatewaySessionsOptions {
  /** A session with no request for this long is closed. §13: 60 s, as [ESC] does. */
  idleTimeoutMs?: number;
  /** Opens beyond this many live sessions are refused. */
  maxSessions?: number;
  /**
   * Sessions one address (an IPv6 /64) may hold open before they sign in; opens beyond
   * it are refused for that address only.
   */
  maxUnauthenticatedPerAddress?: number;
  /** Output held for one session before it is dropped. */
  maxBufferedBytes?: number;
}

export interface GatewayAddresses {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_SESSIONS = 5_000;
/**
 * Issue 13: 5,000 opens from one address filled the table for everyone. A client signs in
 * within a few requests, so even a NAT of many users rarely has more than a few in that
 * state at once; the login deadline closes the rest.
 */
export const DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS = 32;

/** Why `open` made no session: the table is full, or this address holds too many that have not signed in. */
export type GatewayOpenRefusal = 'full' | 'address-limit';

/**
 * A new SessionID: two decimal numbers joined by a dot, the shape the real service
 * used (`954547325.13160`, §13), but 2 × 48 random bits, so one cannot be guessed.
 * COMPAT: Miranda copies the SessionID into a 40-byte buffer (msn_threads.cpp,
 * processSessionData); this is at most 31 characters.
 */
export function newSessionId(): string {
  const bytes = randomBytes(12);
  return `${bytes.readUIntBE(0, 6)}.${bytes.readUIntBE(6, 6)}`;
}

/**
 * The open HTTP-gateway sessions of this node, by SessionID, with idle expiry and a
 * bound on their number. Each holds a real `NsSession`/`SbSession` on a
 * `GatewayTransport`; closing one here is what a dropped TCP connection does
 * (presence cleaned up, BYE to the switchboard's other members).
 */
export class GatewaySessions {
  readonly idleTimeoutMs: number;
  readonly maxSessions: number;
  readonly maxUnauthenticatedPerAddress: number;
  private readonly maxBufferedBytes: number | undefined;
  private readonly entries = new Map<string, GatewayEntry>();
  /** Sessions not signed in, per address: the same bound as the TCP listeners' (core/address-slots.ts). */
  private readonly preauth: AddressSlots;
  private sweeper: NodeJS.Timeout | undefined;
  private opened = 0;

  constructor(
    private readonly ctx: MsnpContext,
    options: GatewaySessionsOptions = {},
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.maxUnauthenticatedPerAddress =
      options.maxUnauthenticatedPerAddress ?? DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS;
    this.maxBufferedBytes = options.maxBufferedBytes;
    this.preauth = new AddressSlots(this.maxUnauthenticatedPerAddress, this.log, 'gateway');
  }

  private get log() {
    return this.ctx.logger.child({ component: 'msnp-gateway' });
  }

  get size(): number {
    return this.entries.size;
  }

  get(id: string): GatewayEntry | undefined {
    return this.entries.get(id);
  }

  /**
   * A new session of that kind, or why none was made; a switchboard session for `relayTo`
   * is carried to that switchboard of another node.
   */
  open(
    kind: GatewayServerKind,
    addresses: GatewayAddresses,
    relayTo?: SwitchboardAddress,
  ): GatewayEntry | GatewayOpenRefusal {
    const client = addresses.remoteAddress;
    // Closed sessions that never signed in still count until forgotten: they hold a place in the table.
    let entry: GatewayEntry | undefined;
    const preauth = this.preauth.take(client, () => entry === undefined || !signedIn(entry));
    if (preauth === undefined) return 'address-limit';
    if (this.entries.size >= this.maxSessions) {
      preauth.release();
      this.log.warn({ client, limit: this.maxSessions }, `gateway session limit reached; refusing ${client}`);
      return 'full';
    }
    let id = newSessionId();
    while (this.entries.has(id)) id = newSessionId();
    this.opened += 1;
    const logId = `gw-${this.opened}`;
    const transport = new GatewayTransport({
      ...addresses,
      ...(this.maxBufferedBytes !== undefined ? { maxBufferedBytes: this.maxBufferedBytes } : {}),
      onOverflow: () => this.close(id, 'overflow'),
      limits: this.ctx.flow,
    });
    const common = { id, logId, transport, lastSeen: Date.now(), busy: false, preauth };
    entry =
      kind === 'NS'
        ? { ...common, kind, session: new NsSession(this.ctx, transport) }
        : {
            ...common,
            kind,
            session: relayTo
              ? new SbRelay(transport, relayTo, this.log.child({ gateway: logId }))
              : new SbSession(this.ctx, transport),
          };
    this.entries.set(id, entry);
    const via = relayTo ? ` for ${relayTo.host}:${relayTo.port}` : '';
    this.log.info(
      { gateway: logId, server: kind, client, ...(relayTo ? { relayTo } : {}) },
      `gateway ${kind} session ${logId} opened by ${client}${via}`,
    );
    this.startSweeper();
    return entry;
  }

  /**
   * Ends a session as a dropped connection would, and forgets it. Harmless for a
   * session that has already closed itself (OUT, a login failure).
   */
  close(id: string, reason: GatewayCloseReason): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    if (entry.kind === 'NS') entry.session.onTransportClosed();
    else entry.session.close('closed');
    entry.transport.close();
    this.forget(entry, reason);
  }

  /** Removes a session whose end the client has been told (`Session=close`). */
  forget(entry: GatewayEntry, reason: GatewayCloseReason = 'closed'): void {
    if (this.entries.get(entry.id) !== entry) return;
    this.entries.delete(entry.id);
    entry.preauth.release();
    this.log.info(
      { gateway: entry.logId, server: entry.kind, client: entry.transport.remoteAddress, reason },
      `gateway ${entry.kind} session ${entry.logId} of ${entry.transport.remoteAddress} closed (${reason})`,
    );
    if (this.entries.size === 0) this.stopSweeper();
  }

  /**
   * Closes sessions that stopped polling. One that never signs in closes itself
   * (connection.ts), and the client's next request hears `Session=close`.
   */
  sweep(now = Date.now()): void {
    for (const entry of [...this.entries.values()]) {
      if (!entry.busy && now - entry.lastSeen >= this.idleTimeoutMs) this.close(entry.id, 'idle');
    }
  }

  /** Closes every session (server shutdown). */
  closeAll(): void {
    for (const id of [...this.entries.keys()]) this.close(id, 'shutdown');
    this.stopSweeper();
  }

  private startSweeper(): void {
    if (this.sweeper) return;
    const every = Math.max(10, Math.min(5_000, Math.floor(this.idleTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}

/** Signed in at some point (both stay set once the session has closed). */
function signedIn(entry: GatewayEntry): boolean {
  return entry.kind === 'NS' ? entry.session.account !== undefined : entry.session.conversation !== undefined;
}
