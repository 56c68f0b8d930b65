/**
 * The signed-in sessions of this node, whatever their protocol: what `papillon status`
 * and `papillon sessions` show. Each protocol adds a session once it is signed in and
 * removes it when it ends. Acting on sessions (kick, broadcast) goes through domain
 * events instead, so it reaches endpoints on every node.
 */
export interface LiveSession {
  accountId: string;
  handle: string;
  endpointId: string;
  protocol: 'msnp' | 'xmpp';
  /** `MSNP18`, or the XMPP resource. */
  detail: string;
  /** The client's IP address. */
  address: string;
  /** Milliseconds since the epoch. */
  since: number;
}

export class LiveSessions {
  private readonly byKey = new Map<string, LiveSession>();

  add(session: LiveSession): void {
    this.byKey.set(`${session.accountId} ${session.endpointId}`, { ...session });
  }

  remove(accountId: string, endpointId: string): void {
    this.byKey.delete(`${accountId} ${endpointId}`);
  }

  list(): LiveSession[] {
    return [...this.byKey.values()].map((s) => ({ ...s }));
  }

  /** The accounts with at least one session here. */
  accountIds(): Set<string> {
    return new Set([...this.byKey.values()].map((s) => s.accountId));
  }
}
