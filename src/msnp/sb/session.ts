import { randomUUID } from 'node:crypto';
import type { ConversationEvent, LeaveReason, Participant } from '../../core/conversations.ts';
import type { AccountRow } from '../../store/types.ts';
import { isPapillonError } from '../../util/errors.ts';
import { isValidHandle } from '../../util/handle.ts';
import { encodeParam, type MsnpCommand } from '../codec/index.ts';
import { MsnpConnection } from '../connection.ts';
import type { Dialect } from '../dialects/dialect.ts';
import { dialectFor } from '../dialects/table.ts';
import { MsnpError } from '../errors.ts';
import type { MsnpContext } from '../ns/context.ts';
import { tridOf } from '../ns/handler.ts';
import type { MsnpTransport } from '../transport.ts';
import type { SbTicket } from './cookies.ts';
import { contentOf, payloadFor } from './message-content.ts';
import {
  leaveLines,
  parseEndpointHandle,
  participantCapabilities,
  participantLines,
  rosterLines,
  sameMachine,
} from './participants.ts';
import { type PictureOwner, PictureServer } from './picture-server.ts';

/** §2.2: the switchboard dropped a client whose MSG payload exceeded 1664 bytes. */
export const MAX_SB_MESSAGE_BYTES = 1664;

const SB_PAYLOAD = new Set(['MSG']);

/**
 * One switchboard connection (docs/msnp-reference.md §12): `USR` (a new conversation
 * from `XFR SB`) or `ANS` (answering an `RNG`), then `CAL`, `MSG`, `OUT`. Messages
 * are relayed byte for byte through the core conversation.
 */
export class SbSession extends MsnpConnection {
  readonly endpointId = `msnp-sb:${randomUUID()}`;
  private state: 'connected' | 'joined' | 'closed' = 'connected';
  private account: AccountRow | undefined;
  private participant: Participant | undefined;
  private conversationId: string | undefined;
  private dialect: Dialect | undefined;
  /** The notification session that opened or answered this switchboard (MSNP16+ self-calls). */
  private nsEndpointId: string | undefined;
  /** While a CAL is being answered: conversation events that must follow its reply. */
  private held: ConversationEvent[] | undefined;
  /** Answers display-picture requests for pictures the server stores (sb/picture-server.ts). */
  private readonly pictures = new PictureServer({
    requester: () => this.account?.handle,
    owner: (handle) => this.pictureOwner(handle),
    send: (owner, payload) => this.sendMessage(owner, payload),
    log: () => this.log,
  });

  /**
   * Settles when the connection ends: `left` after the client's OUT (§12.3), `idle`, or
   * `closed` (dropped, or the server stopping). Offline delivery waits on it.
   */
  readonly ended: Promise<LeaveReason>;
  private markEnded: (reason: LeaveReason) => void = () => {};

  constructor(
    private readonly ctx: MsnpContext,
    transport: MsnpTransport,
  ) {
    super(transport, ctx.loginTimeoutMs);
    this.ended = new Promise((resolve) => {
      this.markEnded = resolve;
    });
    ctx.sbSessions.add(this);
  }

  protected get rootLog() {
    return this.ctx.logger;
  }

  protected get log() {
    return this.ctx.logger.child({
      component: 'msnp-sb',
      conversation: this.conversationId,
      handle: this.account?.handle,
    });
  }

  get conversation(): string | undefined {
    return this.conversationId;
  }

  protected get closed(): boolean {
    return this.state === 'closed';
  }

  protected hasPayload(name: string): boolean {
    return SB_PAYLOAD.has(name);
  }

  protected async dispatch(c: MsnpCommand): Promise<void> {
    if (this.state === 'closed') return;
    const trid = tridOf(c);
    if (this.state === 'connected') {
      if (c.name === 'USR') return this.usr(c, trid);
      if (c.name === 'ANS') return this.ans(c, trid);
      if (c.name === 'OUT') return this.close();
      // Anything else before authenticating ends the connection (§12.1).
      this.error(MsnpError.authenticationFailed, trid);
      this.close();
      return;
    }
    switch (c.name) {
      case 'CAL':
        return this.cal(c, trid);
      case 'MSG':
        return this.msg(c, trid);
      case 'OUT':
        return this.close();
      default:
        this.log.warn({ command: c.name }, `unknown switchboard command ${c.name}`);
        this.error(MsnpError.notExpected, trid);
    }
  }

  /**
   * §12.1 `USR trid handle cookie` → `USR trid OK handle friendly` (MSNP16+: the
   * handle may be `handle;{machine-guid}`, echoed as given).
   */
  private async usr(c: MsnpCommand, trid: string): Promise<void> {
    const [, handle, cookie] = c.args;
    const ticket = cookie ? this.ctx.sbCookies.take(cookie) : undefined;
    const account = ticket ? await this.ctx.core.accounts.findById(ticket.accountId) : undefined;
    if (ticket?.kind !== 'create' || !account || !this.admits(ticket, account, handle)) {
      this.error(MsnpError.authenticationFailed, trid);
      this.close();
      return;
    }
    const conversation = this.ctx.core.conversations.create();
    this.enter(account, ticket, conversation.id);
    this.send('USR', trid, 'OK', handle ?? account.handle, encodeParam(account.displayName));
  }

