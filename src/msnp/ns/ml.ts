import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { isValidHandle, normalizeHandle } from '../../util/handle.ts';
import { escapeXml } from '../../util/xml.ts';
import { MsnpError } from '../errors.ts';

/**
 * The `<ml>` membership-list payload of ADL, RML and FQY (MSNP13+; NINA wiki
 * Commands/ADL, Commands/FQY; Pidgin msn/notification.c `msn_add_contact_xml`):
 * `<ml l="1"><d n="domain"><c n="local" l="3" t="1"/></d></ml>`. `l` on `<ml>` marks
 * the initial list, `l` on `<c>` the list bits, `t` the network (1: Messenger).
 */
export interface MlContact {
  handle: string;
  /** List bits (lists.ts LIST_BITS: FL 1, AL 2, BL 4, RL 8, PL 16); 0 when absent (FQY). */
  lists: number;
  /** Network id; undefined when the client left it out (it does not know it yet). */
  network: number | undefined;
}

export interface MlPayload {
  initial: boolean;
  contacts: MlContact[];
}

/** Circles ("groups" in WLM 2009) are network 9 under `live.com`. */
export const CIRCLE_NETWORK = 9;

/** Pidgin sends up to 150 contacts per command; the real service split long lists likewise. */
export const MAX_ML_CONTACTS = 150;

/** A payload the client got wrong, with the MSNP error code to answer (240, 241, 204, 201). */
export class MlError extends Error {
  constructor(readonly code: number) {
    super(`bad ml payload (${code})`);
  }
}

const parser = new XMLParser({
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'd' || name === 'c',
});

type Attributes = Record<string, unknown>;

const attr = (node: Attributes, name: string): string | undefined =>
  typeof node[name] === 'string' ? (node[name] as string) : undefined;

function number(value: string | undefined, code: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,4}$/.test(value)) throw new MlError(code);
  return Number(value);
}

/**
 * Reads an `<ml>` payload. Errors (Escargot's answers, which WLM and Pidgin accept):
 * 241 for XML that is not an `<ml>`, a `<d>` without a name, a contact without one, or
 * too many contacts; 240 for an empty `<d>`; 204 for a network id that is not a number.
 */
export function parseMl(xml: string): MlPayload {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml) || XMLValidator.validate(xml) !== true) {
    throw new MlError(MsnpError.invalidXmlPayload);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch {
    // The validator passes some input the parser then refuses (`<?x "?>`: a quote in a PI).
    throw new MlError(MsnpError.invalidXmlPayload);
  }
  const ml = doc.ml;
  if (ml === undefined) throw new MlError(MsnpError.invalidXmlPayload);
  const root: Attributes = typeof ml === 'object' && ml !== null ? (ml as Attributes) : {};
  const contacts: MlContact[] = [];
  const domains = Array.isArray(root.d) ? (root.d as unknown[]) : [];
  for (const d of domains) {
    const domainNode: Attributes = typeof d === 'object' && d !== null ? (d as Attributes) : {};
    const domain = attr(domainNode, 'n');
    if (!domain) throw new MlError(MsnpError.invalidXmlPayload);
    const cs = Array.isArray(domainNode.c) ? (domainNode.c as unknown[]) : [];
    if (cs.length === 0) throw new MlError(MsnpError.emptyDomain);
    for (const c of cs) {
      const contactNode: Attributes = typeof c === 'object' && c !== null ? (c as Attributes) : {};
      const local = attr(contactNode, 'n');
      if (!local) throw new MlError(MsnpError.invalidXmlPayload);
      const lists = number(attr(contactNode, 'l'), MsnpError.invalidXmlPayload) ?? 0;
      const network = number(attr(contactNode, 't'), MsnpError.invalidNetworkId);
      contacts.push({ handle: normalizeHandle(`${local}@${domain}`), lists, network });
      if (contacts.length > MAX_ML_CONTACTS) throw new MlError(MsnpError.invalidXmlPayload);
    }
  }
  return { initial: attr(root, 'l') === '1', contacts };
}

/** Whether a contact of an `<ml>` names a Messenger account by a valid handle. */
export function isMessengerContact(contact: MlContact): boolean {
  return (contact.network === undefined || contact.network === 1) && isValidHandle(contact.handle);
}

/** One `<c>` to write: the handle, and the attributes in order. */
export interface MlEntry {
  handle: string;
  attributes: Record<string, string | number>;
}

/** Writes `<ml><d n="domain"><c n="local" …/></d></ml>`, grouping contacts by domain. */
export function mlXml(entries: readonly MlEntry[]): string {
  const byDomain = new Map<string, string[]>();
  for (const { handle, attributes } of entries) {
    const at = handle.lastIndexOf('@');
    const local = handle.slice(0, at);
    const domain = handle.slice(at + 1);
    const attrs = Object.entries(attributes)
      .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
      .join('');
    const list = byDomain.get(domain) ?? [];
    list.push(`<c n="${escapeXml(local)}"${attrs}/>`);
    byDomain.set(domain, list);
  }
  let xml = '<ml>';
  for (const [domain, cs] of byDomain) xml += `<d n="${escapeXml(domain)}">${cs.join('')}</d>`;
  return `${xml}</ml>`;
}
