import { type AddressSlot, AddressSlots } from '../../core/address-slots.ts';
import { addressKey } from '../../core/login-throttle.ts';
import type { Logger } from '../../server/logger.ts';
import { AtMostEvery } from '../../util/at-most-every.ts';
import type { BoshSession } from './bosh-session.ts';

export interface BoshLimits {
  /** Live BOSH sessions on this node; creations beyond it are refused. */
  maxSessions?: number;
  /** Sessions one address (an IPv6 /64) may hold before they sign in. */
  maxUnauthenticatedPerAddress?: number;
  /** Requests per second one address may make, on average… */
  requestsPerSecond?: number;
  /** …and at once. */
  requestBurst?: number;
  /** How long an ended session still answers (its replays, its terminate body). */
  lingerMs?: number;
}

export const DEFAULT_MAX_BOSH_SESSIONS = 5_000;
/** As the MSNP gateway's (issue 13): a client signs in within a few requests. */
export const DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS = 32;
/**
 * A BOSH client keeps one or two requests open and makes a new one per answer: a few a
 * second while chatting. Many users behind one NAT share the allowance.
 */
const DEFAULT_REQUESTS_PER_SECOND = 20;
const DEFAULT_REQUEST_BURST = 100;

/** Why a session or a request was refused. */
export type BoshRefusal = 'full' | 'address-limit' | 'rate-limit';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * The BOSH sessions of this node by `sid`, shared by the HTTP and HTTPS apps, with the
 * limits of issue 12: a cap on sessions, on sessions per address not signed in, and on
 * requests per address (a token bucket).
 */
export class BoshSessionTable {
  private readonly sessions = new Map<string, BoshSession>();
  /** Each live session's place among its address's sessions not signed in. */
  private readonly places = new Map<BoshSession, AddressSlot>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxSessions: number;
  private readonly preauth: AddressSlots;
  private readonly rate: number;
  private readonly burst: number;
  readonly lingerMs: number;
  private readonly refusalLog = new AtMostEvery(60_000);
  private refused = 0;

  constructor(
    private readonly log: Logger,
    limits: BoshLimits = {},
  ) {
    this.maxSessions = limits.maxSessions ?? DEFAULT_MAX_BOSH_SESSIONS;
    this.preauth = new AddressSlots(
      limits.maxUnauthenticatedPerAddress ?? DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS,
      log,
      'BOSH',
    );
    this.rate = limits.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND;
    this.burst = limits.requestBurst ?? DEFAULT_REQUEST_BURST;
    this.lingerMs = limits.lingerMs ?? 10_000;
  }

  get size(): number {
    return this.sessions.size;
  }

  get(sid: string): BoshSession | undefined {
    return this.sessions.get(sid);
  }

  /**
   * A place for a new session from `address`, held until it ends (`unauthenticated` says
   * whether it has signed in yet), or why `address` may not create one now. Only live
   * sessions count, not ended ones still answering replays.
   */
  admit(address: string, unauthenticated: () => boolean): AddressSlot | BoshRefusal {
    if (this.places.size >= this.maxSessions) {
      this.refusedOne('full', address);
      return 'full';
    }
    return this.preauth.take(address, unauthenticated) ?? 'address-limit';
  }

  /** One more request from `address`: false when it goes over its rate. */
  allowRequest(address: string, now = Date.now()): boolean {
    const key = addressKey(address);
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 10_000) this.sweep(now);
    if (bucket.tokens < 1) {
      this.refusedOne('rate-limit', address);
      return false;
    }
    bucket.tokens -= 1;
    return true;
  }

  add(session: BoshSession, place: AddressSlot): void {
    this.sessions.set(session.sid, session);
    this.places.set(session, place);
  }

  /** An ended session answers a little longer (§14.3 replays), then is forgotten. */
  ended(session: BoshSession): void {
    this.places.get(session)?.release();
    this.places.delete(session);
    setTimeout(() => this.sessions.delete(session.sid), this.lingerMs).unref();
  }

  /** Server shutdown: every session gets `<system-shutdown/>` (RFC 6120 §4.9.3.19) and its held requests their answer. */
  closeAll(): void {
    for (const s of this.sessions.values()) {
      if (s.xmpp) s.xmpp.shutdown();
      s.terminate('system-shutdown');
    }
    this.sessions.clear();
    this.places.clear();
  }

  /** Full buckets say nothing a fresh one would not. */
  private sweep(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(key);
    }
  }

  private refusedOne(reason: BoshRefusal, address: string): void {
    this.refused++;
    if (!this.refusalLog.due(Date.now())) return;
    this.log.warn(
      { reason, address, refused: this.refused, sessions: this.sessions.size },
      'BOSH sessions or requests refused (limits: sessions, per address, request rate)',
    );
    this.refused = 0;
  }
}
