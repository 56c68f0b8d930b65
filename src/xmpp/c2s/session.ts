import { randomBytes } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import type { BusSubscription, JsonValue } from '../../bus/types.ts';
import type { AddressSlot } from '../../core/address-slots.ts';
import type { DomainEvent } from '../../core/events.ts';
import { recordSignIn, xmppSignInPath } from '../../core/metrics.ts';
import type { AccountRow } from '../../store/types.ts';
import { randomToken } from '../../util/ids.ts';
import type { BudgetAccount } from '../../util/memory-budget.ts';
import type { OutputOverflow } from '../../util/socket-flow.ts';
import { TaskQueue } from '../../util/task-queue.ts';
import { hasControlCharacters } from '../../util/text.ts';
import { type ClientState, handleClientState } from '../modules/csi.ts';
import { NS } from '../namespaces.ts';
import type { SaslMechanism, SaslStep } from '../sasl/mechanism.ts';
import { createMechanism, decodeBase64, mechanismsFor } from '../sasl/mechanism.ts';
import { errorReply, StanzaError } from '../stanza-error.ts';
import { type XmlElement, xml } from '../stream/element.ts';
import type { StreamErrorCondition } from '../stream/stream-errors.ts';
import { type RoutedStanza, type XmppContext, xmppChannel } from './context.ts';
import { deliverRouted, handleStanza, onSessionEnd, renderDomainEvent } from './router.ts';
import {
  handleStreamManagement,
  rescueUnacked,
  resumed,
  type StreamManagement,
} from './stream-management.ts';
import { traceXml } from './trace.ts';
import type { TransportFlowOwner, XmppTransport } from './transport.ts';

type State = 'stream' | 'authenticated' | 'bound' | 'closed';

/** SASL failures that refuse credentials (not a client's protocol mistake): the ones fail2ban counts. */
const CREDENTIAL_FAILURES = new Set([
  'not-authorized',
  'temporary-auth-failure',
  'invalid-authzid',
  'account-disabled',
  'credentials-expired',
]);

/** RFC 6120 §6.4.5: after this many failed SASL attempts the stream is closed. */
const MAX_SASL_FAILURES = 3;

/**
 * One client-to-server XMPP stream (RFC 6120): stream negotiation (STARTTLS §5, SASL
 * §6, resource binding §7), then stanzas handed to the router. Stanzas are handled
 * one at a time in arrival order. The connection is an `XmppTransport` (TCP/TLS,
 * WebSocket…): the same session whatever carries it.
 */
export class XmppSession implements TransportFlowOwner {
  state: State = 'stream';
  account: AccountRow | undefined;
  resource = '';
  /** RFC 6121 §4.2: has sent initial presence and not yet unavailable. */
  available = false;
  priority = 0;
  /** The last available presence it broadcast (RFC 6121 §4.2.2: shown to the user's resources that come online later). */
  lastPresence: XmlElement | undefined;
  /** RFC 6121 §2.1.6: requested the roster, so it gets roster pushes. */
  interested = false;
  /** Subscription states last shown to this client, per contact id (for subscribed/unsubscribed notices). */
  readonly shownSubscriptions = new Map<string, string>();
  /** The resource each contact's presence was last shown from. */
  readonly shownResources = new Map<string, string>();
  /** RFC 6121 §4.6: JIDs this session sent directed presence to. */
  readonly directedPresence = new Set<string>();
  readonly streamId = randomToken(12);
  /** XEP-0198 state, once the client enabled stream management. */
  sm: StreamManagement | undefined;
  /** XEP-0198 §5: the connection dropped and the session waits to be resumed. */
  detached = false;
  /** XEP-0352 state, once the client said it was inactive. */
  csi: ClientState | undefined;
  /** XEP-0280: this resource asked for carbon copies. */
  carbons = false;
  /** The client ended the stream itself (`</stream:stream>`), not a drop: offline delivery trusts it (modules/offline.ts). */
  closedByClient = false;
  /** The token grant a bearer mechanism signed in with: the session ends when it is revoked. */
  grantId: string | undefined;

