import assert from 'node:assert/strict';
import { XMLParser } from 'fast-xml-parser';
import { httpsRequest, type TestServer } from './papillon-server.ts';

/**
 * A client of the address book (ABCH) and contact sharing services, sending requests in
 * the envelope Pidgin's MSNP18 plugin uses (msn/contact.h) and parsing the answers by
 * local name, for tests of MSNP13+ features that need a contact list.
 */

export const AB_NS = 'http://www.msn.com/webservices/AddressBook';
const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  isArray: (name) => ['Contact', 'Group', 'Membership', 'Member', 'Annotation', 'guid'].includes(name),
});

// biome-ignore lint/suspicious/noExplicitAny: parsed SOAP is navigated freely in tests
export type Xml = any;

/** A request in Pidgin's envelope (msn/contact.h), to the path Pidgin asks for. */
export async function abSoap(
  server: TestServer,
  service: 'abservice.asmx' | 'SharingService.asmx',
  operation: string,
  ticket: string | null,
  inner: string,
  options: { host?: string; scenario?: string; path?: string; cookie?: string } = {},
) {
  const host = options.host ?? 'local-bay.contacts.msn.com';
  const auth = ticket === null ? '' : `<TicketToken>${ticket.replace(/&/g, '&amp;')}</TicketToken>`;
  const body = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"><soap:Header><ABApplicationHeader xmlns="${AB_NS}"><ApplicationId>F6D2794D-501F-443A-ADBE-8F1490FF30FD</ApplicationId><IsMigration>false</IsMigration><PartnerScenario>${options.scenario ?? 'Initial'}</PartnerScenario></ABApplicationHeader><ABAuthHeader xmlns="${AB_NS}"><ManagedGroupRequest>false</ManagedGroupRequest>${auth}</ABAuthHeader></soap:Header><soap:Body><${operation} xmlns="${AB_NS}">${inner}</${operation}></soap:Body></soap:Envelope>`;
  const res = await httpsRequest(server, {
    path: options.path ?? `/abservice/${service}`,
    method: 'POST',
    servername: host,
    headers: {
      Host: host,
      SOAPAction: `http://www.msn.com/webservices/AddressBook/${operation}`,
      'Content-Type': 'text/xml; charset=utf-8',
      ...(options.cookie ? { Cookie: options.cookie } : {}),
    },
    body,
  });
  const xml: Xml = parser.parse(res.body);
  return { status: res.status, headers: res.headers, raw: res.body, body: xml?.Envelope?.Body as Xml };
}

export const FIND_PAGED = '<abView>Full</abView><extendedContent>AB AllGroups CircleResult</extendedContent>';
export const FIND_MEMBERSHIP =
  '<serviceFilter><Types><ServiceType>Messenger</ServiceType><ServiceType>Invitation</ServiceType></Types></serviceFilter>';
export const member = (handle: string) =>
  `<Member xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="PassportMember"><Type>Passport</Type><State>Accepted</State><PassportName>${handle}</PassportName></Member>`;
/** A member named by its MembershipId, as Pidgin's MSN_MEMBER_MEMBERSHIPID_XML names it. */
export const memberById = (membershipId: string | number) =>
  `<Member xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="PassportMember"><Type>Passport</Type><MembershipId>${membershipId}</MembershipId><State>Accepted</State></Member>`;
export const memberships = (role: string, members: string) =>
  `<serviceHandle><Id>0</Id><Type>Messenger</Type><ForeignId></ForeignId></serviceHandle><memberships><Membership><MemberRole>${role}</MemberRole><Members>${members}</Members></Membership></memberships>`;

/** Role name → passport names, from a FindMembership answer. */
export function roles(body: Xml): Record<string, string[]> {
  const service = body.FindMembershipResponse.FindMembershipResult.Services.Service;
  assert.equal(service.Info.Handle.Type, 'Messenger');
  const out: Record<string, string[]> = {};
  for (const m of service.Memberships.Membership ?? []) {
    out[m.MemberRole] = (m.Members?.Member ?? []).map((x: Xml) => {
      assert.equal(x['@_type'], 'PassportMember');
      return x.PassportName;
    });
  }
  return out;
}

export const annotation = (contact: Xml, name: string) =>
  contact.contactInfo.annotations?.Annotation?.find((a: Xml) => a.Name === name)?.Value;
