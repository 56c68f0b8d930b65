import { isPapillonError } from '../../util/errors.ts';
import { randomToken } from '../../util/ids.ts';
import { bareJid, parseJid } from '../../util/jid.ts';
import { xmppResources } from '../modules/message.ts';
import { NS } from '../namespaces.ts';
import { type XmlElement, xml } from '../stream/element.ts';
import { XmppStreamParser } from '../stream/parser.ts';
import { routeStanza, type XmppContext } from './context.ts';
import type { XmppSession } from './session.ts';

/** XEP-0198 §4: the 'h' counters are unsigned 32-bit integers that wrap. */
const WRAP = 2 ** 32;
/**
 * Ask the client to acknowledge once this many stanzas wait for it … (each `<r/>` costs a
 * write and the client's `<a/>` a read: asking for every few stanzas made stream
 * management cost a third of the message throughput; XEP-0198 leaves the pace to us).
 */
const REQUEST_AT = 10;
/** … or this long after the first one went out. */
const REQUEST_DELAY_MS = 5_000;
/** A client that never acknowledges would make us keep everything: past this, the stream ends. */
const MAX_UNACKED = 5_000;

/** Sessions that may be resumed, by stream-management id, per listener context (this node only). */
const resumable = new WeakMap<XmppContext, Map<string, XmppSession>>();

function registry(ctx: XmppContext): Map<string, XmppSession> {
  let map = resumable.get(ctx);
  if (!map) {
    map = new Map();
    resumable.set(ctx, map);
  }
  return map;
}

/** True when serialized XML is a stanza (XEP-0198 counts only those, RFC 6120 §8). */
function isStanzaXml(data: string): boolean {
  const next = (at: number) => {
    const c = data.charCodeAt(at);
    return c === 0x20 || c === 0x3e || c === 0x2f; // ' ', '>', '/'
  };
  if (data.startsWith('<message')) return next(8);
  if (data.startsWith('<presence')) return next(9);
  return data.startsWith('<iq') && next(3);
}

/** Stanzas whose sender waits for the client's acknowledgement (`onAcknowledged`). */
interface AckWaiter {
  /** The first and last of them, counted from the stream's start without wrapping. */
  from: number;
  to: number;
  done: (acked: boolean) => void;
}

/**
 * XEP-0198 state of one session, created by `<enable/>`: counts the stanzas it handled
 * (`inbound`, reported in `<a/>`), keeps the ones it sent until the client acknowledges
 * them, and, when resumable, outlives the TCP connection for `resumeMs`.
 */