  private transport: XmppTransport;
  /**
   * Stanzas handled one at a time. Issue 13: the client's input is bounded (past the soft
   * bound the transport stops reading, past the hard one the stream is closed) and held
   * while its output is backed up; events for it are not (flow-limits.ts).
   */
  private readonly queue: TaskQueue;
  /** Issue 13: this connection's share of the process memory budget. */
  readonly budgetAccount: BudgetAccount | undefined;
  private mechanism: SaslMechanism | undefined;
  private saslFailures = 0;
  private streamOpened = false;
  private subscriptions: BusSubscription[] = [];
  private generation = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Issue 13: runs from connect to bind; traffic does not move it (the idle timer does not bound a trickle). */
  private loginTimer: NodeJS.Timeout | undefined;
  /** This connection's place among its address's unauthenticated ones, until SASL success or the end. */
  private preauthSlot: AddressSlot | undefined;
  /** Settles when a bound session that ended is cleaned up (unregistered, endpoint removed). */
  private ended: Promise<void> = Promise.resolve();

  /** See `ended`: the server waits for it before it closes the bus and the store. */
  get cleanedUp(): Promise<void> {
    return this.ended;
  }

  constructor(
    readonly ctx: XmppContext,
    transport: XmppTransport,
  ) {
    this.transport = transport;
    this.budgetAccount = ctx.flow.budget?.open(() => this.overflow('budget'));
    const session = this;
    this.queue = new TaskQueue({
      onError(err) {
        session.log.error({ err }, 'XMPP session task failed');
        session.streamError('internal-server-error', 'internal error');
      },
      bounds: ctx.flow.input,
      account: this.budgetAccount,
      onInputPressure(over) {
        session.transport.pauseInput?.(over);
      },
      onInputOverflow() {
        session.overflow('input');
      },
    });
    transport.own?.(this);
    this.listen();
    this.touch();
    this.loginTimer = setTimeout(
      () => this.streamError('connection-timeout', 'not signed in in time'),
      ctx.loginTimeoutMs,
    );
    this.loginTimer.unref();
    this.preauthSlot = ctx.preauth.take(transport.remoteAddress);
    // RFC 6120 §4.9.3.14: a local policy refuses the stream (the log line is AddressSlots').
    if (!this.preauthSlot)
      this.streamError('policy-violation', 'too many connections from your address are not signed in');
  }

  /** Signed in: no longer one of its address's unauthenticated connections. */
  private leavePreauth(): void {
    this.preauthSlot?.release();
    this.preauthSlot = undefined;
  }

  /** Encrypted: TLS from the start, after STARTTLS, or wss/HTTPS. */
  get secure(): boolean {
    return this.transport.secure;
  }

  get jid(): string {
    return `${this.account?.handle ?? ''}/${this.resource}`;
  }

  get bare(): string {
    return this.account?.handle ?? '';
  }

  get endpointId(): string {
    return `xmpp:${this.resource}`;
  }

  get log() {
    return this.ctx.logger.child({
      component: 'xmpp',
      stream: this.streamId,
      ...(this.account ? { jid: this.jid } : {}),
    });
  }

  /**
   * Listens to a new stream of the transport (at start, after STARTTLS, after SASL
   * success, on resumption). Events of an older stream still in the queue are dropped:
   * bytes a client sent after `<starttls/>` or `<auth/>` in the same packet must never
   * count in the new stream (the STARTTLS command-injection attack, RFC 6120 §5.4.3.3 / §6.4.6).
   */
  private listen(resumed = false): void {
    const generation = ++this.generation;
    const session = this;
    this.transport.listen(
      {
        // The client's input: bounded, and held while its output is backed up (issue 13).
        streamOpen(attrs) {
          session.queue.pushInput(session.ofStream(generation, () => session.onStreamOpen(attrs)));
        },
        element(el, bytes) {
          session.queue.pushInput(
            session.ofStream(generation, () => session.onElement(el)),
            bytes,
          );
        },
        streamClose() {
          session.queue.pushInput(session.ofStream(generation, () => session.closeStream()));
        },
        error(condition, text) {
          session.queue.pushInput(session.ofStream(generation, () => session.streamError(condition, text)));
        },
        activity() {
          session.touch();
        },
        closed() {
          session.onTransportClosed();
        },
        transportError(err) {
          session.log.debug({ err: err.message }, `XMPP ${session.transport.kind} error`);
        },
      },
      resumed,
    );
  }

