import type { FastifyInstance } from 'fastify';
import type { Core } from '../../../core/core.ts';
import type { AccountRow } from '../../../store/types.ts';
import { escapeXml } from '../../../util/xml.ts';
import { abContactAdd, abContactDelete, abContactUpdate } from './ab-contacts.ts';
import {
  abGroupAdd,
  abGroupContactAdd,
  abGroupContactDelete,
  abGroupDelete,
  abGroupUpdate,
} from './ab-groups.ts';
import {
  AB_NS,
  type AbCall,
  type AbOperation,
  deltasRequested,
  fullSyncRequired,
  isCurrent,
  registerAbService,
  requireOwnAb,
} from './ab-soap.ts';
import {
  circleBook,
  circleResultXml,
  createContact,
  manageWLConnection,
  requestedCircle,
} from './circle-service.ts';
import { abXml, addressBookContacts, addressBookGroups } from './contact-xml.ts';
import { meSettings } from './me-settings.ts';

/**
 * The Address Book Service (ABCH), `POST /abservice/abservice.asmx` at
 * contacts.msn.com, local-bay.contacts.msn.com, omega.contacts.msn.com (routed by
 * path, so any Host works). MSNP wiki "Address Book Service"; Pidgin msn/contact.c.
 *
 * The address book IS the core's relationship model (src/core/relationships.ts
 * `snapshot()`), nothing is stored twice:
 *
 * - AB contacts = the forward list (`mine.forward`, isMessengerUser true), plus the
 *   `Me` contact (contactType Me: the account's display name, CID and settings).
 * - `contactId` = the contact's account id; group ids = the core's group ids; both
 *   are the GUIDs MSNP10–12 show (`C=`, LSG), so they are stable across calls,
 *   versions and protocols. CIDs are derived from account ids (src/msnp/cid.ts).
 * - The AB.NickName annotation = the relationship's nickname.
 * - `lastChange` = the list version written as a time (ab-soap.ts `lastChangeOf`):
 *   a delta request with the current one gets an empty answer, any other the
 *   full-sync fault, and the client then asks for everything.
 * - ABContactAdd = relationships.addForward, ABContactDelete = removeForward, ABGroup*
 *   = createGroup / renameGroup / deleteGroup / addToGroup / removeFromGroup,
 *   ABContactUpdate of Me = display name, privacy (MSN.IM.BLP), GTC (MSN.IM.GTC) and
 *   MPOP (MSN.IM.MPOP). Each is the call MSNP12's ADC/REM/ADG/RMG/REG/BLP/GTC makes, so
 *   the user's other sessions and the contact hear of changes the same way.
 * - Every account has its address book from its creation: ABFindAll never answers
 *   ABDoesNotExist, and ABAdd (a client creating one) just succeeds.
 */

/** COMPAT: Pidgin's plugin asks for `//abservice/abservice.asmx` (`POST /%s` with a path starting with `/`). */
export const AB_PATHS = ['/abservice/abservice.asmx', '//abservice/abservice.asmx'] as const;

export function registerAddressBook(app: FastifyInstance, core: Core): void {
  registerAbService(app, core, { name: 'address book', paths: AB_PATHS, operations: AB_OPERATIONS });
}

/** The whole book, or (delta request with the current lastChange) only its `ab` part. */
async function readBook(
  call: AbCall,
): Promise<{ account: AccountRow; groups: string; contacts: string; empty: boolean }> {
  requireOwnAb(call);
  const { deltas, lastChange } = deltasRequested(call.request.action);
  if (deltas && !isCurrent(call.account, lastChange)) throw fullSyncRequired();
  // Nothing changed: the account the ticket named (isCurrent checked its version) is all the answer needs.
  if (deltas) return { account: call.account, groups: '', contacts: '', empty: true };
  const lists = await call.core.relationships.snapshot(call.account.id);
  const settings = await meSettings(call.core, lists.account);
  return {
    account: lists.account,
    groups: addressBookGroups(lists),
    contacts: addressBookContacts(lists, settings),
    empty: false,
  };
}

/** MSNP13–14 (WLM 8.x, aMSN): the result's children are lower-case `groups`, `contacts`, `ab`. */
const abFindAll: AbOperation = async (call) => {
  const book = await readBook(call);
  return [
    `<ABFindAllResponse xmlns="${AB_NS}"><ABFindAllResult>`,
    `<groups>${book.groups}</groups>`,
    `<contacts>${book.contacts}</contacts>`,
    abXml('ab', book.account),
    '</ABFindAllResult></ABFindAllResponse>',
  ].join('');
};

/**
 * MSNP15+ (WLM 2009, Pidgin): `Groups`, `Contacts`, `CircleResult`, `Ab`. CircleResult
 * lists the account's circles (circle-service.ts), which are also contacts of type
 * Circle, and carries the CircleTicket clients present in `USR SHA A` (Pidgin sends it
 * whenever the element is there). abHandle = a circle's id asks for that circle's book.
 */
const abFindContactsPaged: AbOperation = async (call) => {
  const circleId = requestedCircle(call);
  if (circleId) return circleBook(call, circleId);
  const book = await readBook(call);
  const circles = book.empty
    ? { result: '<CircleResult><Circles /></CircleResult>', contacts: '' }
    : await circleResultXml(call);
  return [
    `<ABFindContactsPagedResponse xmlns="${AB_NS}"><ABFindContactsPagedResult>`,
    `<Groups>${book.groups}</Groups>`,
    `<Contacts>${book.contacts}${circles.contacts}</Contacts>`,
    circles.result,
    abXml('Ab', book.account),
    '</ABFindContactsPagedResult></ABFindContactsPagedResponse>',
  ].join('');
};

/** The address book exists already; the live service answered ABAdd with the book's id. */
const abAdd: AbOperation = async ({ account }) =>
  `<ABAddResponse xmlns="${AB_NS}"><ABAddResult>${escapeXml(account.id)}</ABAddResult></ABAddResponse>`;

const AB_OPERATIONS: Readonly<Record<string, AbOperation>> = {
  ABFindAll: abFindAll,
  ABFindContactsPaged: abFindContactsPaged,
  ABAdd: abAdd,
  ABContactAdd: abContactAdd,
  ABContactDelete: abContactDelete,
  ABContactUpdate: abContactUpdate,
  ABGroupAdd: abGroupAdd,
  ABGroupDelete: abGroupDelete,
  ABGroupUpdate: abGroupUpdate,
  ABGroupContactAdd: abGroupContactAdd,
  ABGroupContactDelete: abGroupContactDelete,
  CreateContact: createContact,
  ManageWLConnection: manageWLConnection,
};
