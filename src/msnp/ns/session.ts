import { randomUUID } from 'node:crypto';
import type { BusSubscription } from '../../bus/types.ts';
import type { AddressSlot } from '../../core/address-slots.ts';
import type { DomainEvent } from '../../core/events.ts';
import type { AccountRow } from '../../store/types.ts';
import { isPapillonError } from '../../util/errors.ts';
import type { MsnpCommand } from '../codec/index.ts';
import { MsnpConnection } from '../connection.ts';
import type { Dialect } from '../dialects/dialect.ts';
import { ANY_NS_PAYLOAD } from '../dialects/table.ts';
import { MsnpError } from '../errors.ts';
import type { MsnpTransport } from '../transport.ts';
import { leaveCircles } from './circle.ts';
import type { MsnpContext } from './context.ts';
import { tridOf } from './handler.ts';
import { NS_HANDLERS } from './handlers.ts';
import { renderEvent } from './render-events.ts';
import { MsnpReply } from './reply.ts';

export type NsState = 'connected' | 'negotiated' | 'online' | 'closed';

/** What a session that has not closed, or closed and is cleaned up, waits on (one for all). */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * One notification-server connection: negotiation, login, then commands in order.
 * Domain events are rendered on the same queue as commands, so a reply always
 * precedes the notifications it causes.
 */
export class NsSession extends MsnpConnection {
  readonly endpointId = `msnp:${randomUUID()}`;
  state: NsState = 'connected';
  dialect: Dialect | undefined;
  account: AccountRow | undefined;
  /** Handle named in `USR … I`, until the login completes. */
  pendingHandle: string | undefined;
  /** The client's capabilities from its last CHG (switchboards show them in JOI/IRO). */
  clientId = '0';
  /** MSNP16+ extended capabilities (`clientid:extcaps` in CHG). */
  extCaps = '0';
  /**
   * MSNP16+ multipoint: the `{machine-guid}` the client named in `USR SSO S` (set by
   * the sign-in before `startSession`). Switchboards show it as `handle;{guid}`.
   */
  machineGuid: string | undefined;
  /** Set once the first CHG has been answered with the ILN burst. */
  initialPresenceDone = false;
  /**
   * A fingerprint of the last UBX payload sent per contact, so only changes are sent
   * (the fingerprint, not the XML: MSNP13+ payloads are never empty, and a session
   * watching 100 contacts would otherwise keep 100 of them). Made at the first UBX:
   * a session that never sends one keeps no map.
   */
  sentPersonalMessages: Map<string, number> | undefined;
  /** The outstanding CHL challenge, if any. */
  challenge: string | undefined;
  challengeTimer: NodeJS.Timeout | undefined;

  private subscription: BusSubscription | undefined;
  /**
   * The listener's place for a connection from this address that has not signed in
   * (core/address-slots.ts): given back at sign-in, or when the socket closes first.
   */
  private preauthSlot: AddressSlot | undefined;

  constructor(
    readonly ctx: MsnpContext,
    transport: MsnpTransport,
  ) {
    super(transport, ctx.loginTimeoutMs);
    ctx.sessions.add(this);
  }

  get log() {
    return this.ctx.logger.child({
      component: 'msnp-ns',
      endpoint: this.endpointId,
      ...(this.account ? { handle: this.account.handle } : {}),
    });
  }

  protected get rootLog() {
    return this.ctx.logger;
  }

  protected get closed(): boolean {
    return this.state === 'closed';
  }

  protected hasPayload(name: string): boolean {
    return (this.dialect ? this.dialect.nsPayloadCommands : ANY_NS_PAYLOAD).has(name);
  }

  protected async dispatch(command: MsnpCommand): Promise<void> {
    if (this.state === 'closed') return;
    const handler = NS_HANDLERS[command.name];
    const trid = tridOf(command);
    if (!handler) {
      // Not silently dropped: the client hears "not expected", the operator sees why.
      this.log.warn({ command: command.name }, `unknown MSNP command ${command.name}`);
      this.error(MsnpError.notExpected, trid);
      return;
    }
    if (handler.state === 'negotiated' && this.state === 'connected') {
      this.log.info({ command: command.name }, 'command before VER; closing');
      this.close();
      return;
    }
    if (handler.state === 'online' && this.state !== 'online') {
      this.error(MsnpError.notLoggedIn, trid);
      return;
    }
    if (handler.when && this.dialect && !handler.when(this.dialect)) {
      // A command the negotiated version does not have (e.g. ADC in MSNP8).
      this.log.info(
        { command: command.name, dialect: this.dialect.name },
        'command not in this dialect; closing',
      );
      this.error(MsnpError.notExpected, trid);
      this.close();
      return;
    }
    try {
      await handler.run(this, command);
    } catch (err) {
      if (err instanceof MsnpReply) {
        this.error(err.code, trid);
        if (err.closeAfter) this.close();
        return;
      }
      if (isPapillonError(err)) {
        this.log.info({ command: command.name, code: err.code }, err.message);
        this.error(MsnpError.invalidParameter, trid);
        return;
      }
      throw err;
    }
  }