  /** `task`, run only if the stream `generation` is still this session's when its turn comes. */
  private ofStream(generation: number, task: () => Promise<void> | void): () => Promise<void> | void {
    return () => (generation === this.generation ? task() : undefined);
  }

  private touch(): void {
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(
        () => this.streamError('connection-timeout', 'idle'),
        this.ctx.idleTimeoutMs,
      );
      this.idleTimer.unref();
    }
  }

  enqueue(task: () => Promise<void> | void): void {
    this.queue.push(task);
  }

  send(element: XmlElement | string): void {
    if (this.state === 'closed') return;
    const data = typeof element === 'string' ? element : element.toString();
    if (this.csi?.hold(data)) return; // XEP-0352: held while the client is inactive
    this.sm?.sent(data); // XEP-0198: kept until acknowledged, sent again after resumption
    this.write(data);
  }

  /** Resolves once what was written so far has left this process, or the connection is gone (modules/offline.ts). */
  flushed(): Promise<void> {
    return this.transport.flushed?.() ?? Promise.resolve();
  }

  /** One element to the connection as it is, when there is one. */
  write(data: string): void {
    if (this.detached || !this.transport.writable) return;
    if (this.ctx.logger.isLevelEnabled('trace')) this.log.trace(`XMPP out: ${traceXml(data)}`);
    this.transport.send(data);
  }

  // Stream negotiation ---------------------------------------------------------

  private onStreamOpen(attrs: Record<string, string>): void {
    if (this.ctx.logger.isLevelEnabled('trace')) this.log.trace({ attrs }, 'XMPP in: stream header');
    // RFC 7395 §3.3.3: on WebSocket a header is a message like any other, so it may come twice.
    if (this.streamOpened) {
      this.streamError('bad-format', 'the stream is already open');
      return;
    }
    // RFC 6120 §4.7: we answer with our own header, then check what the client sent.
    this.openStream();
    if (attrs.xmlns !== NS.client) {
      this.streamError('invalid-namespace', 'the default namespace must be jabber:client');
    } else if ((attrs.to ?? '').toLowerCase() !== this.ctx.domain) {
      this.streamError('host-unknown', `this server is ${this.ctx.domain}`);
    } else if (!attrs.version?.startsWith('1.')) {
      // RFC 6120 §4.7.5: a client that names no version speaks pre-1.0 XMPP, which we do not.
      this.streamError('unsupported-version', 'XMPP 1.0 is required');
    } else if (this.state === 'stream' && this.tlsMissing() && !this.transport.canStartTls) {
      // RFC 6120 §5.3.1 as on TCP: TLS is required and exists (wss://, https://), but this
      // connection has none and cannot be upgraded (RFC 7395 §3.9).
      this.streamError('policy-violation', 'TLS is required: connect with wss:// or https://');
    } else {
      this.sendFeatures();
    }
  }

  /** RFC 6120 §4.7.1: our stream header (§4.9.1.2: also before a stream error when the client opened none). */
  private openStream(): void {
    this.streamOpened = true;
    if (this.state === 'closed' || this.detached || !this.transport.writable) return;
    if (this.ctx.logger.isLevelEnabled('trace')) this.log.trace('XMPP out: stream header');
    this.transport.sendHeader(this.streamId, this.ctx.domain);
  }

  /** A new stream follows on the same connection: after STARTTLS (§5.4.3.3) and SASL success (§6.4.6). */
  private restartStream(): void {
    this.listen();
    this.streamOpened = false;
  }

  /** RFC 6120 §5.3.1: TLS is required here and this server has a certificate, but this stream is not encrypted. */
  private tlsMissing(): boolean {
    return !this.secure && this.ctx.requireTls && this.ctx.secureContext !== undefined;
  }

  private sendFeatures(): void {
    const features = xml('stream:features');
    if (this.state === 'stream') {
      // RFC 7395 §3.9: never offered on a WebSocket, whose TLS is wss.
      const canStartTls = !this.secure && this.transport.canStartTls && this.ctx.secureContext !== undefined;
      if (canStartTls) {
        const starttls = xml('starttls', { xmlns: NS.tls });
        if (this.ctx.requireTls) starttls.append(xml('required'));
        features.append(starttls);
      }
      if (this.secure || !this.ctx.requireTls || !canStartTls) {
        const mechanisms = xml('mechanisms', { xmlns: NS.sasl });
        for (const name of mechanismsFor(this.saslContext())) mechanisms.append(xml('mechanism', {}, name));
        features.append(mechanisms);
      }
    } else {
      features.append(
        xml('bind', { xmlns: NS.bind }),
        xml('session', { xmlns: NS.session }, xml('optional')),
        xml('ver', { xmlns: NS.rosterVersioning }),
        xml('sub', { xmlns: NS.preApproval }),
        xml('sm', { xmlns: NS.sm }), // XEP-0198 §3
        xml('csi', { xmlns: NS.csi }), // XEP-0352 §3
      );
    }
    this.send(features);
  }

  private saslContext() {
    return { core: this.ctx.core, domain: this.ctx.domain, address: this.remoteAddress, secure: this.secure };
  }

  get remoteAddress(): string {
    return this.transport.remoteAddress;
  }

  private async onElement(el: XmlElement): Promise<void> {
    if (this.state === 'closed') return;
    if (this.ctx.logger.isLevelEnabled('trace')) this.log.trace(`XMPP in: ${traceXml(el.toString())}`);
    // RFC 7395 §3.4: a WebSocket stream, too, starts with its header.
    if (!this.streamOpened) return this.streamError('bad-format', 'open the stream first');
    if (this.state === 'stream') return this.negotiate(el);
    if (el.xmlns === NS.sm) return handleStreamManagement(this, el);
    if (this.state === 'authenticated') {
      if (el.name === 'iq' && el.getChild('bind', NS.bind)) return this.bind(el);
      // RFC 6120 §7.2: nothing but binding (or XEP-0198 resumption) before a resource is bound.
      return this.streamError('not-authorized', 'bind a resource first');
    }
    if (el.xmlns === NS.csi) return handleClientState(this, el);
    this.sm?.handled();
    await this.onStanza(el);
  }

  private async negotiate(el: XmlElement): Promise<void> {
    if (el.name === 'starttls' && el.xmlns === NS.tls) {
      if (this.secure || !this.ctx.secureContext || !this.transport.canStartTls) {
        this.send(xml('failure', { xmlns: NS.tls }));
        return this.close();
      }
      this.send(xml('proceed', { xmlns: NS.tls }));
      return this.upgradeToTls(this.ctx.secureContext);
    }
    if (this.tlsMissing()) {
      // RFC 6120 §5.3.1: TLS is mandatory here; anything else before it is refused.
      return this.streamError('policy-violation', 'STARTTLS is required');
    }
    if (el.xmlns !== NS.sasl) return this.streamError('not-authorized', 'authenticate first');
    switch (el.name) {
      case 'auth': {
        const mechanism = createMechanism(el.attrs.mechanism ?? '', this.saslContext());
        if (!mechanism) return this.saslFailure('invalid-mechanism');
        this.mechanism = mechanism;
        const text = el.text();
        if (mechanism.startWithText && text !== '' && text !== '=')
          return this.saslStep(await mechanism.startWithText(text));
        const initial = text === '' ? undefined : text === '=' ? Buffer.alloc(0) : decodeBase64(text);
        if (initial === null) return this.saslFailure('incorrect-encoding');
        return this.saslStep(await mechanism.start(initial));
      }
      case 'response': {
        if (!this.mechanism) return this.streamError('not-authorized', 'no SASL exchange in progress');
        const data = decodeBase64(el.text());
        if (data === null) return this.saslFailure('incorrect-encoding');
        return this.saslStep(await this.mechanism.step(data));
      }
      case 'abort':
        return this.saslFailure('aborted');
      default:
        return this.streamError('unsupported-stanza-type', `unexpected ${el.name}`);
    }
  }

  private async saslStep(step: SaslStep): Promise<void> {
    if (step.kind === 'challenge') {
      this.send(xml('challenge', { xmlns: NS.sasl }, step.data.length ? step.data.toString('base64') : '='));
      return;
    }
    if (step.kind === 'failure') return this.saslFailure(step.condition, step.text);
    const account = step.account;
    const mechanismName = this.mechanism?.name;
    this.mechanism = undefined;
    this.account = account;
    this.grantId = step.grantId;
    this.state = 'authenticated';
    this.leavePreauth();
    this.send(
      xml(
        'success',
        { xmlns: NS.sasl },
        step.additionalData?.length ? step.additionalData.toString('base64') : undefined,
      ),
    );
    recordSignIn(this.ctx.core.metrics, this.log, {
      path: xmppSignInPath(mechanismName),
      result: 'ok',
      address: this.remoteAddress,
      handle: account.handle,
    });
    this.restartStream();
  }

  private saslFailure(condition: string, text?: string): void {
    if (CREDENTIAL_FAILURES.has(condition)) {
      recordSignIn(this.ctx.core.metrics, this.log, {
        path: xmppSignInPath(this.mechanism?.name),
        result: 'failed',
        address: this.remoteAddress,
        handle: undefined,
      });
    }
    this.mechanism = undefined;
    const failure = xml('failure', { xmlns: NS.sasl }, xml(condition));
    if (text) failure.append(xml('text', { 'xml:lang': 'en' }, text));
    this.send(failure);
    this.saslFailures++;
    this.log.info({ condition }, 'SASL failure');
    if (this.saslFailures >= MAX_SASL_FAILURES)
      this.streamError('policy-violation', 'too many failed authentication attempts');
  }

  private upgradeToTls(context: SecureContext): void {
    this.transport.startTls(context, () => this.log.debug('TLS established'));
    this.restartStream();
  }

  /** RFC 6120 §7: the client's resource, or one we make; an existing session with it is replaced (§7.7.2.2). */
  private async bind(iq: XmlElement): Promise<void> {
    const account = this.account;
    if (!account || iq.attrs.type !== 'set') return this.send(errorReply(iq, 'modify', 'bad-request'));
    const requested = iq.getChild('bind', NS.bind)?.getChildText('resource')?.trim() ?? '';
    if (Buffer.byteLength(requested) > 1023 || hasControlCharacters(requested)) {
      return this.send(errorReply(iq, 'modify', 'bad-request', 'invalid resource'));
    }
    this.resource = requested || `papillon-${randomBytes(6).toString('hex')}`;
    const previous = this.ctx.sessions.get(account.id)?.get(this.resource);
    if (previous && previous !== this) {
      previous.log.info('resource taken over by a new session');
      previous.streamError('conflict', 'replaced by a new connection');
      // Its cleanup unregisters it (dropping the account's map when it was the last
      // session) and removes the endpoint of this very resource: let it finish first,
      // or it would undo this session's registration.
      await previous.ended;
      if (this.state === 'closed') return;
    }
    let mine = this.ctx.sessions.get(account.id);
    if (!mine) {
      mine = new Map();
      this.ctx.sessions.set(account.id, mine);
    }
    mine.set(this.resource, this);
    this.state = 'bound';
    clearTimeout(this.loginTimer);
    this.loginTimer = undefined;
    this.subscriptions.push(
      await this.ctx.core.events.subscribe(account.id, (event: DomainEvent) =>
        this.enqueue(() => renderDomainEvent(this, event)),
      ),
      await this.ctx.core.bus.subscribe(xmppChannel(account.id), (message: JsonValue) =>
        this.enqueue(() => deliverRouted(this, message as unknown as RoutedStanza)),
      ),
    );
    await this.ctx.core.presence.set(account.id, this.endpointId, {
      capabilities: { xmppResource: this.resource },
    });
    this.ctx.core.liveSessions.add({
      accountId: account.id,
      handle: account.handle,
      endpointId: this.endpointId,
      protocol: 'xmpp',
      detail: this.resource,
      address: this.remoteAddress,
      since: Date.now(),
    });
    this.send(
      xml(
        'iq',
        { type: 'result', id: iq.attrs.id },
        xml('bind', { xmlns: NS.bind }, xml('jid', {}, this.jid)),
      ),
    );
    this.log.info(`${this.jid} bound`);
  }

  private async onStanza(el: XmlElement): Promise<void> {
    if (el.name !== 'iq' && el.name !== 'message' && el.name !== 'presence') {
      return this.streamError('unsupported-stanza-type', `<${el.name}/> is not a stanza`);
    }
    // RFC 6120 §8.1.2.1: the server stamps the sender's full JID.
    el.attrs.from = this.jid;
    try {
      await handleStanza(this, el);
    } catch (err) {
      if (err instanceof StanzaError) {
        if (el.attrs.type !== 'error' && el.attrs.type !== 'result') {
          // The reply swaps from/to: it comes from whom the stanza was for, to the sender.
          this.send(
            errorReply(el, err.type, err.condition, err.message !== err.condition ? err.message : undefined),
          );
        }
        return;
      }
      throw err;
    }
  }

  // Ending -------------------------------------------------------------------------

  /** RFC 6120 §4.9: the error, then the stream close, then the connection. */
  streamError(condition: StreamErrorCondition, text?: string, extra?: XmlElement): void {
    if (this.state === 'closed') return;
    if (!this.streamOpened) this.openStream();
    const error = xml('stream:error', {}, xml(condition, { xmlns: NS.streamErrors }));
    if (text) error.append(xml('text', { xmlns: NS.streamErrors, 'xml:lang': 'en' }, text));
    error.append(extra);
    this.send(error);
    this.log.info({ condition, text }, 'stream error');
    this.close();
  }

  /** The client closed its stream: close ours (RFC 6120 §4.4). */
  private closeStream(): void {
    this.closedByClient = true;
    this.close();
  }

  /** Issue 13: output backed up past the soft bound holds the client's stanzas until it drains. */
  outputPressure(held: boolean): void {
    if (held) this.queue.hold();
    else this.queue.release();
  }

  /**
   * Issue 13: the client does not read its output (`output`, `stalled`: the transport has
   * already cut the connection), sends faster than it is served (`input`), or holds the
   * most of an exhausted memory budget (`budget`).
   */
  overflow(reason: OutputOverflow | 'input' | 'budget', queuedBytes?: number): void {
    if (this.state === 'closed') return;
    const who = `${this.remoteAddress}${this.account ? ` (${this.jid})` : ''}`;
    const why = {
      output: 'does not read its output',
      stalled: 'has not read any of its output for too long',
      input: 'sends stanzas faster than they are handled',
      budget: 'holds the most memory while the server is over its memory budget',
    }[reason];
    this.log.warn(
      { client: this.remoteAddress, reason, ...(queuedBytes ? { queuedBytes } : {}) },
      `XMPP client ${who} ${why}; closing`,
    );
    this.budgetAccount?.close();
    this.queue.clear();
    this.transport.pauseInput?.(true);
    // RFC 6120 §4.9.3.18: a local policy (the input bound) is broken.
    if (reason === 'input') {
      this.streamError('policy-violation', 'too many stanzas waiting');
    } else if (reason === 'budget') {
      // RFC 6120 §4.9.3.17: the server lacks the resources to serve the stream.
      this.streamError('resource-constraint', 'the server is short of memory');
      this.transport.abort?.();
    } else {
      // The client stopped reading: the session ends now rather than waiting to be resumed
      // (XEP-0198 §5), whose queue of unacknowledged stanzas would keep the memory.
      this.end();
      this.transport.abort?.();
    }
  }

  /** Server shutdown: `<system-shutdown/>` (RFC 6120 §4.9.3.19). */
  shutdown(): void {
    this.streamError('system-shutdown', 'the server is stopping');
  }

  close(): void {
    if (this.state === 'closed') return;
    if (!this.detached && this.transport.writable) {
      if (this.ctx.logger.isLevelEnabled('trace')) this.log.trace('XMPP out: stream close');
      this.transport.sendClose();
    }
    this.end();
    this.transport.close();
  }

  private onTransportClosed(): void {
    if (this.state === 'closed' || this.detached) return;
    if (this.state === 'bound' && this.sm?.id !== undefined) this.hibernate();
    else this.end();
  }

  /** XEP-0198 §5: the connection is gone, not the session: it keeps its resource and presence a while. */
  private hibernate(): void {
    this.detached = true;
    this.transport.unlisten();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.sm?.hibernate(() => this.enqueue(() => (this.detached ? this.end() : undefined)));
    this.log.info('connection lost; waiting for the client to resume the session');
  }

  /**
   * XEP-0198 §5: `fresh`, a new stream authenticated as the same account, resumes this
   * session: its connection becomes this session's (an old one still open is closed).
   */
  resumeWith(fresh: XmppSession, h: number): Promise<'resumed' | 'gone' | 'too-high'> {
    return new Promise((resolve) => {
      this.enqueue(() => {
        const sm = this.sm;
        if (this.state !== 'bound' || !sm) return resolve('gone');
        if (!sm.acknowledge(h)) return resolve('too-high');
        if (!this.detached) {
          // The client came back before we noticed its old connection drop.
          const old = this.transport;
          old.unlisten();
          if (old.writable) {
            old.send(xml('stream:error', {}, xml('conflict', { xmlns: NS.streamErrors })).toString());
            old.sendClose();
          }
          old.own?.(undefined);
          old.close();
        }
        // Synchronously, so no byte of the new connection is missed.
        this.transport = fresh.handOver();
        // Issue 13: its backpressure reports to this session now, reading as this queue allows.
        this.transport.own?.(this);
        this.transport.pauseInput?.(false);
        // The credentials of the stream that resumed it are the ones revocation now ends it by.
        this.grantId = fresh.grantId;
        this.detached = false;
        sm.wake();
        this.listen(true);
        this.streamOpened = true;
        this.touch();
        resumed(this, sm);
        this.csi?.activate(this); // XEP-0352 §4: a new stream starts active
        this.log.info('session resumed');
        resolve('resumed');
      });
    });
  }

  /** This stream resumes another session, which takes its connection; it ends without a word. */
  private handOver(): XmppTransport {
    this.transport.unlisten();
    this.generation++;
    this.state = 'closed';
    if (this.idleTimer) clearTimeout(this.idleTimer);
    clearTimeout(this.loginTimer);
    this.leavePreauth();
    this.budgetAccount?.close();
    this.queue.clear();
    return this.transport;
  }

  /** The session is over, whichever side ended it: a bound one is cleaned up. */
  private end(): void {
    const wasBound = this.state === 'bound';
    this.state = 'closed';
    if (this.idleTimer) clearTimeout(this.idleTimer);
    clearTimeout(this.loginTimer);
    this.leavePreauth();
    // Issue 13: what it held leaves the memory budget; input still waiting would find it closed.
    this.budgetAccount?.close();
    this.queue.clear();
    if (wasBound) this.ended = this.cleanup();
  }

  /** RFC 6121 §4.6.3: an unclean end counts as unavailable presence. */
  private async cleanup(): Promise<void> {
    const account = this.account;
    if (!account) return;
    const mine = this.ctx.sessions.get(account.id);
    if (mine?.get(this.resource) === this) {
      mine.delete(this.resource);
      if (mine.size === 0) this.ctx.sessions.delete(account.id);
      this.ctx.core.liveSessions.remove(account.id, this.endpointId);
    }
    const unacked = this.sm?.finish();
    try {
      for (const sub of this.subscriptions) await sub.unsubscribe();
      await onSessionEnd(this);
      await this.ctx.core.presence.disconnect(account.id, this.endpointId);
      if (unacked?.length) await rescueUnacked(this, unacked);
      this.log.info(`${this.jid} disconnected`);
    } catch (err) {
      this.log.error({ err }, 'cleanup after XMPP session failed');
    }
  }
}
