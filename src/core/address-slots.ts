import { addressKey } from './login-throttle.ts';

/** The warn level of a pino logger: all this uses. */
export interface SlotsLog {
  warn(fields: object, message: string): void;
}

/** A place one connection holds until it signs in or closes. `release` may be called any number of times. */
export interface AddressSlot {
  release(): void;
}

interface Holder {
  /** False once the connection signed in (looked at only when the address is at its limit). */
  readonly unauthenticated: () => boolean;
}

interface Holders {
  readonly held: Set<Holder>;
  /** Refused since the last line logged for this address. */
  refused: number;
  loggedAt: number;
}

const REFUSAL_LOG_INTERVAL_MS = 60_000;

/**
 * Issue 13: the connections one address (an IPv6 /64, `addressKey`) holds open without
 * having signed in, bounded. 990 idle connections from one host took every descriptor
 * and every new log-in on every protocol failed; with a cap per address, one host can
 * hold at most `limit` of them and the log-in deadline frees those soon. Signed-in
 * connections do not count: users behind one NAT are not limited by it.
 *
 * One instance per protocol listener family (XMPP's TCP, TLS and WebSocket share one).
 */
export class AddressSlots {
  private readonly byAddress = new Map<string, Holders>();

  constructor(
    /** Connections one address may hold before signing in; 0: no limit. */
    readonly limit: number,
    private readonly log: SlotsLog,
    /** For the log line: `XMPP`, `MSNP`. */
    private readonly what: string,
  ) {}

  /** How many slots the address holds (tests, metrics). */
  held(address: string | undefined): number {
    return this.byAddress.get(addressKey(address))?.held.size ?? 0;
  }

  /**
   * A slot for a new connection from `address`, or undefined when it already holds
   * `limit`: the caller refuses the connection. The refusal is logged once, then at most
   * once a minute per address with the count, so a flood does not flood the log.
   *
   * The caller releases the slot when the connection signs in or closes; where it cannot
   * tell when it signs in, `unauthenticated` says, and is asked when the address is full.
   */
  take(address: string | undefined, unauthenticated: () => boolean = () => true): AddressSlot | undefined {
    const key = addressKey(address);
    let holders = this.byAddress.get(key);
    if (holders && this.limit > 0 && holders.held.size >= this.limit) {
      for (const holder of holders.held) if (!holder.unauthenticated()) holders.held.delete(holder);
    }
    if (holders && this.limit > 0 && holders.held.size >= this.limit) {
      holders.refused++;
      const now = Date.now();
      if (now - holders.loggedAt >= REFUSAL_LOG_INTERVAL_MS) {
        this.log.warn(
          { client: address, limit: this.limit, refused: holders.refused },
          `${this.what}: ${key} holds ${holders.held.size} connections not signed in (the limit); refused ${holders.refused} more`,
        );
        holders.loggedAt = now;
        holders.refused = 0;
      }
      return undefined;
    }
    if (!holders) {
      holders = { held: new Set(), refused: 0, loggedAt: 0 };
      this.byAddress.set(key, holders);
    }
    const mine = holders;
    const holder: Holder = { unauthenticated };
    mine.held.add(holder);
    return {
      release: () => {
        if (mine.held.delete(holder) && mine.held.size === 0) this.forget(key, mine);
      },
    };
  }

  /**
   * An address no longer holding any: forgotten, but one refused within the minute only
   * once the minute is over, so closing and reopening does not buy a new log line.
   */
  private forget(key: string, holders: Holders): void {
    const wait = holders.loggedAt + REFUSAL_LOG_INTERVAL_MS - Date.now();
    const drop = () => {
      if (holders.held.size === 0 && this.byAddress.get(key) === holders) this.byAddress.delete(key);
    };
    if (wait <= 0) drop();
    else setTimeout(drop, wait).unref();
  }
}
