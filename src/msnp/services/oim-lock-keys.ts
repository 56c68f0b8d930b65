import { AtMostEvery } from '../../util/at-most-every.ts';
import { checkQry, newChallenge, PRODUCT_KEYS } from '../challenge.ts';

/** How long one account's lock-key challenge stays good: clients keep the answer for the sign-in. */
const CHALLENGE_LIFETIME_MS = 24 * 60 * 60 * 1000;

/**
 * The OIM lock key (MSNP wiki "OIM", "Sending"): the first Store2 of a sender is
 * refused with a `LockKeyChallenge`; the client answers it with the MSNP11+ CHL
 * algorithm under the product id it names in `Ticket appid` and sends the answer as
 * `lockkey` from then on. One challenge per account, kept in memory: after a restart,
 * or on another node, the client is simply challenged again, which Pidgin
 * (msn_oim_send_read_cb) and msn-pecan (process_body_send) both handle by resending.
 */
export class OimLockKeys {
  readonly #challenges = new Map<string, { challenge: string; expiresAt: number }>();
  readonly #purge = new AtMostEvery(60_000);

  constructor(private readonly clock: () => number = Date.now) {}

  /** Whether the product id is one whose key we know (otherwise no answer can be checked). */
  static knows(productId: string): boolean {
    return PRODUCT_KEYS.get(productId)?.algorithm === 'msnp11';
  }

  /** The account's current challenge, made on first use. */
  challenge(accountId: string): string {
    const now = this.clock();
    if (this.#purge.due(now)) {
      for (const [id, entry] of this.#challenges) if (entry.expiresAt <= now) this.#challenges.delete(id);
    }
    const current = this.#challenges.get(accountId);
    if (current && current.expiresAt > now) return current.challenge;
    const fresh = { challenge: newChallenge(), expiresAt: now + CHALLENGE_LIFETIME_MS };
    this.#challenges.set(accountId, fresh);
    return fresh.challenge;
  }

  /** Whether `lockKey` answers the account's live challenge for `productId`. Never trusts the client. */
  check(accountId: string, productId: string, lockKey: string): boolean {
    const current = this.#challenges.get(accountId);
    if (!current || current.expiresAt <= this.clock() || lockKey === '') return false;
    // MSNP11+ rules (challenge.ts): 15 stands for any version that uses this algorithm.
    return checkQry(15, current.challenge, productId, lockKey);
  }
}