  /** The cookie's account and (MSNP16+) endpoint are the ones `USR`/`ANS` named. */
  private admits(ticket: SbTicket, account: AccountRow, arg: string | undefined): boolean {
    const named = parseEndpointHandle(arg ?? '');
    if (account.handle !== named.handle) return false;
    return !named.machineGuid || !ticket.machineGuid || sameMachine(named.machineGuid, ticket.machineGuid);
  }

  /** §12.2 `ANS trid handle cookie sessid` → `IRO trid i n handle friendly [clientid]` … `ANS trid OK`. */
  private async ans(c: MsnpCommand, trid: string): Promise<void> {
    const [, handle, cookie, sessionId] = c.args;
    const ticket = cookie ? this.ctx.sbCookies.take(cookie) : undefined;
    const account = ticket ? await this.ctx.core.accounts.findById(ticket.accountId) : undefined;
    if (
      ticket?.kind !== 'answer' ||
      ticket.conversationId !== sessionId ||
      !account ||
      !this.admits(ticket, account, handle) ||
      !this.ctx.core.conversations.get(ticket.conversationId)
    ) {
      this.error(MsnpError.authenticationFailed, trid);
      this.close();
      return;
    }
    // The roster and ANS OK go out before joining: whatever the others send the moment
    // this endpoint joins (messages the XMPP bridge queued while ringing, the server's
    // offline delivery in ns/offline-delivery.ts) must follow them (§12.2).
    const others = this.ctx.core.conversations.others(ticket.conversationId, this.endpointId);
    const self = this.participantFor(account, ticket);
    const lines = rosterLines(dialectFor(ticket.dialectVersion), self, others);
    lines.forEach((line, i) => {
      this.send('IRO', trid, i + 1, lines.length, ...line);
    });
    this.send('ANS', trid, 'OK');
    this.enter(account, ticket, ticket.conversationId);
  }

  private participantFor(account: AccountRow, ticket: SbTicket): Participant {
    return {
      accountId: account.id,
      handle: account.handle,
      displayName: account.displayName,
      endpointId: this.endpointId,
      capabilities: participantCapabilities(ticket),
    };
  }

  private enter(account: AccountRow, ticket: SbTicket, conversationId: string): void {
    this.account = account;
    this.dialect = dialectFor(ticket.dialectVersion);
    this.conversationId = conversationId;
    this.nsEndpointId = ticket.nsEndpointId;
    this.participant = this.participantFor(account, ticket);
    this.state = 'joined';
    this.clearLoginTimer();
    this.ctx.core.conversations.join(conversationId, this.participant, (event) => this.onEvent(event));
  }

  /**
   * §12.1 `CAL trid handle` → `CAL trid RINGING sessid`; 208 bad handle, 215 already
   * there, 217 unreachable. The answer comes before anything the invitation causes:
   * an XMPP user (or the server's own participants) joins while `invite` is still
   * running, and that `JOI` is held until `CAL … RINGING` is written, as on the real
   * switchboard, where the invitee joined only after being rung.
   */
  private async cal(c: MsnpCommand, trid: string): Promise<void> {
    const { handle } = parseEndpointHandle(c.args[1] ?? '');
    if (!this.participant || !this.conversationId) return;
    if (!isValidHandle(handle)) return this.error(MsnpError.invalidUsername, trid);
    if (handle === this.participant.handle && this.dialect?.mpop) return this.callOwnEndpoints(trid);
    const held: ConversationEvent[] = [];
    this.held = held;
    try {
      const result = await this.ctx.core.conversations.invite(this.conversationId, this.participant, handle);
      if (result === 'already-there') return this.error(MsnpError.alreadyThere, trid);
      this.send('CAL', trid, 'RINGING', this.conversationId);
    } catch (err) {
      if (isPapillonError(err, 'no-such-account')) return this.error(MsnpError.invalidUsername, trid);
      if (isPapillonError(err, 'not-authorized')) return this.error(MsnpError.userOffline, trid);
      throw err;
    } finally {
      this.held = undefined;
      for (const event of held) this.onEvent(event);
    }
  }

  /** §12.4 `MSG trid U|N|A|D len` + payload, relayed as `MSG handle friendly len`; ACK/NAK by mode. */
  private async msg(c: MsnpCommand, trid: string): Promise<void> {
    const mode = c.args[1];
    const payload = c.payload ?? Buffer.alloc(0);
    if (mode !== 'U' && mode !== 'N' && mode !== 'A' && mode !== 'D') {
      // §12.4: an unknown (or lower-case) mode letter ends the connection.
      this.log.info({ mode }, 'bad MSG acknowledgement mode; closing');
      this.close();
      return;
    }
    if (payload.length > MAX_SB_MESSAGE_BYTES) {
      this.log.info({ bytes: payload.length }, 'switchboard message over 1664 bytes; closing');
      this.close();
      return;
    }
    if (!this.conversationId) return;
    // P2P messages for a picture the server serves stay here (nothing to relay); held
    // INVITE chunks that turn out not to be the server's are relayed after the fact.
    const relay = await this.pictures.take(payload);
    if (this.state === 'closed' || !this.conversationId) return;
    let everyone = true;
    for (const message of relay) everyone = this.relay(this.conversationId, message);
    if (mode === 'A' || mode === 'D') this.send(everyone ? 'ACK' : 'NAK', trid);
    else if (mode === 'N' && !everyone) this.send('NAK', trid);
  }

