import type { Core } from '../../../core/core.ts';
import type { ContactView, ListsSnapshot } from '../../../core/relationships.ts';
import { escapeXml } from '../../../util/xml.ts';
import { children, path, text, type XmlNode } from '../soap.ts';
import { AB_NS, AbFault, type AbOperation, field, requireOwnAb } from './ab-soap.ts';
import { applyMeAnnotations } from './me-settings.ts';

/**
 * ABContactAdd / ABContactDelete / ABContactUpdate (MSNP wiki, abservice pages; Pidgin
 * msn/contact.c msn_add_contact, msn_delete_contact, msn_update_contact,
 * msn_annotate_contact). See abservice.ts for the mapping onto the core.
 */

/** The `contacts/Contact` elements of an operation. */
export function requestContacts(action: XmlNode): XmlNode[] {
  const contacts = children(path(action, 'contacts'), 'Contact');
  if (contacts.length === 0) throw new AbFault('InvalidArgument', 'no contacts');
  return contacts;
}

/** `contactInfo/annotations/Annotation` as name/value pairs (an empty Value is ''). */
export function requestAnnotations(info: XmlNode | undefined): Array<{ name: string; value: string }> {
  return children(path(info, 'annotations'), 'Annotation').flatMap((a) => {
    const name = field(a, 'Name');
    return name ? [{ name, value: text(path(a, 'Value')) ?? '' }] : [];
  });
}

/** The passport name a new contact is given by: `passportName`, or a Messenger-enabled e-mail. */
function passportOf(info: XmlNode | undefined): string {
  const name =
    field(info, 'passportName') ??
    children(path(info, 'emails'), 'ContactEmail')
      .map((e) => field(e, 'email'))
      .find((e) => e !== undefined);
  // The live service's answers for a name that cannot be an address (aMSN abook.tcl,
  // Miranda msn_soap.cpp know BadEmailArgument).
  if (!name?.includes('@')) throw new AbFault('BadEmailArgument', 'the passport name is not an address');
  return name;
}

/** An address-book contact named by `contactId` (an account id; GUIDs compared case-insensitively). */
export function forwardContact(lists: ListsSnapshot, contactId: string | undefined): ContactView {
  const id = contactId?.toLowerCase();
  const view = lists.contacts.find(
    (c) => (c.mine.forward || c.mine.listed) && c.contact.id.toLowerCase() === id,
  );
  if (!view) throw new AbFault('ContactDoesNotExist', 'no such contact in the address book');
  return view;
}

/**
 * Adds a passport name to the forward list; with `allowToo` (the request's
 * EnableAllowListManagement, which Pidgin and WLM send as true) the live service also
 * put the contact on the Allow role, unless the user blocks them.
 */
export async function addToForward(
  core: Core,
  ownerId: string,
  info: XmlNode | undefined,
  allowToo: boolean,
): Promise<ContactView> {
  const handle = passportOf(info);
  const nickname = requestAnnotations(info)
    .find((a) => a.name === 'AB.NickName')
    ?.value.trim();
  // Not a Messenger contact (isMessengerUser false): kept in the list, nobody asked.
  if (field(info, 'isMessengerUser')?.toLowerCase() === 'false')
    return core.relationships.list(ownerId, handle, nickname ? nickname : undefined);
  const view = await core.relationships.addForward(ownerId, handle, nickname ? nickname : undefined);
  if (allowToo && !view.mine.allow && !view.mine.block) return core.relationships.allow(ownerId, handle);
  return view;
}

export function isTrue(value: string | undefined): boolean {
  return value?.toLowerCase() === 'true';
}

/**
 * Adding a contact already on the forward list succeeds with its id. (The live service
 * answered ContactAlreadyExists with the id in `conflictObjectId`; aMSN and Miranda
 * take that as success, and COMPAT: Pidgin takes only a plain success, so this works
 * for all three.)
 */
export const abContactAdd: AbOperation = async (call) => {
  requireOwnAb(call);
  const { core, account, request } = call;
  const allowToo = isTrue(field(request.action, 'options', 'EnableAllowListManagement'));
  const ids: string[] = [];
  for (const contact of requestContacts(request.action)) {
    const view = await addToForward(core, account.id, path(contact, 'contactInfo'), allowToo);
    ids.push(view.contact.id);
  }
  return `<ABContactAddResponse xmlns="${AB_NS}"><ABContactAddResult><guid>${escapeXml(ids[0] ?? '')}</guid></ABContactAddResult></ABContactAddResponse>`;
};

export const abContactDelete: AbOperation = async (call) => {
  requireOwnAb(call);
  const { core, account, request } = call;
  const contacts = requestContacts(request.action);
  const lists = await core.relationships.snapshot(account.id);
  // All found before any is removed: an unknown id changes nothing.
  const views = contacts.map((c) => forwardContact(lists, field(c, 'contactId')));
  for (const view of views) await core.relationships.removeForward(account.id, view.contact.id);
  return `<ABContactDeleteResponse xmlns="${AB_NS}" />`;
};

/** Whether `propertiesChanged` (space-separated; absent means "whatever is sent") names `property`. */
function changes(contact: XmlNode, property: string): boolean {
  const listed = field(contact, 'propertiesChanged');
  return listed === undefined || listed.split(/\s+/).includes(property);
}

/**
 * The Me contact: display name and settings. Another contact: its nickname (the
 * AB.NickName annotation Pidgin sets as the buddy alias). A contact's DisplayName is
 * not kept: it is the contact's own name. COMPAT: Pidgin sends one every time a
 * contact's friendly name changes (msn/notification.c), so it succeeds unchanged.
 */
export const abContactUpdate: AbOperation = async (call) => {
  requireOwnAb(call);
  const { core, account, request } = call;
  let lists: ListsSnapshot | undefined;
  for (const contact of requestContacts(request.action)) {
    const info = path(contact, 'contactInfo');
    const contactId = field(contact, 'contactId');
    const annotations = changes(contact, 'Annotation') ? requestAnnotations(info) : [];
    if (field(info, 'contactType') === 'Me' || contactId?.toLowerCase() === account.id) {
      const displayName = text(path(info, 'displayName'));
      if (displayName !== undefined && changes(contact, 'DisplayName'))
        await core.accounts.setDisplayName(account.id, displayName);
      await applyMeAnnotations(core, account, annotations);
      continue;
    }
    lists ??= await core.relationships.snapshot(account.id);
    const view = forwardContact(lists, contactId);
    const nickname = annotations.find((a) => a.name === 'AB.NickName');
    if (nickname) {
      const value = nickname.value.trim();
      await core.relationships.setNickname(account.id, view.contact.id, value ? value : null);
    }
  }
  return `<ABContactUpdateResponse xmlns="${AB_NS}" />`;
};
