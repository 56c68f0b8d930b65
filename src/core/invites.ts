import { randomBytes } from 'node:crypto';
import type { SignupInviteRow, Store } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';
import { randomToken } from '../util/ids.ts';
import { hashToken } from './tickets.ts';

/** How long a link works unless the operator says otherwise (`papillon invite --expires`). */
export const DEFAULT_INVITE_MS = 7 * 24 * 60 * 60 * 1000;
/** Longer than a year is a standing code, which `signupInviteCode` already is. */
export const MAX_INVITE_MS = 366 * 24 * 60 * 60 * 1000;

/** A link just made: its token is shown this once (the store keeps only its hash). */
export interface CreatedInvite {
  token: string;
  invite: SignupInviteRow;
}

/**
 * Per-person invitation links for `signup: invite`: each makes one account, then stops
 * working, and each expires. A link that could not make its account (name taken, weak
 * password) is released, so the person can try again with it.
 */
export class Invites {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(options: { expiresInMs?: number; createdBy?: string | null } = {}): Promise<CreatedInvite> {
    const lifetime = options.expiresInMs ?? DEFAULT_INVITE_MS;
    if (!Number.isFinite(lifetime) || lifetime <= 0 || lifetime > MAX_INVITE_MS) {
      throw new PapillonError('conflict', 'an invitation must expire within 366 days');
    }
    const now = this.clock();
    const token = randomToken(24);
    const invite: SignupInviteRow = {
      // Hex: a listed id never begins with `-`, so `papillon invite --revoke <id>` reads it as a value.
      id: randomBytes(6).toString('hex'),
      tokenHash: hashToken(token),
      createdAt: now,
      expiresAt: now + lifetime,
      createdBy: options.createdBy ?? null,
      usedAt: null,
      usedBy: null,
    };
    await this.store.createSignupInvite(invite);
    return { token, invite };
  }

  /** Newest first. */
  list(): Promise<SignupInviteRow[]> {
    return this.store.listSignupInvites();
  }

  /** Takes the link for the account `handle` is about to be; false when it is used, expired or unknown. */
  claim(token: string, handle: string): Promise<boolean> {
    if (token === '' || token.length > 256) return Promise.resolve(false);
    return this.store.claimSignupInvite(hashToken(token), this.clock(), handle);
  }

  /** The account a claimed link was for could not be made: the link works again. */
  release(token: string): Promise<void> {
    return this.store.releaseSignupInvite(hashToken(token));
  }

  /** Withdraws a link by its listed id; false when there is none. */
  withdraw(id: string): Promise<boolean> {
    return this.store.deleteSignupInvite(id);
  }

  /** Whether a listed invite can still be used. */
  isOpen(invite: SignupInviteRow): boolean {
    return invite.usedAt === null && invite.expiresAt > this.clock();
  }
}
