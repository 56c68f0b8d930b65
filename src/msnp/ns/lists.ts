import type { ContactView, ListsSnapshot } from '../../core/relationships.ts';
import type { GroupRow } from '../../store/types.ts';
import { encodeParam } from '../codec/index.ts';
import { gtcMode, PHONE_PROPERTIES } from './profile.ts';
import type { NsSession } from './session.ts';

/** Profile properties shown in SYN: the user's own, and those of contacts who let the user see them. */
export interface ListProperties {
  own: Record<string, string>;
  byContact: Map<string, Record<string, string>>;
}

/** `[key, encoded value]` for each phone property that is set, in MSN's order. */
function phoneLines(properties: Record<string, string>, includeUnset: boolean): [string, string][] {
  const lines: [string, string][] = [];
  for (const [key, name] of Object.entries(PHONE_PROPERTIES)) {
    const value = properties[name];
    if (value !== undefined) lines.push([key, encodeParam(value)]);
    else if (includeUnset) lines.push([key, key === 'MOB' ? 'N' : '']);
  }
  return lines;
}

/** §8.1 list bits; PL (pending) exists from MSNP10. */
export const LIST_BITS = { FL: 1, AL: 2, BL: 4, RL: 8, PL: 16 } as const;
export type ListName = keyof typeof LIST_BITS;

/**
 * The lists `view` is on. `withPending` (MSNP10+): PL for an add the user's client
 * has not acknowledged yet (core `pending`). COMPAT: msn-pecan asks "X has added you"
 * only for a PL contact on neither AL nor BL (pn_contactlist.c), then answers
 * `ADC RL` + `REM PL`; without the bit, an add made while the user was offline is
 * never shown.
 */
export function listBits(view: ContactView, withPending = false): number {
  return (
    (view.mine.forward ? LIST_BITS.FL : 0) |
    (view.mine.allow ? LIST_BITS.AL : 0) |
    (view.mine.block ? LIST_BITS.BL : 0) |
    (view.theirs.forward ? LIST_BITS.RL : 0) |
    (withPending && view.pending ? LIST_BITS.PL : 0)
  );
}

export function onList(view: ContactView, list: ListName): boolean {
  return (listBits(view) & LIST_BITS[list]) !== 0;
}

/** The name MSNP shows for a contact: their display name (MSN kept it current at login). */
export function friendlyName(view: ContactView): string {
  return encodeParam(view.contact.displayName);
}

/** §8.6: MSNP7–9 group ids are small numbers, 0 the implicit "Other Contacts". */
export function groupIdFor(session: NsSession, group: GroupRow): string {
  return session.dialect?.lists === 'guid' ? group.id : String(group.number);
}

export function findGroup(session: NsSession, groups: GroupRow[], id: string): GroupRow | undefined {
  return session.dialect?.lists === 'guid'
    ? groups.find((g) => g.id === id)
    : groups.find((g) => String(g.number) === id);
}

function contactGroups(session: NsSession, view: ContactView, groups: GroupRow[]): string {
  const ids = groups.filter((g) => view.groupIds.includes(g.id)).map((g) => groupIdFor(session, g));
  return ids.join(',');
}

/** §8.2 timestamps for MSNP10+ SYN: ISO 8601 with seven fraction digits and an offset. */
export function abchTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2024-10-23T14:02:48.536Z
  return `${iso.slice(0, 23)}0000-00:00`;
}

/**
 * The whole contact list, as the dialect lays it out (§8.2). Papillon always sends
 * the full list (COMPAT: msn-pecan treats a short "up to date" SYN reply as broken).
 */
