import type { ContactView, ListsSnapshot } from '../../../core/relationships.ts';
import type { AccountRow, GroupRow } from '../../../store/types.ts';
import { escapeXml } from '../../../util/xml.ts';
import { cidOf } from '../../cid.ts';
import { isoTime, lastChangeOf, NEVER, OWN_AB_ID } from './ab-soap.ts';

/**
 * The address book's XML: groups, contacts, the "Me" contact and the `ab` element, as
 * ABFindAll (MSNP13–14) and ABFindContactsPaged (MSNP15+) return them. Element names
 * and nesting follow what Pidgin's msn/contact.c (msn_parse_addressbook_*) reads —
 * `Contact/contactId`, `contactInfo/{contactType, passportName, displayName,
 * isMessengerUser, groupIds/guid, annotations/Annotation/{Name,Value}}`,
 * `Group/{groupId, groupInfo/name}` — with the other fields Windows Live Messenger
 * expects in the order the live service wrote them (MSNP wiki, ABFindAll).
 */

/** The group type every Messenger contact group had. */
const MESSENGER_GROUP_TYPE = 'C8529CE2-6EAD-434d-881F-341E17DB3FF8';

/** What the "Me" contact carries besides the account: the owner's settings. */
export interface MeSettings {
  /** GTC: ask when someone adds me. */
  askWhenAdded: boolean;
  /** Several endpoints at once (MSNP16+). */
  mpop: boolean;
}

export function annotations(pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return '';
  const items = pairs.map(
    ([name, value]) =>
      `<Annotation><Name>${escapeXml(name)}</Name><Value>${escapeXml(value)}</Value></Annotation>`,
  );
  return `<annotations>${items.join('')}</annotations>`;
}

/** The fields of contactInfo after the passport name that every contact has alike. */
export function commonInfo(cid: string, messengerUser = true): string {
  return [
    '<puid>0</puid>',
    `<CID>${cid}</CID>`,
    '<IsNotMobileVisible>false</IsNotMobileVisible>',
    '<isMobileIMEnabled>false</isMobileIMEnabled>',
    `<isMessengerUser>${messengerUser}</isMessengerUser>`,
    '<isFavorite>false</isFavorite>',
    '<isSmtp>false</isSmtp>',
    '<hasSpace>false</hasSpace>',
    '<spotWatchState>NoDevice</spotWatchState>',
    `<birthdate>${NEVER}</birthdate>`,
    '<primaryEmailType>ContactEmailPersonal</primaryEmailType>',
    '<PrimaryLocation>ContactLocationPersonal</PrimaryLocation>',
    '<PrimaryPhone>ContactPhonePersonal</PrimaryPhone>',
    '<IsPrivate>false</IsPrivate>',
    '<Gender>Unspecified</Gender>',
    '<TimeZone>None</TimeZone>',
  ].join('');
}

/**
 * A forward-list contact. `contactId` is the contact's account id (what MSNP10–12 show
 * as `C=`), so it is the same in every version and protocol. No `groupIds` element
 * when the contact is in no group. COMPAT: Pidgin puts a contact whose groupIds has no
 * guid in no group at all, and one without the element in "Other Contacts".
 */
export function contactXml(view: ContactView, lastChange: string): string {
  const c = view.contact;
  const notes: Array<readonly [string, string]> = [];
  if (view.nickname) notes.push(['AB.NickName', view.nickname]);
  const groups = view.groupIds.length
    ? `<groupIds>${view.groupIds.map((g) => `<guid>${escapeXml(g)}</guid>`).join('')}</groupIds>`
    : '';
  return [
    '<Contact>',
    `<contactId>${escapeXml(c.id)}</contactId>`,
    '<contactInfo>',
    annotations(notes),
    '<contactType>Regular</contactType>',
    `<quickName>${escapeXml(view.nickname ?? c.displayName)}</quickName>`,
    `<passportName>${escapeXml(c.handle)}</passportName>`,
    '<IsPassportNameHidden>false</IsPassportNameHidden>',
    `<displayName>${escapeXml(c.displayName)}</displayName>`,
    groups,
    // Kept without a subscription (an XMPP roster item 'none'): not a Messenger contact.
    commonInfo(cidOf(c.id), view.mine.forward),
    '</contactInfo>',
    '<propertiesChanged />',
    '<fDeleted>false</fDeleted>',
    `<CreateDate>${isoTime(c.createdAt)}</CreateDate>`,
    `<lastChange>${lastChange}</lastChange>`,
    '</Contact>',
  ].join('');
}

/**
 * The owner as the `Me` contact: display name, CID and the settings WLM 2009 keeps as
 * annotations — `MSN.IM.BLP` the privacy mode (1: everyone not blocked may see me,
 * MSNP `BLP AL`; 0: only the allow list), `MSN.IM.GTC` (1: ask when someone adds me),
 * `MSN.IM.MPOP` (Pidgin reads it to enable multiple points of presence),
 * `MSN.IM.MBEA` and `MSN.IM.RoamLiveProperties` as the live service set them.
 */
