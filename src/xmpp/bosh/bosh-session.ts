import { randomBytes } from 'node:crypto';
import type { XmppSession } from '../c2s/session.ts';
import type { XmlElement } from '../stream/element.ts';
import { BOSH_VERSION, type BoshCondition, renderBody, terminateBody, xboshAttr } from './body.ts';
import { BoshTransport } from './transport.ts';

/** What the connection manager granted (XEP-0124 §7.1), in seconds where timed. */
export interface BoshTerms {
  wait: number;
  hold: number;
  /** Shortest interval between empty requests (§12). */
  polling: number;
  /** Longest time with no request held before the session ends (§7.1). */
  inactivity: number;
}

/** One HTTP request, waiting for its response. */
interface Pending {
  rid: number;
  body: XmlElement;
  reply: (xml: string) => void;
  timer?: NodeJS.Timeout;
}

/** XEP-0124 §7.1: a session id "unique and unpredictable": 144 random bits. */
export function newSid(): string {
  return randomBytes(18).toString('base64url');
}

/** Empty request (§12): no payload and nothing else that asks for work. */
function isEmpty(body: XmlElement): boolean {
  return (
    body.children.length === 0 &&
    body.attrs.type === undefined &&
    body.attrs.pause === undefined &&
    xboshAttr(body, 'restart') === undefined
  );
}

/**
 * One BOSH session (XEP-0124): the window of request ids, the requests held for output,
 * the responses kept for replay, and the `BoshTransport` its `XmppSession` writes to.
 */
export class BoshSession {
  readonly sid = newSid();
  readonly transport: BoshTransport;
  xmpp: XmppSession | undefined;
  /** §14.3: the rid whose request is to be processed next. */
  private nextRid: number;
  /** §14.3: requests that came ahead of their turn, by rid. */
  private readonly early = new Map<number, Pending>();
  /** §8: processed requests waiting for output, oldest first. */
  private readonly held: Pending[] = [];
  /** §14.3: the last `requests` responses, for a client that lost one. */
  private readonly answered = new Map<number, string>();
  /** Session attributes go on the first response (§7.1). */
  private created = false;
  private lastEmpty: { at: number; rid: number; answeredEmpty: boolean } | undefined;
  private inactivityTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private terminalCondition: BoshCondition | undefined;

  constructor(
    readonly terms: BoshTerms,
    private readonly creation: { rid: number; to: string; from: string; lang: string; version: string },
    secure: boolean,
    remoteAddress: string,
    maxStanzaBytes: number,
    /** The session is over: the table forgets it a little later. */
    private readonly onEnd: (session: BoshSession) => void,
  ) {
    this.nextRid = creation.rid;
    this.transport = new BoshTransport(
      secure,
      remoteAddress,
      maxStanzaBytes,
      () => this.scheduleFlush(),
      () => this.finish(),
    );
  }

  /** §14: at most `hold` + 1 requests in flight. */
  get requests(): number {
    return this.terms.hold + 1;
  }

  get over(): boolean {
    return this.transport.gone;
  }

  /** The creation request (§7.1): the stream header of XEP-0206 §5. */
  start(body: XmlElement, reply: (xml: string) => void): void {
    this.nextRid++;
    this.transport.activity();
    this.transport.open(this.headerAttrs());
    this.transport.elements(body.getChildren());
    this.hold({ rid: this.creation.rid, body, reply });
  }

  /** A request of this session with id `rid` (§14.3: processed in rid order, replayed when repeated). */
  request(rid: number, body: XmlElement, reply: (xml: string) => void): void {
    const replay = this.answered.get(rid);
    if (replay !== undefined) {
      reply(replay);
      return;
    }
    const waiting = this.held.find((p) => p.rid === rid) ?? this.early.get(rid);
    if (waiting) {
      // The same request again while the first is still open (its connection dropped, say):
      // the newer connection gets the answer; the older one an empty body.
      const old = waiting.reply;
      waiting.reply = reply;
      old(renderBody({}));
      return;
    }
    if (this.over) {
      reply(this.terminalBody());
      return;
    }
    if (rid < this.nextRid || rid >= this.nextRid + this.requests) {
      // §14.3: a rid already answered and forgotten, or beyond the window.
      reply(terminateBody('item-not-found'));
      this.terminate('item-not-found');
      return;
    }
    if (rid > this.nextRid) {
      this.early.set(rid, { rid, body, reply });
      return;
    }
    this.process({ rid, body, reply });
    for (let next = this.early.get(this.nextRid); next; next = this.early.get(this.nextRid)) {
      this.early.delete(next.rid);
      this.process(next);
    }
  }

  /** §17: ends the session with a terminal binding error (or plainly), answering what is held. */
  terminate(condition?: BoshCondition): void {
    if (this.over) return;
    this.terminalCondition ??= condition;
    this.transport.close();
  }