export class StreamManagement {
  inbound = 0;
  /** The client's last 'h': stanzas of ours it has handled. */
  private acked = 0;
  /** Sent and not acknowledged, oldest first: `unacked[i]` is stanza number `acked + i + 1`. */
  private unacked: string[] = [];
  /** Stanzas acknowledged since `<enable/>`, not wrapped (the waiters' scale). */
  private ackedTotal = 0;
  private waiters: AckWaiter[] = [];
  private requested = false;
  private requestTimer: NodeJS.Timeout | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly s: XmppSession,
    /** Set when the session may be resumed (XEP-0198 §5). */
    readonly id: string | undefined,
    readonly resumeMs: number,
  ) {}

  /** A stanza from the client was handled. */
  handled(): void {
    this.inbound = (this.inbound + 1) % WRAP;
  }

  /** Every write of the session passes here; stanzas are kept until acknowledged. */
  sent(data: string): void {
    if (!isStanzaXml(data)) return;
    this.unacked.push(data);
    if (this.unacked.length > MAX_UNACKED) {
      this.s.log.info({ unacked: this.unacked.length }, 'stream management: the client does not acknowledge');
      this.s.streamError('resource-constraint', 'too many unacknowledged stanzas');
      return;
    }
    if (this.requested || this.s.detached) return;
    if (this.unacked.length >= REQUEST_AT) this.request();
    else if (!this.requestTimer) {
      this.requestTimer = setTimeout(() => this.request(), REQUEST_DELAY_MS);
      this.requestTimer.unref();
    }
  }

  /** §4: `<r/>`, once at a time, when something waits for acknowledgement. */
  private request(): void {
    this.clearRequestTimer();
    if (this.requested || this.unacked.length === 0 || this.s.detached) return;
    this.requested = true;
    this.s.write(`<r xmlns='${NS.sm}'/>`);
  }

  private clearRequestTimer(): void {
    if (this.requestTimer) clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
  }

  /** The client handled our stanzas up to `h`; false when it claims more than we sent (§4). */
  acknowledge(h: number): boolean {
    const count = (h - this.acked + WRAP) % WRAP;
    if (count > this.unacked.length) return false;
    this.unacked.splice(0, count);
    this.acked = h;
    this.ackedTotal += count;
    if (this.waiters.length > 0) this.settleWaiters();
    // The answer to our `<r/>` (or one the client volunteered): what is still unacknowledged,
    // and what comes next, is asked about again.
    if (this.requested && !this.s.detached) {
      this.requested = false;
      if (this.unacked.length >= REQUEST_AT || this.waiters.length > 0) this.request();
      else if (this.unacked.length > 0 && !this.requestTimer) {
        this.requestTimer = setTimeout(() => this.request(), REQUEST_DELAY_MS);
        this.requestTimer.unref();
      }
    }
    return true;
  }

  /**
   * The last `count` stanzas sent are the caller's (offline messages, modules/offline.ts):
   * `done(true)` once the client acknowledged them all, `done(false)` if the session ends
   * first. Either way they are never `rescueUnacked`'s: their owner keeps them. The client
   * is asked at once rather than after the usual pace.
   */
  onAcknowledged(count: number, done: (acked: boolean) => void): void {
    const to = this.sentTotal;
    const from = to - Math.min(count, this.unacked.length) + 1;
    if (from > to) {
      done(true);
      return;
    }
    this.waiters.push({ from, to, done });
    this.request();
  }

  private settleWaiters(): void {
    const [acked, waiting] = partition(this.waiters, (w) => w.to <= this.ackedTotal);
    this.waiters = waiting;
    for (const w of acked) w.done(true);
  }

  /** What the client has not acknowledged is sent again (after resumption, §5). */
  resend(): void {
    this.requested = false;
    for (const data of this.unacked) this.s.write(data);
    if (this.unacked.length > 0) this.request();
  }

  /** Stanzas sent since `<enable/>`, not wrapped: what the caller of `onAcknowledged` counts with. */
  get sentTotal(): number {
    return this.ackedTotal + this.unacked.length;
  }

  get sentCount(): number {
    return (this.acked + this.unacked.length) % WRAP;
  }

  /** The connection is gone: wait `resumeMs` for the client to come back. */
  hibernate(expire: () => void): void {
    this.clearRequestTimer();
    this.requested = false;
    this.resumeTimer = setTimeout(expire, this.resumeMs);
    this.resumeTimer.unref();
  }

  wake(): void {
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
  }

  /** The session is over: takes what the client never acknowledged (but the waiters' stanzas, given back to them). */
  finish(): string[] {
    this.wake();
    this.clearRequestTimer();
    if (this.id !== undefined && registry(this.s.ctx).get(this.id) === this.s)
      registry(this.s.ctx).delete(this.id);
    const waiters = this.waiters.splice(0);
    const first = this.ackedTotal + 1;
    const unacked = this.unacked.splice(0);
    const owned = (i: number) => waiters.some((w) => first + i >= w.from && first + i <= w.to);
    for (const w of waiters) w.done(false);
    return waiters.length === 0 ? unacked : unacked.filter((_, i) => !owned(i));
  }
}

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}

const failed = (condition: string, extra: Record<string, string> = {}) =>
  xml('failed', { xmlns: NS.sm, ...extra }, xml(condition, { xmlns: NS.stanzas }));

/** An XEP-0198 element from the client (`<enable/>`, `<resume/>`, `<r/>`, `<a/>`). */
export async function handleStreamManagement(s: XmppSession, el: XmlElement): Promise<void> {
  switch (el.name) {
    case 'enable':
      return enable(s, el);
    case 'resume':
      // §5: only on a new stream, authenticated and not bound.
      if (s.state !== 'authenticated') return s.send(failed('unexpected-request'));
      return resume(s, el);
    case 'r':
      if (!s.sm) return s.send(failed('unexpected-request'));
      return s.write(`<a xmlns='${NS.sm}' h='${s.sm.inbound}'/>`);
    case 'a': {
      if (!s.sm) return;
      const h = counter(el.attrs.h);
      if (h === undefined) return s.streamError('invalid-xml', "'h' must be a number");
      if (!s.sm.acknowledge(h)) return handledTooHigh(s, h);
      return;
    }
    default:
      return s.streamError('unsupported-stanza-type', `<${el.name}/> is not XEP-0198`);
  }
}

function counter(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n < WRAP ? n : undefined;
}

/** §4: the client acknowledged stanzas we never sent. */
function handledTooHigh(s: XmppSession, h: number): void {
  s.streamError(
    'undefined-condition',
    undefined,
    xml('handled-count-too-high', { xmlns: NS.sm, h: String(h), 'send-count': String(s.sm?.sentCount ?? 0) }),
  );
}

