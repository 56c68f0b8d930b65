import type { AccountRow, Privacy, Store } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';
import { normalizeHandle, parseHandle } from '../util/handle.ts';
import { newId } from '../util/ids.ts';
import { hasControlCharacters } from '../util/text.ts';
import type { Credentials } from './credentials.ts';
import type { DomainEvents } from './events.ts';
import { checkPassword } from './password-policy.ts';
import type { Presence } from './presence.ts';

/**
 * MSN's friendly-name limit: 129 characters (MSNP `REA`/`PRP MFN` answer 209 beyond
 * it); control characters would break MSNP lines and are not allowed in XML 1.0.
 */
export const MAX_DISPLAY_NAME_LENGTH = 129;

export function checkDisplayName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw new PapillonError('bad-display-name', 'display name is empty');
  if ([...trimmed].length > MAX_DISPLAY_NAME_LENGTH) {
    throw new PapillonError(
      'bad-display-name',
      `display name is longer than ${MAX_DISPLAY_NAME_LENGTH} characters`,
    );
  }
  if (hasControlCharacters(trimmed)) {
    throw new PapillonError('bad-display-name', 'display name contains control characters');
  }
  return trimmed;
}

/** Profile property names: lower-case dotted words (`phone.home`); values up to 1 KiB. */
const PROPERTY_NAME = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/;
export const MAX_PROPERTY_BYTES = 1024;

export interface NewAccountInput {
  handle: string;
  password: string;
  displayName?: string | undefined;
  /** 'allow-list' unless given (MSN `BLP AL` is 'allow-all'). */
  privacy?: Privacy | undefined;
}

export class Accounts {
  constructor(
    private readonly store: Store,
    private readonly credentials: Credentials,
    private readonly events: DomainEvents,
    private readonly presence: Presence,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Validates everything before the (slow) password hashing, then stores atomically. */
  async create(input: NewAccountInput): Promise<AccountRow> {
    const handle = parseHandle(input.handle);
    const displayName = checkDisplayName(input.displayName ?? handle);
    checkPassword(input.password, handle);
    if (await this.store.getAccountByHandle(handle)) {
      throw new PapillonError('handle-taken', `an account named ${handle} already exists`);
    }
    const credentials = await this.credentials.forPassword(input.password);
    return this.store.createAccount(
      // Nobody sees an account's presence without its approval (RFC 6121 §3.1.3: every
      // request is asked). MSN's open mode (BLP AL) stays the user's explicit choice.
      { id: newId(), handle, displayName, privacy: input.privacy ?? 'allow-list', createdAt: this.clock() },
      credentials,
    );
  }

  async get(handle: string): Promise<AccountRow> {
    const account = await this.store.getAccountByHandle(parseHandle(handle));
    if (!account) throw new PapillonError('no-such-account', `no account named ${normalizeHandle(handle)}`);
    return account;
  }

  find(handle: string): Promise<AccountRow | undefined> {
    return this.store.getAccountByHandle(normalizeHandle(handle));
  }

  findById(id: string): Promise<AccountRow | undefined> {
    return this.store.getAccountById(id);
  }

  list(): Promise<AccountRow[]> {
    return this.store.listAccounts();
  }

  async changePassword(handle: string, password: string): Promise<void> {
    const account = await this.get(handle);
    checkPassword(password, account.handle);
    await this.store.setCredentials(account.id, await this.credentials.forPassword(password));
  }

  async setDisplayName(accountId: string, name: string): Promise<AccountRow> {
    const displayName = checkDisplayName(name);
    // Unchanged (an XMPP vCard set repeats the FN; clients re-send REA/PRP MFN at sign-in):
    // nothing to store, and watchers need not hear it again.
    const current = await this.store.getAccountById(accountId);
    if (current?.displayName === displayName) return current;
    const updated = await this.store.updateAccount(accountId, { displayName });
    if (!updated) throw new PapillonError('no-such-account', 'no such account');
    // Watchers show the display name with the presence, so they hear of the change.
    await this.presence.broadcast(updated);
    return updated;
  }

  /** The account's profile properties, or only the named ones. */
  properties(accountId: string, names?: readonly string[]): Promise<Record<string, string>> {
    return this.store.getProperties(accountId, names);
  }

  /**
   * Sets (or, with null or an empty value, clears) a profile property such as
   * `phone.home`. `maxBytes` is raised only for properties that hold documents
   * (the vCard, with its photo).
   */
  async setProperty(
    accountId: string,
    name: string,
    value: string | null,
    maxBytes = MAX_PROPERTY_BYTES,
  ): Promise<void> {
    if (!PROPERTY_NAME.test(name) || name.length > 64) {
      throw new PapillonError('conflict', `bad property name ${JSON.stringify(name)}`);
    }
    if (value !== null && Buffer.byteLength(value) > maxBytes) {
      throw new PapillonError('conflict', `property ${name} is longer than ${maxBytes} bytes`);
    }
    // Control characters (other than the white space a document may hold) are refused.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
    if (value !== null && /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value)) {
      throw new PapillonError('conflict', `property ${name} contains control characters`);
    }
    await this.store.setProperty(accountId, name, value === '' ? null : value);
  }

  /**
   * Deletes the account and everything attached to it. Its endpoints are told to
   * sign out first; contacts see it go offline and drop off their reverse lists.
   */
  async delete(handle: string): Promise<AccountRow> {
    const account = await this.get(handle);
    const watchers = await this.store.listRelationshipsTo(account.id);
    await this.events.publish(account.id, { type: 'sign-out', endpointId: null, reason: 'account-deleted' });
    await this.store.deleteAccount(account.id);
    // Their versions moved with the delete (store.deleteAccount); read them in one query.
    const owners = await this.store.getAccountsByIds(watchers.map((row) => row.ownerId));
    for (const owner of owners) {
      await this.events.publish(owner.id, {
        type: 'lists-changed',
        listVersion: owner.listVersion,
        contactId: account.id,
      });
    }
    return account;
  }
}