  private process(pending: Pending): void {
    this.nextRid = pending.rid + 1;
    if (this.over) {
      pending.reply(this.terminalBody());
      return;
    }
    const { body } = pending;
    const now = Date.now();
    if (isEmpty(body)) {
      // §11 overactivity: two empty requests closer than `polling`, the first answered empty
      // at once (a poll, or a request pushed out by a newer one), not after `wait`.
      const last = this.lastEmpty;
      if (last?.rid === pending.rid - 1 && last.answeredEmpty && now - last.at < this.terms.polling * 1000) {
        pending.reply(terminateBody('policy-violation'));
        this.terminate('policy-violation');
        return;
      }
      this.lastEmpty = { at: now, rid: pending.rid, answeredEmpty: false };
    } else {
      this.lastEmpty = undefined;
    }
    this.transport.activity();
    if (body.attrs.type === 'terminate') {
      // §13: its payload (unavailable presence, say) first, then the stream's end.
      this.transport.elements(body.getChildren());
      this.transport.streamClose();
    } else if (xboshAttr(body, 'restart') === 'true') {
      // XEP-0206 §6: after SASL success, a new stream; the response carries its features.
      this.transport.open(this.headerAttrs(body));
    } else {
      this.transport.elements(body.getChildren());
    }
    this.hold(pending);
  }

  private hold(pending: Pending): void {
    if (this.inactivityTimer) clearTimeout(this.inactivityTimer);
    this.inactivityTimer = undefined;
    // §8: with nothing to send, answered empty after `wait` seconds.
    pending.timer = setTimeout(() => this.answer(pending, true), this.terms.wait * 1000);
    pending.timer.unref();
    this.held.push(pending);
    this.scheduleFlush();
  }

  /**
   * Output goes out once per turn of the event loop, so what the session writes for one
   * stanza leaves in one response; more than `hold` requests held, the oldest is answered (§8).
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const t = this.transport;
    while (this.held.length > 0 && (t.output.length > 0 || t.ended || this.held.length > this.terms.hold)) {
      const oldest = this.held[0];
      if (oldest) this.answer(oldest);
    }
  }

  private answer(pending: Pending, waited = false): void {
    const at = this.held.indexOf(pending);
    if (at < 0) return;
    this.held.splice(at, 1);
    clearTimeout(pending.timer);
    const t = this.transport;
    const payloads = t.output.splice(0);
    // After the stream's end every response says so, the first one with what was left.
    const attrs = t.ended ? this.terminalAttrs() : {};
    const xml = renderBody({ ...(this.created ? {} : this.creationAttrs()), ...attrs }, payloads);
    this.created = true;
    // §11: only an empty answer before `wait` makes the next empty request a poll too soon.
    if (this.lastEmpty?.rid === pending.rid) this.lastEmpty.answeredEmpty = payloads.length === 0 && !waited;
    this.remember(pending.rid, xml);
    pending.reply(xml);
    if (this.held.length === 0 && !this.over) this.startInactivity();
  }

  /** §14.3: the last `requests` responses are kept, and sent again for a repeated rid. */
  private remember(rid: number, xml: string): void {
    this.answered.set(rid, xml);
    for (const kept of this.answered.keys()) {
      if (this.answered.size <= this.requests) break;
      this.answered.delete(kept);
    }
  }

  private startInactivity(): void {
    // §7.1 `inactivity`: no request held that long, and the client is gone.
    this.inactivityTimer = setTimeout(() => this.terminate(), this.terms.inactivity * 1000);
    this.inactivityTimer.unref();
  }

  /** The transport closed: held requests get the last output and the terminate body. */
  private finish(): void {
    if (this.inactivityTimer) clearTimeout(this.inactivityTimer);
    for (const pending of this.early.values()) pending.reply(this.terminalBody());
    this.early.clear();
    while (this.held[0]) this.answer(this.held[0]);
    this.onEnd(this);
  }

  private terminalAttrs(): Record<string, string | undefined> {
    const condition =
      this.terminalCondition ?? (this.transport.streamError ? 'remote-stream-error' : undefined);
    return { type: 'terminate', condition };
  }

  /** For a request after the end: what is left to say, and the terminate body. */
  private terminalBody(): string {
    return renderBody(this.terminalAttrs(), this.transport.output.splice(0));
  }

  /** XEP-0206 §5, §6: the stream header the creation request (or a restart) stands for. */
  private headerAttrs(body?: XmlElement): Record<string, string> {
    return {
      xmlns: 'jabber:client',
      to: body?.attrs.to ?? this.creation.to,
      version: this.creation.version,
      'xml:lang': this.creation.lang,
    };
  }

  /** §7.1 and XEP-0206 §5: the session creation response's attributes. */
  private creationAttrs(): Record<string, string | undefined> {
    return {
      sid: this.sid,
      wait: String(this.terms.wait),
      requests: String(this.requests),
      hold: String(this.terms.hold),
      polling: String(this.terms.polling),
      inactivity: String(this.terms.inactivity),
      ver: BOSH_VERSION,
      from: this.creation.from,
      authid: this.transport.streamId || undefined,
      'xmpp:version': '1.0',
      'xmpp:restartlogic': 'true',
    };
  }
}