export function meContactXml(account: AccountRow, settings: MeSettings): string {
  const notes: Array<readonly [string, string]> = [
    ['MSN.IM.MBEA', '0'],
    ['MSN.IM.GTC', settings.askWhenAdded ? '1' : '0'],
    ['MSN.IM.BLP', account.privacy === 'allow-all' ? '1' : '0'],
    ['MSN.IM.MPOP', settings.mpop ? '1' : '0'],
    ['MSN.IM.RoamLiveProperties', '1'],
  ];
  return [
    '<Contact>',
    `<contactId>${escapeXml(account.id)}</contactId>`,
    '<contactInfo>',
    annotations(notes),
    '<contactType>Me</contactType>',
    `<quickName>${escapeXml(account.displayName)}</quickName>`,
    `<passportName>${escapeXml(account.handle)}</passportName>`,
    '<IsPassportNameHidden>false</IsPassportNameHidden>',
    // Plain text, as WLM reads it. (Pidgin URL-decodes it: only a name with `%` differs.)
    `<displayName>${escapeXml(account.displayName)}</displayName>`,
    commonInfo(cidOf(account.id)),
    '</contactInfo>',
    '<propertiesChanged />',
    '<fDeleted>false</fDeleted>',
    `<CreateDate>${isoTime(account.createdAt)}</CreateDate>`,
    `<lastChange>${lastChangeOf(account)}</lastChange>`,
    '</Contact>',
  ].join('');
}

/** A group: its id is the core group's id, the same GUID MSNP10–12 show in LSG/ADG. */
export function groupXml(group: GroupRow, lastChange: string): string {
  return [
    '<Group>',
    `<groupId>${escapeXml(group.id)}</groupId>`,
    '<groupInfo>',
    annotations([['MSN.IM.Display', '1']]),
    `<groupType>${MESSENGER_GROUP_TYPE}</groupType>`,
    `<name>${escapeXml(group.name)}</name>`,
    '<IsNotMobileVisible>false</IsNotMobileVisible>',
    '<IsPrivate>false</IsPrivate>',
    '<IsFavorite>false</IsFavorite>',
    '</groupInfo>',
    '<propertiesChanged />',
    '<fDeleted>false</fDeleted>',
    `<lastChange>${lastChange}</lastChange>`,
    '</Group>',
  ].join('');
}

/** The `ab`/`Ab` element: the address book itself, with the `lastChange` a delta request sends back. */
export function abXml(element: 'ab' | 'Ab', account: AccountRow): string {
  const lastChange = lastChangeOf(account);
  return [
    `<${element}>`,
    `<abId>${OWN_AB_ID}</abId>`,
    '<abInfo>',
    '<MigratedTo>2</MigratedTo>',
    '<name />',
    '<ownerPuid>0</ownerPuid>',
    `<OwnerCID>${cidOf(account.id)}</OwnerCID>`,
    `<ownerEmail>${escapeXml(account.handle)}</ownerEmail>`,
    '<fDefault>true</fDefault>',
    '<joinedNamespace>false</joinedNamespace>',
    '<IsBot>false</IsBot>',
    '<IsParentManaged>false</IsParentManaged>',
    '<SubscribeExternalPartner>false</SubscribeExternalPartner>',
    '<NotifyExternalPartner>false</NotifyExternalPartner>',
    '<AddressBookType>Individual</AddressBookType>',
    '<MessengerApplicationServiceCreated>false</MessengerApplicationServiceCreated>',
    '<IsBetaMigrated>false</IsBetaMigrated>',
    '</abInfo>',
    `<lastChange>${lastChange}</lastChange>`,
    `<DynamicItemLastChanged>${NEVER}</DynamicItemLastChanged>`,
    `<RecentActivityItemLastChanged>${NEVER}</RecentActivityItemLastChanged>`,
    `<createDate>${isoTime(account.createdAt)}</createDate>`,
    '<propertiesChanged />',
    `</${element}>`,
  ].join('');
}

/**
 * The address book's contacts: the forward list and the contacts kept without one
 * (sorted by handle, as the snapshot is) and Me.
 */
export function addressBookContacts(lists: ListsSnapshot, settings: MeSettings): string {
  const lastChange = lastChangeOf(lists.account);
  const forward = lists.contacts
    .filter((c) => c.mine.forward || c.mine.listed)
    .map((c) => contactXml(c, lastChange));
  return [...forward, meContactXml(lists.account, settings)].join('');
}

export function addressBookGroups(lists: ListsSnapshot): string {
  const lastChange = lastChangeOf(lists.account);
  return lists.groups.map((g) => groupXml(g, lastChange)).join('');
}