  /** Called by the login handler once the account is proven. */
  async startSession(account: AccountRow): Promise<void> {
    this.account = account;
    this.pendingHandle = undefined; // a slice of the whole USR line, which it would keep
    this.state = 'online';
    this.clearLoginTimer();
    this.releaseSlot();
    this.subscription = await this.ctx.core.events.subscribe(account.id, (event) =>
      this.enqueue(() => this.onEvent(event)),
    );
    await this.ctx.core.presence.set(account.id, this.endpointId, {
      capabilities: this.endpointCapabilities(),
    });
    this.ctx.core.liveSessions.add({
      accountId: account.id,
      handle: account.handle,
      endpointId: this.endpointId,
      protocol: 'msnp',
      detail: this.dialect?.name ?? 'MSNP',
      address: this.transport.remoteAddress,
      since: Date.now(),
    });
    this.log.info({ dialect: this.dialect?.name }, `${account.handle} signed in over ${this.dialect?.name}`);
  }

  private async onEvent(event: DomainEvent): Promise<void> {
    if (this.state !== 'online') return;
    if (event.type === 'sign-out' && (event.endpointId === null || event.endpointId === this.endpointId)) {
      this.send('OUT', outReason(event.reason));
      this.close();
      return;
    }
    await renderEvent(this, event);
  }

  /**
   * What identifies this endpoint to the account's other endpoints and to switchboards
   * (MSNP16+), and the version a switchboard on another node speaks to it (sb/answer-cookies.ts).
   */
  endpointCapabilities(): Record<string, string> {
    const version = { msnpVersion: String(this.dialect?.version ?? 8) };
    if (!this.machineGuid || !this.dialect?.mpop) return version;
    return { ...version, msnpMachineGuid: this.machineGuid, msnpMultipoint: '1' };
  }

  /** MSNP16+: tells the account's other endpoints that this one changed (they re-send their own UBX). */
  async announceEndpoints(): Promise<void> {
    if (this.account && this.dialect?.mpop) {
      await this.ctx.core.events.publish(this.account.id, { type: 'endpoints-changed' });
    }
  }

  /** Settles once a closed session has left the registry (the server waits for it before closing the bus). */
  cleanedUp: Promise<void> = SETTLED;

  /** Holds `slot` (the listener's, for a TCP connection) until sign-in or the socket's close. */
  holdSlot(slot: AddressSlot): void {
    this.preauthSlot = slot;
  }

  private releaseSlot(): void {
    this.preauthSlot?.release();
    this.preauthSlot = undefined;
  }

  /** Polite stop at server shutdown (§10 `OUT SSD`). */
  shutdown(): void {
    if (this.state === 'online') this.send('OUT', 'SSD');
    this.close();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearLoginTimer();
    if (this.challengeTimer) clearTimeout(this.challengeTimer);
    this.transport.close();
    // Listed until cleaned up, so a server stop waits for it before the store and bus close.
    this.cleanedUp = this.cleanup().then(() => {
      this.ctx.sessions.delete(this);
    });
  }

  /** The transport went away (client closed, network dropped). */
  onTransportClosed(): void {
    this.releaseSlot();
    this.close();
  }

  private async cleanup(): Promise<void> {
    try {
      await this.subscription?.unsubscribe();
      if (this.account) {
        this.ctx.core.liveSessions.remove(this.account.id, this.endpointId);
        await this.ctx.core.presence.disconnect(this.account.id, this.endpointId);
        await leaveCircles(this);
        await this.announceEndpoints();
        this.log.info(`${this.account.handle} signed out`);
      }
    } catch (err) {
      this.log.error({ err }, 'cleanup after MSNP session failed');
    }
  }
}

/**
 * §10: clients know two reasons. COMPAT: Pidgin and msn-pecan (notification.c out_cmd)
 * show OTH as "signed on from another location" and do not reconnect; SSD as "the MSN
 * servers are going down temporarily" and reconnect, as MSN Messenger does. So a deleted or
 * kicked account gets OTH (it stays signed out), a changed password SSD (the client signs
 * in again, its old password fails, and it asks for the new one).
 */
function outReason(reason: Extract<DomainEvent, { type: 'sign-out' }>['reason']): 'OTH' | 'SSD' {
  return reason === 'signed-in-elsewhere' || reason === 'account-deleted' || reason === 'kicked'
    ? 'OTH'
    : 'SSD';
}
