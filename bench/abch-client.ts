import { escapeXml } from '../src/util/xml.ts';
import { type HttpsTarget, postSoap } from './https-post.ts';

/**
 * The two address-book calls an MSNP18 client makes at every sign-in, as Pidgin's
 * MSNP18 plugin sends them (retro-prpl msn/contact.h MSN_GET_CONTACT_TEMPLATE,
 * MSN_GET_ADDRESS_TEMPLATE; MSNP wiki "Address Book Service", "Contact Sharing
 * Service"), and what the client reads back: the list bits of each contact, which it
 * then announces in its initial `ADL`.
 */

const AB_NS = 'http://www.msn.com/webservices/AddressBook';
/** Pidgin's application id (msn/contact.h MSN_APPLICATION_ID). */
const APPLICATION_ID = 'F6D2794D-501F-443A-ADBE-8F1490FF30FD';
/** Pidgin's address-book host (msn/contact.h MSN_CONTACT_SERVER). */
const CONTACTS_HOST = 'local-bay.contacts.msn.com';

/** MSN's list bits, as `<c l="…">` of an ADL writes them (NINA wiki Commands/ADL). */
export const LIST = { FL: 1, AL: 2, BL: 4 } as const;

/** The envelope both services take: the application header and the contacts ticket. */
function abEnvelope(ticket: string, body: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<soap:Header><ABApplicationHeader xmlns="${AB_NS}"><ApplicationId>${APPLICATION_ID}</ApplicationId>` +
    '<IsMigration>false</IsMigration><PartnerScenario>Initial</PartnerScenario></ABApplicationHeader>' +
    `<ABAuthHeader xmlns="${AB_NS}"><ManagedGroupRequest>false</ManagedGroupRequest>` +
    `<TicketToken>${escapeXml(ticket)}</TicketToken></ABAuthHeader></soap:Header>` +
    `<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

async function call(
  target: HttpsTarget,
  localAddress: string | undefined,
  path: string,
  operation: string,
  ticket: string,
  inner: string,
): Promise<string> {
  const body = abEnvelope(ticket, `<${operation} xmlns="${AB_NS}">${inner}</${operation}>`);
  const res = await postSoap(target, {
    path,
    hostName: CONTACTS_HOST,
    body,
    localAddress,
    soapAction: `${AB_NS}/${operation}`,
  });
  if (res.status !== 200) {
    const code = /<(?:\w+:)?errorcode[^>]*>([^<]*)</.exec(res.text)?.[1];
    const fault = /<faultstring>([^<]*)</.exec(res.text)?.[1];
    throw new Error(`${operation} ${res.status}: ${code ?? ''} ${fault ?? ''}`.trim());
  }
  return res.text;
}

/** The text of every `<name>` in `xml`, XML-unescaped enough for handles. */
function all(xml: string, name: string): string[] {
  const re = new RegExp(`<${name}>([^<]*)</${name}>`, 'g');
  return [...xml.matchAll(re)].map((m) => (m[1] ?? '').replace(/&amp;/g, '&'));
}

/**
 * FindMembership (SharingService.asmx), a full one: each contact's allow (AL) and
 * block (BL) bits from the Messenger service's Allow and Block memberships.
 */
export async function findMembership(
  target: HttpsTarget,
  localAddress: string | undefined,
  ticket: string,
): Promise<Map<string, number>> {
  const types = ['Messenger', 'Invitation', 'SocialNetwork', 'Space', 'Profile']
    .map((t) => `<ServiceType>${t}</ServiceType>`)
    .join('');
  const text = await call(
    target,
    localAddress,
    '/abservice/SharingService.asmx',
    'FindMembership',
    ticket,
    `<serviceFilter><Types>${types}</Types></serviceFilter>`,
  );
  const lists = new Map<string, number>();
  for (const [, membership = ''] of text.matchAll(/<Membership>(.*?)<\/Membership>/gs)) {
    const role = /<MemberRole>([^<]*)</.exec(membership)?.[1];
    const bit = role === 'Allow' ? LIST.AL : role === 'Block' ? LIST.BL : 0;
    if (bit === 0) continue;
    for (const handle of all(membership, 'PassportName'))
      lists.set(handle.toLowerCase(), (lists.get(handle.toLowerCase()) ?? 0) | bit);
  }
  return lists;
}

/**
 * ABFindContactsPaged (abservice.asmx), a full one: the handles of the address
 * book's Messenger contacts (the forward list), without the `Me` contact.
 */
export async function abFindContactsPaged(
  target: HttpsTarget,
  localAddress: string | undefined,
  ticket: string,
): Promise<string[]> {
  const text = await call(
    target,
    localAddress,
    '/abservice/abservice.asmx',
    'ABFindContactsPaged',
    ticket,
    '<abView>Full</abView><extendedContent>AB AllGroups CircleResult</extendedContent>',
  );
  const handles: string[] = [];
  for (const [, info = ''] of text.matchAll(/<contactInfo>(.*?)<\/contactInfo>/gs)) {
    if (!info.includes('<isMessengerUser>true<') || info.includes('<contactType>Me<')) continue;
    const handle = /<passportName>([^<]*)</.exec(info)?.[1];
    if (handle) handles.push(handle.replace(/&amp;/g, '&').toLowerCase());
  }
  return handles;
}

/**
 * The initial `ADL` payloads (`<ml l="1">`, NINA wiki Commands/ADL): every contact
 * with its list bits on the Messenger network (`t="1"`), at most 150 per command
 * as Pidgin splits them (msn/notification.c msn_notification_dump_contact), or one
 * empty `<ml l="1"/>` for an empty list, which still lets the server set us online.
 */
export function initialAdl(lists: ReadonlyMap<string, number>): string[] {
  const entries = [...lists].filter(([, bits]) => bits !== 0);
  if (entries.length === 0) return ['<ml l="1"></ml>'];
  const payloads: string[] = [];
  for (let i = 0; i < entries.length; i += 150) {
    const byDomain = new Map<string, string[]>();
    for (const [handle, bits] of entries.slice(i, i + 150)) {
      const at = handle.lastIndexOf('@');
      const cs = byDomain.get(handle.slice(at + 1)) ?? [];
      cs.push(`<c n="${escapeXml(handle.slice(0, at))}" l="${bits}" t="1"/>`);
      byDomain.set(handle.slice(at + 1), cs);
    }
    let xml = '<ml l="1">';
    for (const [domain, cs] of byDomain) xml += `<d n="${escapeXml(domain)}">${cs.join('')}</d>`;
    payloads.push(`${xml}</ml>`);
  }
  return payloads;
}