export function sendLists(
  s: NsSession,
  trid: string,
  snapshot: ListsSnapshot,
  properties: ListProperties,
): void {
  const dialect = s.dialect;
  if (!dialect) return;
  const version = snapshot.listVersion;
  const privacy = snapshot.account.privacy === 'allow-all' ? 'AL' : 'BL';
  const contacts = snapshot.contacts.filter((c) => listBits(c) !== 0);
  const groups = snapshot.groups;

  if (dialect.lists === 'iterated') {
    s.send('SYN', trid, version);
    s.send('GTC', trid, version, gtcMode(properties.own));
    s.send('BLP', trid, version, privacy);
    if (dialect.phones) {
      // §8.2 MSNP5–7: every phone key, unset ones empty.
      for (const [key, value] of phoneLines(properties.own, true)) {
        if (value) s.send('PRP', trid, version, key, value);
        else s.send('PRP', trid, version, key);
      }
    }
    if (dialect.groups) {
      const total = groups.length + 1;
      s.send('LSG', trid, version, 1, total, 0, encodeParam('Other Contacts'), 0);
      groups.forEach((g, i) => {
        s.send('LSG', trid, version, i + 2, total, g.number, encodeParam(g.name), 0);
      });
    }
    for (const list of ['FL', 'AL', 'BL', 'RL'] as const) {
      const members = contacts.filter((c) => onList(c, list));
      if (members.length === 0) s.send('LST', trid, list, version, 0, 0);
      members.forEach((c, i) => {
        const args: (string | number)[] = [
          trid,
          list,
          version,
          i + 1,
          members.length,
          c.contact.handle,
          friendlyName(c),
        ];
        if (list === 'FL' && dialect.groups) args.push(contactGroups(s, c, groups) || '0');
        s.send('LST', ...args);
        if (list === 'FL' && dialect.phones) {
          for (const [key, value] of phoneLines(properties.byContact.get(c.contact.id) ?? {}, false)) {
            s.send('BPR', version, c.contact.handle, key, value);
          }
        }
      });
    }
    return;
  }

  if (dialect.lists === 'flat') {
    s.send('SYN', trid, version, contacts.length, groups.length + 1);
    s.send('GTC', gtcMode(properties.own));
    s.send('BLP', privacy);
    for (const [key, value] of phoneLines(properties.own, false)) s.send('PRP', key, value);
    s.send('LSG', 0, encodeParam('Other Contacts'), 0);
    for (const g of groups) s.send('LSG', g.number, encodeParam(g.name), 0);
    for (const c of contacts) {
      const bits = listBits(c);
      const args: (string | number)[] = [c.contact.handle, friendlyName(c), bits];
      if (bits & LIST_BITS.FL) args.push(contactGroups(s, c, groups) || '0');
      s.send('LST', ...args);
      sendContactPhones(s, properties, c);
    }
    return;
  }

  const stamp = abchTimestamp(Date.now());
  s.send('SYN', trid, stamp, stamp, contacts.length, groups.length);
  s.send('GTC', gtcMode(properties.own));
  s.send('BLP', privacy);
  s.send('PRP', 'MFN', encodeParam(snapshot.account.displayName));
  for (const [key, value] of phoneLines(properties.own, false)) s.send('PRP', key, value);
  for (const g of groups) s.send('LSG', encodeParam(g.name), g.id);
  for (const c of contacts) {
    const bits = listBits(c, true);
    const args: (string | number)[] = [`N=${c.contact.handle}`];
    // §8.2: F= and C= only for forward-list contacts.
    if (bits & LIST_BITS.FL) args.push(`F=${friendlyName(c)}`, `C=${c.contact.id}`);
    args.push(bits);
    if (dialect.lstNetworkId) args.push(1);
    const groupIds = bits & LIST_BITS.FL ? contactGroups(s, c, groups) : '';
    if (groupIds) args.push(groupIds);
    s.send('LST', ...args);
    sendContactPhones(s, properties, c);
  }
}

/** §8.7 MSNP8+: `BPR key value` after the contact's LST line (no handle). */
function sendContactPhones(s: NsSession, properties: ListProperties, c: ContactView): void {
  for (const [key, value] of phoneLines(properties.byContact.get(c.contact.id) ?? {}, false))
    s.send('BPR', key, value);
}
