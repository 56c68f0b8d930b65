import { isCircleId } from '../../../core/circles.ts';
import { escapeXml } from '../../../util/xml.ts';
import { issueCircleTicket } from '../../ns/circle-ticket.ts';
import { AB_NS, type AbCall, AbFault, type AbOperation, field } from './ab-soap.ts';
import { circleAbXml, circleContactXml, circleInverseInfoXml, circleMemberContactXml } from './circle-xml.ts';

/**
 * Circle operations of the address book and sharing services (MSNP18), as MSNPSharp
 * 3.x (Services/ContactService.cs) and Windows Live Messenger 2009 call them:
 *
 * - Sharing `CreateCircle` (properties/DisplayName) creates a circle administered by
 *   the caller; the answer is its id.
 * - AB `CreateContact` with abHandle = the circle and contactHandle/Email invites that
 *   account; the following `ManageWLConnection` with the same abHandle only confirms.
 * - AB `ManageWLConnection` on the caller's own book with contactId = the circle's id
 *   (the circle contact's contactId): action 1 accepts the invitation, 2 declines it.
 * - `ABFindContactsPaged` with abHandle = the circle: its members.
 */

/** The own book's `CircleResult`: the account's circles and the ticket for `USR SHA A`. */
export async function circleResultXml(call: AbCall): Promise<{ result: string; contacts: string }> {
  const circles = await call.core.circles.circlesOf(call.account.id);
  const infos: string[] = [];
  const contacts: string[] = [];
  for (const { circle, member } of circles) {
    const inviter = member.inviterId ? await call.core.accounts.findById(member.inviterId) : undefined;
    infos.push(circleInverseInfoXml(circle, member));
    contacts.push(circleContactXml(circle, member, inviter));
  }
  const accepted = circles.filter((c) => c.member.state === 'accepted').map((c) => c.circle.id);
  const ticket = await issueCircleTicket(call.core, call.account, accepted);
  return {
    result: `<CircleResult><Circles>${infos.join('')}</Circles><CircleTicket>${escapeXml(ticket)}</CircleTicket></CircleResult>`,
    contacts: contacts.join(''),
  };
}

/** The abHandle's circle id, when the request names a circle's book. */
export function requestedCircle(call: AbCall): string | undefined {
  const abId = field(call.request.action, 'abHandle', 'ABId') ?? field(call.request.action, 'abId');
  return abId !== undefined && isCircleId(abId.toLowerCase()) ? abId.toLowerCase() : undefined;
}

/** A circle's book: its members and invitees, for one of them. */
export async function circleBook(call: AbCall, circleId: string): Promise<string> {
  const circle = await call.core.circles.get(circleId);
  const members = circle ? await call.core.circles.members(circleId) : [];
  if (!circle || !members.some((m) => m.account.id === call.account.id)) {
    throw new AbFault('ABDoesNotExist', 'no such address book');
  }
  const owner = members.find((m) => m.account.id === circle.ownerId)?.account;
  const lastChange = Math.max(circle.createdAt, ...members.map((m) => m.member.changedAt));
  return [
    `<ABFindContactsPagedResponse xmlns="${AB_NS}"><ABFindContactsPagedResult>`,
    `<Contacts>${members.map((m) => circleMemberContactXml(m, call.account.id)).join('')}</Contacts>`,
    circleAbXml(circle, owner, lastChange),
    '</ABFindContactsPagedResult></ABFindContactsPagedResponse>',
  ].join('');
}

export const createCircle: AbOperation = async (call) => {
  const name = field(call.request.action, 'properties', 'DisplayName');
  if (!name) throw new AbFault('BadArgumentLength', 'a circle needs a name');
  const circle = await call.core.circles.create(call.account.id, name);
  return `<CreateCircleResponse xmlns="${AB_NS}"><CreateCircleResult><Id>${circle.id}</Id></CreateCircleResult></CreateCircleResponse>`;
};

export const createContact: AbOperation = async (call) => {
  const circleId = requestedCircle(call);
  const email = field(call.request.action, 'contactHandle', 'Email');
  if (!circleId || !email) throw new AbFault('InvalidArgument', 'CreateContact needs a circle and an e-mail');
  const invitee = await call.core.accounts.find(email);
  if (!invitee) throw new AbFault('InvalidPassportUser', 'Invalid passport user');
  await call.core.circles.invite(circleId, call.account.id, invitee.id);
  const entry = (await call.core.circles.members(circleId)).find((m) => m.account.id === invitee.id);
  if (!entry) throw new AbFault('InvalidPassportUser', 'Invalid passport user');
  return `<CreateContactResponse xmlns="${AB_NS}"><CreateContactResult>${inner(circleMemberContactXml(entry, call.account.id))}</CreateContactResult></CreateContactResponse>`;
};

export const manageWLConnection: AbOperation = async (call) => {
  const action = call.request.action;
  const inCircle = requestedCircle(call);
  const contactId = field(action, 'contactId')?.toLowerCase();
  if (inCircle) {
    // The administrator's follow-up to CreateContact: the invitation is already made.
    const entry = (await call.core.circles.members(inCircle)).find((m) => m.account.id === contactId);
    if (!entry) throw new AbFault('ContactDoesNotExist', 'no such contact');
    return `<ManageWLConnectionResponse xmlns="${AB_NS}"><ManageWLConnectionResult>${inner(circleMemberContactXml(entry, call.account.id))}</ManageWLConnectionResult></ManageWLConnectionResponse>`;
  }
  if (!contactId || !isCircleId(contactId)) throw new AbFault('InvalidArgument', 'not a circle');
  const verb = field(action, 'action');
  if (verb !== '1' && verb !== '2') throw new AbFault('InvalidArgument', 'action is 1 or 2');
  await call.core.circles.respond(contactId, call.account.id, verb === '1');
  const own = (await call.core.circles.circlesOf(call.account.id)).find((c) => c.circle.id === contactId);
  const contact = own ? inner(circleContactXml(own.circle, own.member, undefined)) : '';
  return `<ManageWLConnectionResponse xmlns="${AB_NS}"><ManageWLConnectionResult>${contact}</ManageWLConnectionResult></ManageWLConnectionResponse>`;
};

/** A `<Contact>` element's content, for results typed ContactType. */
function inner(contact: string): string {
  return contact.replace(/^<Contact>/, '').replace(/<\/Contact>$/, '');
}