/** §3: after resource binding, once per stream; with resume='true', the session outlives its connection. */
function enable(s: XmppSession, el: XmlElement): void {
  if (s.state !== 'bound' || s.sm) {
    s.send(failed('unexpected-request'));
    return;
  }
  const wantsResume = el.attrs.resume === 'true' || el.attrs.resume === '1';
  // §5: the client's preferred maximum, if shorter than ours.
  const preferred = counter(el.attrs.max);
  const resumeMs = Math.min(s.ctx.resumeTimeoutMs, preferred !== undefined ? preferred * 1000 : Infinity);
  const id = wantsResume && resumeMs > 0 ? randomToken(16) : undefined;
  s.sm = new StreamManagement(s, id, resumeMs);
  if (id !== undefined) registry(s.ctx).set(id, s);
  s.send(
    xml('enabled', {
      xmlns: NS.sm,
      ...(id !== undefined ? { id, resume: 'true', max: String(Math.floor(resumeMs / 1000)) } : {}),
    }),
  );
  s.log.debug({ resumable: id !== undefined }, 'stream management enabled');
}

/** §5: a new stream of the same account takes over a session whose connection dropped. */
async function resume(s: XmppSession, el: XmlElement): Promise<void> {
  const previous = el.attrs.previd ? registry(s.ctx).get(el.attrs.previd) : undefined;
  const h = counter(el.attrs.h);
  if (h === undefined) return s.send(failed('bad-request'));
  if (!previous?.sm || previous.account?.id !== s.account?.id || previous.state === 'closed') {
    return s.send(failed('item-not-found'));
  }
  const outcome = await previous.resumeWith(s, h);
  if (outcome === 'gone') return s.send(failed('item-not-found'));
  if (outcome === 'too-high') {
    s.send(failed('undefined-condition', { h: String(previous.sm?.inbound ?? 0) }));
  }
}

/** Sends `<resumed/>` and what the client missed, once the session has its new connection. */
export function resumed(s: XmppSession, sm: StreamManagement): void {
  s.write(xml('resumed', { xmlns: NS.sm, previd: sm.id, h: String(sm.inbound) }).toString());
  sm.resend();
}

/**
 * When a session ends with stanzas the client never acknowledged, the messages among
 * them are not lost (XEP-0198 §5 leaves it to the server): they go to the account's
 * other available resources, or to offline storage (XEP-0160) for the next sign-in.
 */
export async function rescueUnacked(s: XmppSession, stanzas: readonly string[]): Promise<void> {
  const account = s.account;
  if (!account) return;
  const core = s.ctx.core;
  let others: string[] | undefined;
  let rescued = 0;
  for (const data of stanzas) {
    if (!data.startsWith('<message')) continue;
    const el = parseStanza(data);
    const type = el?.attrs.type ?? 'normal';
    const body = el?.getChildText('body');
    if (!el || (type !== 'chat' && type !== 'normal') || body === undefined) continue;
    // A carbon copy: the original reached the resource it was for (XEP-0280).
    if (el.getChild('sent', NS.carbons) || el.getChild('received', NS.carbons)) continue;
    el.attrs.to = account.handle;
    others ??= (await xmppResources(core, account.id))
      .filter((r) => r.available && r.priority >= 0 && r.resource !== s.resource)
      .map((r) => r.resource);
    try {
      if (others.length > 0) await routeStanza(core, account.id, el, others);
      else {
        const from = parseJid(el.attrs.from ?? '');
        const senderHandle = from ? bareJid(from) : s.ctx.domain;
        const sender = from?.local ? await core.accounts.find(senderHandle) : undefined;
        const subject = el.getChildText('subject');
        await core.offline.save(account.id, senderHandle, {
          kind: type,
          text: body,
          ...(subject !== undefined ? { subject } : {}),
          ...(sender ? { senderName: sender.displayName } : {}),
          xml: el.toString(),
        });
      }
      rescued++;
    } catch (err) {
      if (!isPapillonError(err, 'conflict')) throw err;
      s.log.warn({ err: err.message }, 'an unacknowledged message could not be kept');
    }
  }
  if (rescued > 0)
    s.log.info({ rescued, toResources: others?.length ?? 0 }, 'unacknowledged messages rescued');
}

/** One serialized stanza back into an element (our own output, so it parses). */
function parseStanza(data: string): XmlElement | undefined {
  let out: XmlElement | undefined;
  const parser = new XmppStreamParser(
    { streamOpen: () => {}, stanza: (el) => (out ??= el), streamClose: () => {}, error: () => {} },
    { maxStanzaBytes: Buffer.byteLength(data) + 1024 },
  );
  parser.write(Buffer.from(`<stream:stream xmlns='${NS.client}' xmlns:stream='${NS.streams}'>${data}`));
  return out;
}

/** Server shutdown: sessions waiting for their client end too (returned, to wait for their cleanup). */
export function shutdownResumable(ctx: XmppContext): XmppSession[] {
  const waiting = [...registry(ctx).values()];
  for (const s of waiting) s.shutdown();
  return waiting;
}
