import type { OfflineContent } from '../core/offline.ts';
import { deriveSubscription, NO_LISTS } from '../core/subscription.ts';
import { listFlags } from '../core/visibility.ts';
import type { AccountRow, RelationshipRow, Store } from '../store/types.ts';
import type { PortableAccount, PortableContact } from './model.ts';

/** The account property core's vCard lives in (xmpp/modules/vcard.ts). */
export const VCARD_PROPERTY = 'vcard.xml';

/**
 * Reads every account of the store as PortableAccounts (`papillon export`): the
 * stored password forms, groups, contact lists with the subscription they derive to,
 * the vCard, and undelivered offline messages (left undelivered).
 */
export async function collectAccounts(store: Store): Promise<PortableAccount[]> {
  const accounts = await store.listAccounts();
  const byId = new Map(accounts.map((a) => [a.id, a]));
  const rows = new Map<string, RelationshipRow[]>();
  for (const account of accounts) rows.set(account.id, await store.listRelationships(account.id));
  const rowOf = (owner: string, contact: string) => rows.get(owner)?.find((r) => r.contactId === contact);

  const out: PortableAccount[] = [];
  for (const account of accounts) {
    const groups = await store.listGroups(account.id);
    const groupName = new Map(groups.map((g) => [g.id, g.name]));
    const contacts: PortableContact[] = [];
    for (const row of rows.get(account.id) ?? []) {
      const other = byId.get(row.contactId);
      if (!other) continue;
      const theirs = rowOf(other.id, account.id) ?? NO_LISTS;
      const derived = deriveSubscription({
        mine: row,
        theirs,
        myPrivacy: account.privacy,
        theirPrivacy: other.privacy,
      });
      contacts.push({
        handle: other.handle,
        nickname: row.nickname,
        groups: row.groupIds.flatMap((id) => groupName.get(id) ?? []),
        lists: listFlags(row),
        subscription: derived.subscription,
        ask: derived.ask,
      });
    }
    out.push({
      handle: account.handle,
      displayName: account.displayName,
      privacy: account.privacy,
      createdAt: account.createdAt,
      credentials: (await store.getCredentials(account.id)) ?? {},
      groups: groups.map((g) => g.name),
      contacts,
      ...(await vcardOf(store, account)),
      offline: (await store.listOffline(account.id)).map((m) => {
        const content = parseContent(m.payload);
        return {
          from: m.senderHandle,
          sentAt: m.sentAt,
          kind: content.kind,
          text: content.text,
          ...(content.subject !== undefined ? { subject: content.subject } : {}),
          ...(content.senderName !== undefined ? { senderName: content.senderName } : {}),
          ...(content.xml !== undefined ? { xml: content.xml } : {}),
        };
      }),
    });
  }
  return out;
}

async function vcardOf(store: Store, account: AccountRow): Promise<{ vcard?: string }> {
  const vcard = (await store.getProperties(account.id, [VCARD_PROPERTY]))[VCARD_PROPERTY];
  return vcard ? { vcard } : {};
}

function parseContent(payload: string): OfflineContent {
  try {
    const content = JSON.parse(payload) as Partial<OfflineContent>;
    return {
      ...content,
      kind: content.kind === 'normal' ? 'normal' : 'chat',
      text: String(content.text ?? ''),
    };
  } catch {
    return { kind: 'chat', text: '' };
  }
}
