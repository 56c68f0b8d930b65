import type { ContactView, ListsSnapshot } from '../../../core/relationships.ts';
import { escapeXml } from '../../../util/xml.ts';
import { children, path, type XmlNode } from '../soap.ts';
import { addToForward, forwardContact, isTrue, requestContacts } from './ab-contacts.ts';
import { AB_NS, AbFault, type AbOperation, field, requireOwnAb } from './ab-soap.ts';

/**
 * ABGroupAdd / ABGroupDelete / ABGroupUpdate / ABGroupContactAdd /
 * ABGroupContactDelete over the core's groups (MSNP wiki abservice pages; Pidgin
 * msn/contact.c msn_add_group, msn_del_group, msn_contact_rename_group,
 * msn_add_contact_to_group, msn_del_contact_from_group). Group ids are the core's
 * group ids.
 */

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A group id as the core knows it (lower case); a malformed one is no group at all. */
function groupId(value: string | undefined): string {
  if (!value || !GUID.test(value)) throw new AbFault('GroupDoesNotExist', 'no such group');
  return value.toLowerCase();
}

/** `groupFilter/groupIds/guid`. */
function filterGroups(action: XmlNode): string[] {
  const ids = children(path(action, 'groupFilter', 'groupIds'), 'guid').map((g) => groupId(field(g)));
  if (ids.length === 0) throw new AbFault('InvalidArgument', 'no group ids');
  return ids;
}

/** `ABGroupAddResult/guid` is what Pidgin reads the new group's id from. */
export const abGroupAdd: AbOperation = async (call) => {
  requireOwnAb(call);
  const { core, account, request } = call;
  const name = field(request.action, 'groupInfo', 'GroupInfo', 'name');
  if (!name) throw new AbFault('BadArgumentLength', 'a group needs a name');
  const { group } = await core.relationships.createGroup(account.id, name);
  return `<ABGroupAddResponse xmlns="${AB_NS}"><ABGroupAddResult><guid>${escapeXml(group.id)}</guid></ABGroupAddResult></ABGroupAddResponse>`;
};

export const abGroupDelete: AbOperation = async (call) => {
  requireOwnAb(call);
  const { core, account, request } = call;
  for (const id of filterGroups(request.action)) await core.relationships.deleteGroup(account.id, id);
  return `<ABGroupDeleteResponse xmlns="${AB_NS}" />`;
};

/** Renames: `groups/Group/{groupId, groupInfo/name}`. */
export const abGroupUpdate: AbOperation = async (call) => {
  requireOwnAb(call);
  const { core, account, request } = call;
  const groups = children(path(request.action, 'groups'), 'Group');
  if (groups.length === 0) throw new AbFault('InvalidArgument', 'no groups');
  for (const group of groups) {
    const name = field(group, 'groupInfo', 'name');
    if (!name) throw new AbFault('BadArgumentLength', 'a group needs a name');
    await core.relationships.renameGroup(account.id, groupId(field(group, 'groupId')), name);
  }
  return `<ABGroupUpdateResponse xmlns="${AB_NS}" />`;
};

/**
 * Puts contacts in groups. A contact is named by `contactId`, or — COMPAT: Pidgin
 * adds a new buddy straight into a group this way — by `contactInfo/passportName`,
 * which adds it to the forward list first (as ABContactAdd). The answer's guid is the
 * contact's id, which Pidgin keeps.
 */
export const abGroupContactAdd: AbOperation = async (call) => {
  requireOwnAb(call);
  const { core, account, request } = call;
  const groups = filterGroups(request.action);
  const allowToo = isTrue(field(request.action, 'groupContactAddOptions', 'EnableAllowListManagement'));
  const views: ContactView[] = [];
  // Read when a contact is named by id, and again only after an add changed the lists.
  let lists: ListsSnapshot | undefined;
  for (const contact of requestContacts(request.action)) {
    const id = field(contact, 'contactId');
    if (id) {
      lists ??= await core.relationships.snapshot(account.id);
      views.push(forwardContact(lists, id));
    } else {
      views.push(await addToForward(core, account.id, path(contact, 'contactInfo'), allowToo));
      lists = undefined;
    }
  }
  for (const view of views) {
    for (const group of groups) {
      if (!view.groupIds.includes(group))
        await core.relationships.addToGroup(account.id, view.contact.id, group);
    }
  }
  return `<ABGroupContactAddResponse xmlns="${AB_NS}"><ABGroupContactAddResult><guid>${escapeXml(views[0]?.contact.id ?? '')}</guid></ABGroupContactAddResult></ABGroupContactAddResponse>`;
};

export const abGroupContactDelete: AbOperation = async (call) => {
  requireOwnAb(call);
  const { core, account, request } = call;
  const groups = filterGroups(request.action);
  const lists = await core.relationships.snapshot(account.id);
  const views = requestContacts(request.action).map((c) => {
    const id = field(c, 'contactId');
    if (id) return forwardContact(lists, id);
    // Pidgin names a contact without a known id by its passport name.
    const handle = field(c, 'contactInfo', 'passportName')?.toLowerCase();
    const view = lists.contacts.find((v) => v.mine.forward && v.contact.handle === handle);
    if (!view) throw new AbFault('ContactDoesNotExist', 'no such contact in the address book');
    return view;
  });
  for (const view of views) {
    for (const group of groups) {
      if (view.groupIds.includes(group))
        await core.relationships.removeFromGroup(account.id, view.contact.id, group);
    }
  }
  return `<ABGroupContactDeleteResponse xmlns="${AB_NS}" />`;
};
