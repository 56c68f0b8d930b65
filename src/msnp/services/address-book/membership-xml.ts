import { createHash } from 'node:crypto';
import type { ContactView } from '../../../core/relationships.ts';
import type { AccountRow } from '../../../store/types.ts';
import { memoize } from '../../../util/memo.ts';
import { escapeXml } from '../../../util/xml.ts';
import { cidOf } from '../../cid.ts';
import { isoTime, lastChangeOf, NEVER, OWN_AB_ID } from './ab-soap.ts';

/**
 * The sharing service's memberships of the Messenger service, as FindMembership
 * returns them (MSNP wiki, FindMembership; Pidgin msn/contact.c
 * msn_parse_each_service/msn_parse_each_member reads
 * `Services/Service[Info/Handle/Type=Messenger]/Memberships/Membership/{MemberRole,
 * Members/Member[@xsi:type=PassportMember]/{PassportName, MembershipId}}` and
 * `Service/LastChange`).
 */

export type MemberRole = 'Allow' | 'Block' | 'Reverse' | 'Pending';
export const MEMBER_ROLES: readonly MemberRole[] = ['Allow', 'Block', 'Reverse', 'Pending'];

/** Who holds each role, from the core's one relationship model. */
export function inRole(view: ContactView, role: MemberRole): boolean {
  switch (role) {
    case 'Allow':
      return view.mine.allow;
    case 'Block':
      return view.mine.block;
    case 'Reverse':
      return view.theirs.forward;
    case 'Pending':
      return view.pending;
  }
}

/**
 * A membership's number. COMPAT: Pidgin keeps the Pending member's `MembershipId` with
 * `atoi` and sends it back as `%u` in DeleteMember, so it must be a positive 31-bit
 * decimal; derived from the contact's account id and the role, so it is stable and
 * DeleteMember can find the contact again.
 */
export function membershipIdOf(contactId: string, role: MemberRole): number {
  return membershipId(`${role}:${contactId}`);
}

const membershipId = memoize((key) => {
  const digest = createHash('sha256').update(`membership:${key}`, 'utf8').digest();
  return digest.readUInt32BE(0) & 0x7fffffff || 1;
});

function memberXml(view: ContactView, role: MemberRole, lastChange: string): string {
  const c = view.contact;
  return [
    '<Member xsi:type="PassportMember" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    `<MembershipId>${membershipIdOf(c.id, role)}</MembershipId>`,
    '<Type>Passport</Type>',
    `<DisplayName>${escapeXml(c.displayName)}</DisplayName>`,
    '<State>Accepted</State>',
    '<Deleted>false</Deleted>',
    `<LastChanged>${lastChange}</LastChanged>`,
    `<JoinedDate>${isoTime(c.createdAt)}</JoinedDate>`,
    `<ExpirationDate>${NEVER}</ExpirationDate>`,
    '<Changes />',
    `<PassportName>${escapeXml(c.handle)}</PassportName>`,
    '<IsPassportNameHidden>false</IsPassportNameHidden>',
    '<PassportId>0</PassportId>',
    `<CID>${cidOf(c.id)}</CID>`,
    '<PassportChanges />',
    '<LookedupByCID>false</LookedupByCID>',
    '</Member>',
  ].join('');
}

/**
 * The FindMembershipResult: the Messenger service with all four roles (an empty role
 * has an empty Members), and the owner namespace. No `contacts`: a delta answer with
 * no change since the client's copy.
 */
export function findMembershipResult(account: AccountRow, contacts?: readonly ContactView[]): string {
  const lastChange = lastChangeOf(account);
  const memberships =
    contacts === undefined
      ? ''
      : MEMBER_ROLES.map((role) => {
          const members = contacts.filter((c) => inRole(c, role)).map((c) => memberXml(c, role, lastChange));
          return `<Membership><MemberRole>${role}</MemberRole><Members>${members.join('')}</Members><MembershipIsComplete>true</MembershipIsComplete></Membership>`;
        }).join('');
  return [
    '<FindMembershipResult>',
    '<Services><Service>',
    `<Memberships>${memberships}</Memberships>`,
    '<Info><Handle><Id>1</Id><Type>Messenger</Type><ForeignId /></Handle>',
    '<InverseRequired>false</InverseRequired><AuthorizationCriteria>Everyone</AuthorizationCriteria><IsBot>false</IsBot></Info>',
    '<Changes />',
    `<LastChange>${lastChange}</LastChange>`,
    '<Deleted>false</Deleted>',
    '</Service></Services>',
    ownerNamespace(account),
    '</FindMembershipResult>',
  ].join('');
}

function ownerNamespace(account: AccountRow): string {
  return [
    '<OwnerNamespace>',
    `<Info><Handle><Id>${OWN_AB_ID}</Id><IsPassportNameHidden>false</IsPassportNameHidden><CID>0</CID></Handle>`,
    `<CreatorPuid>0</CreatorPuid><CreatorCID>${cidOf(account.id)}</CreatorCID>`,
    `<CreatorPassportName>${escapeXml(account.handle)}</CreatorPassportName>`,
    '<CircleAttributes><IsPresenceEnabled>false</IsPresenceEnabled><Domain>WindowsLive</Domain></CircleAttributes>',
    '<MessengerApplicationServiceCreated>false</MessengerApplicationServiceCreated></Info>',
    '<Changes />',
    `<CreateDate>${isoTime(account.createdAt)}</CreateDate>`,
    `<LastChange>${lastChangeOf(account)}</LastChange>`,
    '</OwnerNamespace>',
  ].join('');
}
