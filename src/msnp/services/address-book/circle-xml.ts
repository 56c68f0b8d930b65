import type { CircleMember } from '../../../core/circles.ts';
import type { AccountRow, CircleMemberRow, CircleRow } from '../../../store/types.ts';
import { escapeXml } from '../../../util/xml.ts';
import { cidOf } from '../../cid.ts';
import { isoTime, NEVER } from './ab-soap.ts';
import { commonInfo } from './contact-xml.ts';

/**
 * Circles in the address book (MSNP18). Shapes from the ABCH schema
 * (msnab_datatypes.xsd: CircleResultType, CircleInverseInfoType, NetworkInfoType) and
 * what MSNPSharp 3.x (IO/XMLContactList.cs) reads: the account's own book lists each
 * circle as a `CircleInverseInfo` (its role and state in `PersonalInfo`) and as a
 * contact of type `Circle` (the "hidden representative", `contactId` = the circle id);
 * the circle's own book (abHandle ABId = circle id) lists its members, each with a
 * NetworkInfo of DomainId 1, RelationshipType 5 (circle), their role and state.
 */

/** CirclePersonalMembershipRole (MSNPSharp enums.cs): 1 Admin, 3 Member, 4 StatePendingOutbound. */
function roleOf(m: CircleMemberRow): { name: string; id: number } {
  if (m.state === 'pending') return { name: 'StatePendingOutbound', id: 4 };
  return m.role === 1 ? { name: 'Admin', id: 1 } : { name: 'Member', id: 3 };
}

/** RelationshipState: 1 WaitingResponse (invited), 3 Accepted. */
function stateOf(m: CircleMemberRow): { name: string; id: number } {
  return m.state === 'pending' ? { name: 'WaitingResponse', id: 1 } : { name: 'Accepted', id: 3 };
}

export function circleInverseInfoXml(circle: CircleRow, member: CircleMemberRow): string {
  const name = escapeXml(circle.name);
  return [
    '<CircleInverseInfo><Content>',
    `<Handle><Id>${escapeXml(circle.id)}</Id></Handle>`,
    '<Info><Domain>1</Domain><HostedDomain>live.com</HostedDomain><Type>2</Type>',
    '<MembershipAccess>0</MembershipAccess><IsPresenceEnabled>true</IsPresenceEnabled>',
    `<RequestMembershipOption>2</RequestMembershipOption><DisplayName>${name}</DisplayName>`,
    `<ProfileLastUpdated>${NEVER}</ProfileLastUpdated><Changes />`,
    `<CreateDate>${isoTime(circle.createdAt)}</CreateDate><LastChanged>${isoTime(member.changedAt)}</LastChanged>`,
    '</Info></Content>',
    '<PersonalInfo><MembershipInfo><CirclePersonalMembership>',
    `<Role>${roleOf(member).name}</Role><State>${stateOf(member).name}</State>`,
    '</CirclePersonalMembership></MembershipInfo>',
    `<Name>${name}</Name><IsNotMobileVisible>false</IsNotMobileVisible><IsFavorite>false</IsFavorite>`,
    '<IsFamily>false</IsFamily><Changes /></PersonalInfo>',
    '<Deleted>false</Deleted></CircleInverseInfo>',
  ].join('');
}

function networkInfoXml(
  displayName: string,
  member: CircleMemberRow,
  inviter: AccountRow | undefined,
): string {
  const invitedBy = inviter
    ? `<InviterName>${escapeXml(inviter.displayName)}</InviterName><InviterCID>${cidOf(inviter.id)}</InviterCID><InviterEmail>${escapeXml(inviter.handle)}</InviterEmail>`
    : '';
  return [
    '<NetworkInfoList><NetworkInfo><DomainId>1</DomainId>',
    `<DomainTag>${escapeXml(member.circleId)}</DomainTag><DisplayName>${escapeXml(displayName)}</DisplayName>`,
    `<RelationshipType>5</RelationshipType><RelationshipState>${stateOf(member).id}</RelationshipState>`,
    `<RelationshipStateDate>${isoTime(member.changedAt)}</RelationshipStateDate>`,
    `<RelationshipRole>${roleOf(member).id}</RelationshipRole><NDRCount>0</NDRCount>`,
    invitedBy,
    `<CreateDate>${isoTime(member.changedAt)}</CreateDate><LastChanged>${isoTime(member.changedAt)}</LastChanged>`,
    '<PropertiesChanged /><SourceId>WL</SourceId></NetworkInfo></NetworkInfoList>',
  ].join('');
}

