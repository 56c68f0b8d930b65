import { randomBytes } from 'node:crypto';

/** What a switchboard cookie admits: a new conversation (XFR SB) or an invitation (RNG). */
export type SbTicket = {
  accountId: string;
  /** The MSNP version the notification session negotiated (the switchboard has no VER). */
  dialectVersion: number;
  /** The client id (capabilities) from the notification session's last CHG. */
  clientId: string;
  /** MSNP16+ extended capabilities from the same CHG. */
  extCaps?: string;
  /** MSNP16+: the endpoint's machine GUID, shown as `handle;{guid}` in the switchboard. */
  machineGuid?: string;
  /** The notification session's endpoint (not rung when it calls its own other endpoints). */
  nsEndpointId?: string;
} & ({ kind: 'create' } | { kind: 'answer'; conversationId: string });

interface Entry {
  ticket: SbTicket;
  expiresAt: number;
}

/**
 * Single-use switchboard cookies (`XFR … CKI cookie`, `RNG … CKI cookie`;
 * docs/msnp-reference.md §12), valid at the switchboard of the node that issued them
 * (held in its memory). `XFR SB` sends a client to its own node's switchboard; an `RNG`
 * into a conversation another node hosts carries the cookie that node issued
 * (sb/answer-cookies.ts).
 */
export class SbCookies {
  private readonly entries = new Map<string, Entry>();
  /** Cookies another node issued that this node passed on in an `RNG`, with the switchboard it named. */
  private readonly referrals = new Map<string, { address: string; expiresAt: number }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  issue(ticket: SbTicket): string {
    this.sweep();
    // COMPAT: the real service's cookies looked like "17262740.1050826919.32308"; clients
    // treat them as opaque, but keep them free of spaces and within that alphabet.
    const raw = randomBytes(12);
    const cookie = `${raw.readUInt32BE(0)}.${raw.readUInt32BE(4)}.${raw.readUInt32BE(8)}`;
    this.entries.set(cookie, { ticket, expiresAt: this.clock() + this.ttlMs });
    return cookie;
  }

  /** Returns the ticket once; an unknown, used or expired cookie gives undefined. */
  take(cookie: string): SbTicket | undefined {
    const entry = this.entries.get(cookie);
    if (!entry) return undefined;
    this.entries.delete(cookie);
    return entry.expiresAt > this.clock() ? entry.ticket : undefined;
  }

  /**
   * Notes that this node rang a client into another node's switchboard at `address`
   * (`host:port`) with `cookie`, which that node issued: the HTTP gateway carries the
   * client's `ANS` there (gateway/sb-relay.ts). Kept as long as a cookie of this node.
   */
  referred(cookie: string, address: string): void {
    this.sweep();
    this.referrals.set(cookie, { address, expiresAt: this.clock() + this.ttlMs });
  }

  /**
   * The switchboard a `referred` cookie belongs to; undefined for any other cookie. Not
   * used up (a refused gateway open is tried again): the switchboard that issued the
   * cookie admits it once.
   */
  referralOf(cookie: string): string | undefined {
    const entry = this.referrals.get(cookie);
    return entry && entry.expiresAt > this.clock() ? entry.address : undefined;
  }

  private sweep(): void {
    const now = this.clock();
    if (this.entries.size >= 1024) {
      for (const [cookie, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(cookie);
    }
    if (this.referrals.size >= 1024) {
      for (const [cookie, entry] of this.referrals) if (entry.expiresAt <= now) this.referrals.delete(cookie);
    }
  }
}
