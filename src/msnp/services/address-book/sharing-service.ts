import type { FastifyInstance } from 'fastify';
import type { Core } from '../../../core/core.ts';
import type { ContactView, ListsSnapshot } from '../../../core/relationships.ts';
import { normalizeHandle } from '../../../util/handle.ts';
import { attribute, children, path, type XmlNode } from '../soap.ts';
import {
  AB_NS,
  AbFault,
  type AbOperation,
  deltasRequested,
  field,
  fullSyncRequired,
  isCurrent,
  registerAbService,
} from './ab-soap.ts';
import { createCircle } from './circle-service.ts';
import {
  findMembershipResult,
  inRole,
  MEMBER_ROLES,
  type MemberRole,
  membershipIdOf,
} from './membership-xml.ts';

/**
 * The Contact Sharing Service, `POST /abservice/SharingService.asmx` (MSNP wiki,
 * "Contact Sharing Service"): the Messenger service's memberships, i.e. MSN's allow,
 * block, reverse and pending lists, over the core's one relationship model
 * (src/core/relationships.ts):
 *
 * - FindMembership: Allow = mine.allow, Block = mine.block, Reverse = theirs.forward,
 *   Pending = `pending` (they added me; I have neither allowed, blocked nor
 *   acknowledged them).
 * - AddMember Allow / Block = relationships.allow / block (AL and BL stay disjoint).
 * - DeleteMember Allow / Block = unallow / unblock.
 * - DeleteMember Pending = the user has answered "X has added you"
 *   (relationships.acknowledgeAdded); what they answered is the AddMember Allow or Block
 *   that clients send with it, which is what changes who sees whom.
 * - AddMember Reverse (Pidgin sends it after DeleteMember Pending) and AddMember
 *   Pending: nothing to record — the reverse list is the contact's own forward list
 *   and the pending list is derived — so they succeed without a change.
 *
 * Every change is the same core call an MSNP12 `ADC`/`REM` or an XMPP subscription
 * stanza makes, so the user's other sessions and the contact hear of it the same way.
 */

/** Pidgin's plugin writes `POST /%s` with a path that already starts with `/`, so it asks for `//abservice/…`. */
export const SHARING_PATHS = [
  '/abservice/SharingService.asmx',
  '/abservice/sharingservice.asmx',
  '//abservice/SharingService.asmx',
] as const;

export function registerSharingService(app: FastifyInstance, core: Core): void {
  registerAbService(app, core, {
    name: 'sharing service',
    paths: SHARING_PATHS,
    operations: SHARING_OPERATIONS,
  });
}

const findMembership: AbOperation = async ({ core, account, request }) => {
  const { deltas, lastChange } = deltasRequested(request.action);
  // A client with an older copy cannot be told what was deleted since: it refetches all.
  if (deltas && !isCurrent(account, lastChange)) throw fullSyncRequired();
  // Nothing changed (a current delta request): the ticket's account is all the answer needs.
  const lists = deltas ? undefined : await core.relationships.snapshot(account.id);
  return `<FindMembershipResponse xmlns="${AB_NS}">${findMembershipResult(lists?.account ?? account, lists?.contacts)}</FindMembershipResponse>`;
};

/** One `Member` of a request: by passport (or e-mail) name, or by the MembershipId we gave. */
type MemberRef = { handle: string } | { membershipId: number };

function readMembers(action: XmlNode): Array<{ role: MemberRole; members: MemberRef[] }> {
  const out: Array<{ role: MemberRole; members: MemberRef[] }> = [];
  for (const membership of children(path(action, 'memberships'), 'Membership')) {
    const roleName = field(membership, 'MemberRole');
    const role = MEMBER_ROLES.find((r) => r === roleName);
    if (!role) throw new AbFault('InvalidArgument', `unknown member role ${roleName ?? '(none)'}`);
    const members = children(path(membership, 'Members'), 'Member').map((member): MemberRef => {
      const type = attribute(member, 'type');
      if (type === 'CircleMember') throw new AbFault('InvalidArgument', 'circles are not supported');
      const name = field(member, 'PassportName') ?? field(member, 'Email');
      if (name) return { handle: name };
      const id = Number(field(member, 'MembershipId'));
      if (Number.isInteger(id) && id > 0) return { membershipId: id };
      throw new AbFault('InvalidArgument', 'a member has neither PassportName nor MembershipId');
    });
    out.push({ role, members });
  }
  if (out.length === 0) throw new AbFault('InvalidArgument', 'no memberships');
  return out;
}

/** The contact a member names, among the owner's relationships; undefined if none. */
function findMember(lists: ListsSnapshot, ref: MemberRef, role: MemberRole): ContactView | undefined {
  if ('handle' in ref) {
    const handle = normalizeHandle(ref.handle);
    return lists.contacts.find((c) => c.contact.handle === handle);
  }
  // COMPAT: Pidgin names a Pending member by the MembershipId it was listed with.
  return lists.contacts.find((c) => membershipIdOf(c.contact.id, role) === ref.membershipId);
}

const addMember: AbOperation = async ({ core, account, request }) => {
  const relationships = core.relationships;
  for (const { role, members } of readMembers(request.action)) {
    for (const ref of members) {
      if (role === 'Reverse' || role === 'Pending') {
        // Nothing to record (see above); a name must still be an account here.
        if ('handle' in ref) await core.accounts.get(normalizeHandle(ref.handle));
        continue;
      }
      let handle: string;
      if ('handle' in ref) handle = ref.handle;
      else {
        const found = findMember(await relationships.snapshot(account.id), ref, role);
        if (!found) throw new AbFault('MemberDoesNotExist', 'no such member');
        handle = found.contact.handle;
      }
      if (role === 'Allow') await relationships.allow(account.id, handle);
      else await relationships.block(account.id, handle);
    }
  }
  return `<AddMemberResponse xmlns="${AB_NS}" />`;
};

const deleteMember: AbOperation = async ({ core, account, request }) => {
  const relationships = core.relationships;
  for (const { role, members } of readMembers(request.action)) {
    for (const ref of members) {
      const lists = await relationships.snapshot(account.id);
      const view = findMember(lists, ref, role);
      if (!view) throw new AbFault('MemberDoesNotExist', 'no such member');
      // Removing a member from a role it is not in changes nothing. COMPAT: Pidgin moves
      // a contact between AL and BL as DeleteMember then AddMember, and stops if the
      // first one fails.
      if (!inRole(view, role)) continue;
      const id = view.contact.id;
      if (role === 'Allow') await relationships.unallow(account.id, id);
      else if (role === 'Block') await relationships.unblock(account.id, id);
      else if (role === 'Pending') await relationships.acknowledgeAdded(account.id, id);
      // Reverse: the contact's own forward list; nobody removes themselves from it here.
    }
  }
  return `<DeleteMemberResponse xmlns="${AB_NS}" />`;
};

const SHARING_OPERATIONS: Readonly<Record<string, AbOperation>> = {
  FindMembership: findMembership,
  AddMember: addMember,
  DeleteMember: deleteMember,
  CreateCircle: createCircle,
};