  /** Sends `payload` to the others in the conversation; true if every one of them got it. */
  private relay(conversationId: string, payload: Buffer): boolean {
    const members = this.ctx.core.conversations.get(conversationId)?.members.size ?? 1;
    const delivered = this.ctx.core.conversations.send(
      conversationId,
      this.endpointId,
      contentOf(payload),
      payload,
    );
    return delivered > 0 && delivered === members - 1;
  }

  /** Another participant `handle` of this conversation, if the server stores a picture for them. */
  private async pictureOwner(handle: string): Promise<PictureOwner | undefined> {
    if (!this.conversationId || !this.account) return undefined;
    const self = this.account.id;
    const participant = this.ctx.core.conversations
      .others(this.conversationId, this.endpointId)
      .find((p) => p.handle === handle && p.accountId !== self);
    if (!participant) return undefined;
    const picture = await this.ctx.core.pictures.get(participant.accountId);
    if (!picture) return undefined;
    return { handle: participant.handle, displayName: participant.displayName, picture };
  }

  private onEvent(event: ConversationEvent): void {
    if (this.state !== 'joined') return;
    if (this.held) {
      this.held.push(event);
      return;
    }
    switch (event.type) {
      case 'message': {
        // Bytes from an MSNP client go as they came; other protocols' messages are rendered.
        const payload = event.payload ?? payloadFor(event.content, event.from.handle);
        if (payload) this.sendMessage(event.from, payload);
        return;
      }
      case 'joined': {
        const p = event.participant;
        if (!this.participant) return;
        const first = !this.accountPresent(p);
        const lines = participantLines(this.dialect, this.participant, p, first);
        for (const line of lines) this.send('JOI', ...line);
        return;
      }
      case 'left': {
        // §12.3 `BYE handle`, `BYE handle 1` when the server dropped them for idling.
        if (!this.participant) return;
        const last = !this.accountPresent(event.participant);
        for (const who of leaveLines(this.dialect, this.participant, event.participant, last)) {
          if (event.reason === 'idle') this.send('BYE', who, 1);
          else this.send('BYE', who);
        }
        return;
      }
    }
  }

  /**
   * MSNP16+: WLM 2009 opens each switchboard by calling its own handle, so the
   * account's other endpoints join and see the conversation. They are rung (not the
   * calling one); the caller hears `CAL … RINGING` and its own endpoint's `JOI`
   * (COMPAT: WLM 2009 waits for that JOI before it calls the contact; Escargot
   * answers the same way when no other endpoint is signed in).
   */
  private async callOwnEndpoints(trid: string): Promise<void> {
    const self = this.participant;
    const conversationId = this.conversationId;
    if (!self || !conversationId) return;
    this.send('CAL', trid, 'RINGING', conversationId);
    for (const line of participantLines(this.dialect, self, self, false)) this.send('JOI', ...line);
    const endpoints = await this.ctx.core.presence.endpoints(self.accountId);
    const others = endpoints.filter(
      (e) => e.endpointId !== this.nsEndpointId && e.presence.capabilities.msnpMultipoint === '1',
    );
    if (others.length === 0) return;
    await this.ctx.core.conversations.ring(conversationId, self, self.accountId, this.nsEndpointId);
  }

  /** Whether another endpoint of `p`'s account (not `p` itself) is in the conversation. */
  private accountPresent(p: Participant): boolean {
    if (!this.conversationId) return false;
    return this.ctx.core.conversations
      .others(this.conversationId, p.endpointId)
      .some((o) => o.accountId === p.accountId && o.endpointId !== this.endpointId);
  }

  /** §12.4 `MSG handle friendly len` + payload: a message from `from` to this client. */
  private sendMessage(from: { handle: string; displayName: string }, payload: Buffer): void {
    this.sendPayload('MSG', [from.handle, encodeParam(from.displayName)], payload);
  }

  /** Leaves the conversation (the others get BYE) and closes the connection. */
  close(reason: LeaveReason = 'left'): void {
    if (this.state === 'closed') return;
    const conversationId = this.conversationId;
    this.state = 'closed';
    this.markEnded(reason);
    this.clearLoginTimer();
    this.pictures.close();
    this.ctx.sbSessions.delete(this);
    if (conversationId) this.ctx.core.conversations.leave(conversationId, this.endpointId, reason);
    this.transport.close();
  }
}
