import { Credentials } from '../core/credentials.ts';
import { legacyHashOfScram, partialCredentials } from '../core/legacy-hash.ts';
import type { PasswordCredentials, RelationshipPatch, Store } from '../store/types.ts';
import { isPapillonError } from '../util/errors.ts';
import { isValidHandle, normalizeHandle } from '../util/handle.ts';
import { newId } from '../util/ids.ts';
import { VCARD_PROPERTY } from './collect.ts';
import type { ContactLists, PortableAccount, PortableContact, PortableCredentials } from './model.ts';

export interface ImportReport {
  /** Handles of the accounts created. */
  created: string[];
  /** Accounts left alone because the handle exists already. */
  existing: string[];
  /** Entries that are not accounts Papillon can hold, with why. */
  rejected: Array<{ handle: string; reason: string }>;
  contacts: number;
  /** Contacts that are no account here (another server's users): not imported. */
  skippedContacts: number;
  offline: number;
}

/**
 * Writes PortableAccounts into the store (`papillon import`): accounts whose handle
 * is free are created with every password form the source had, then their groups,
 * contacts (to accounts of the file or already here) and offline messages. An
 * existing account is never touched, so an import can be re-run after a partial one.
 */
export async function applyAccounts(
  store: Store,
  accounts: readonly PortableAccount[],
): Promise<ImportReport> {
  const report: ImportReport = {
    created: [],
    existing: [],
    rejected: [],
    contacts: 0,
    skippedContacts: 0,
    offline: 0,
  };
  const credentials = new Credentials(store);
  const created: Array<{ id: string; account: PortableAccount }> = [];
  for (const account of accounts) {
    if (!isValidHandle(account.handle)) {
      report.rejected.push({ handle: account.handle, reason: 'not a valid handle (name@domain)' });
      continue;
    }
    const handle = normalizeHandle(account.handle);
    if (await store.getAccountByHandle(handle)) {
      report.existing.push(handle);
      continue;
    }
    const id = newId();
    await store.createAccount(
      {
        id,
        handle,
        displayName: (account.displayName ?? '').trim().slice(0, 387) || handle.slice(0, handle.indexOf('@')),
        privacy: account.privacy ?? 'allow-list',
        createdAt: account.createdAt ?? Date.now(),
      },
      await storedForms(credentials, account.credentials),
    );
    created.push({ id, account });
    report.created.push(handle);
  }

  for (const { id, account } of created) {
    const groupIds = new Map<string, string>();
    for (const name of account.groups) {
      if (groupIds.has(name) || name.trim() === '') continue;
      try {
        const group = await store.createGroup(id, newId(), name);
        groupIds.set(name, group.value.id);
      } catch (err) {
        // Names differing only in case are one group here: its members join the first.
        if (!isPapillonError(err, 'group-name-taken')) throw err;
        const same = (await store.listGroups(id)).find((g) => g.name.toLowerCase() === name.toLowerCase());
        if (same) groupIds.set(name, same.id);
      }
    }
    for (const contact of account.contacts) {
      const other = isValidHandle(contact.handle)
        ? await store.getAccountByHandle(normalizeHandle(contact.handle))
        : undefined;
      if (!other || other.id === id) {
        report.skippedContacts++;
        continue;
      }
      const lists = contact.lists ?? listsOfRoster(contact);
      const patch: RelationshipPatch = { ...lists, nickname: contact.nickname };
      const row = await store.updateRelationship(id, other.id, patch);
      if (!row.value) continue;
      for (const name of contact.groups) {
        const groupId = groupIds.get(name);
        if (groupId) await store.addToGroup(id, other.id, groupId);
      }
      report.contacts++;
    }
    if (account.vcard) await store.setProperty(id, VCARD_PROPERTY, account.vcard);
    for (const m of account.offline) {
      const { from, sentAt, xml, ...content } = m;
      await store.enqueueOffline({
        id: newId(),
        recipientId: id,
        senderHandle: isValidHandle(from) ? normalizeHandle(from) : (from.split('/')[0] ?? from),
        payload: JSON.stringify({ ...content, ...(xml !== undefined ? { xml } : {}) }),
        sentAt,
      });
      report.offline++;
    }
  }
  return report;
}

/**
 * The forms to store: all of them from a plaintext password; otherwise those the
 * source had, with its SCRAM keys as the legacy hash when there is no argon2, so a
 * plaintext sign-in (SASL PLAIN, MSN's Passport) works and upgrades the account.
 * An argon2 hash (an older Papillon's export) is kept only without SCRAM-SHA-256
 * keys: with them, plaintext sign-ins check those keys and argon2 would protect
 * nothing (core/credentials.ts; migration 0020 does the same to stored rows).
 */
async function storedForms(
  credentials: Credentials,
  forms: PortableCredentials,
): Promise<PasswordCredentials> {
  const { plaintext, ...stored } = forms;
  if (plaintext !== undefined && plaintext !== '') return credentials.forPassword(plaintext);
  if (stored.argon2 && stored.scramSha256 && !stored.legacyHash) stored.argon2 = '';
  if (!stored.argon2 && !stored.legacyHash) {
    if (stored.scramSha256) stored.legacyHash = legacyHashOfScram('sha256', stored.scramSha256);
    else if (stored.scramSha1) stored.legacyHash = legacyHashOfScram('sha1', stored.scramSha1);
  }
  return partialCredentials(stored);
}

/**
 * MSN lists for an RFC 6121 roster item: `to` is an approved forward add, `from` an
 * allow, a pending `ask` an unanswered add, `none` an item kept without presence.
 * (The other side's item in the same file sets the other half of the pair.)
 */
function listsOfRoster(contact: PortableContact): ContactLists {
  const to = contact.subscription === 'to' || contact.subscription === 'both';
  const from = contact.subscription === 'from' || contact.subscription === 'both';
  const forward = to || contact.ask === true;
  return { forward, allow: from, block: false, noticed: to, listed: !forward };
}