/** The circle as a contact of the account's own book: network 9, `<circle id>@live.com`. */
export function circleContactXml(
  circle: CircleRow,
  member: CircleMemberRow,
  inviter: AccountRow | undefined,
): string {
  const name = escapeXml(circle.name);
  return [
    `<Contact><contactId>${escapeXml(circle.id)}</contactId><contactInfo>`,
    `<contactType>Circle</contactType><quickName>${name}</quickName>`,
    `<passportName>${escapeXml(circle.id)}@live.com</passportName>`,
    `<IsPassportNameHidden>false</IsPassportNameHidden><displayName>${name}</displayName>`,
    commonInfo(cidOf(circle.id)),
    networkInfoXml(circle.name, member, inviter),
    '</contactInfo><propertiesChanged /><fDeleted>false</fDeleted>',
    `<CreateDate>${isoTime(circle.createdAt)}</CreateDate><lastChange>${isoTime(member.changedAt)}</lastChange></Contact>`,
  ].join('');
}

/** A member (or invitee) in the circle's own book; the caller is its `Me`. */
export function circleMemberContactXml(entry: CircleMember, callerId: string): string {
  const a = entry.account;
  const type = a.id === callerId ? 'Me' : 'Live';
  return [
    `<Contact><contactId>${escapeXml(a.id)}</contactId><contactInfo>`,
    `<contactType>${type}</contactType><quickName>${escapeXml(a.displayName)}</quickName>`,
    `<passportName>${escapeXml(a.handle)}</passportName>`,
    `<IsPassportNameHidden>false</IsPassportNameHidden><displayName>${escapeXml(a.displayName)}</displayName>`,
    commonInfo(cidOf(a.id)),
    networkInfoXml(a.displayName, entry.member, undefined),
    '</contactInfo><propertiesChanged /><fDeleted>false</fDeleted>',
    `<CreateDate>${isoTime(entry.member.changedAt)}</CreateDate><lastChange>${isoTime(entry.member.changedAt)}</lastChange></Contact>`,
  ].join('');
}

/** The `Ab` element of a circle's book (AddressBookType Group). */
export function circleAbXml(circle: CircleRow, owner: AccountRow | undefined, lastChange: number): string {
  return [
    `<Ab><abId>${escapeXml(circle.id)}</abId><abInfo><MigratedTo>2</MigratedTo>`,
    `<name>${escapeXml(circle.name)}</name><ownerPuid>0</ownerPuid>`,
    `<OwnerCID>${owner ? cidOf(owner.id) : '0'}</OwnerCID>`,
    owner ? `<ownerEmail>${escapeXml(owner.handle)}</ownerEmail>` : '',
    '<fDefault>false</fDefault><joinedNamespace>false</joinedNamespace><IsBot>false</IsBot>',
    '<IsParentManaged>false</IsParentManaged><SubscribeExternalPartner>false</SubscribeExternalPartner>',
    '<NotifyExternalPartner>false</NotifyExternalPartner><AddressBookType>Group</AddressBookType>',
    '<MessengerApplicationServiceCreated>false</MessengerApplicationServiceCreated>',
    '<IsBetaMigrated>false</IsBetaMigrated></abInfo>',
    `<lastChange>${isoTime(lastChange)}</lastChange><DynamicItemLastChanged>${NEVER}</DynamicItemLastChanged>`,
    `<createDate>${isoTime(circle.createdAt)}</createDate><propertiesChanged /></Ab>`,
  ].join('');
}
