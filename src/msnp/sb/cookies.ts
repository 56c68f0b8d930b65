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

  private sweep(): void {
    if (this.entries.size < 1024) return;
    const now = this.clock();
    for (const [cookie, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(cookie);
  }
}
