import { XMLParser } from 'fast-xml-parser';
import { isXmlChar } from '../../util/xml.ts';

/**
 * Small XML helpers for the SOAP services: a parser set up for untrusted input,
 * navigation by local name, and the SOAP 1.1 response envelope. Responses are
 * escaped with util/xml.ts.
 */

/** A parsed element as fast-xml-parser returns it: text, or an object of children and `@_` attributes. */
export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] };

export class XmlRejected extends Error {
  override name = 'XmlRejected';
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Entity decoding limited to XML's five predefined entities and character
 * references (XML 1.0 §4.1, §4.6). Declared entities are never expanded, so no
 * "billion laughs"; with the DOCTYPE refused up front there are none anyway.
 */
const entityDecoder = {
  setExternalEntities: () => {},
  addInputEntities: () => {},
  reset: () => {},
  setXmlVersion: () => {},
  decode: (text: string): string =>
    text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (whole, ref: string) => {
      if (ref.startsWith('#')) {
        const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
        return isXmlChar(code) ? String.fromCodePoint(code) : whole;
      }
      return XML_ENTITIES[ref] ?? whole;
    }),
};

const parser = new XMLParser({
  // Elements and attributes by local name: clients choose their own prefixes.
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  // Keep every value a string exactly as sent: a password "0012" stays "0012",
  // and " pw " keeps its spaces.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  entityDecoder,
});

/**
 * Parses a SOAP request body. Throws `XmlRejected` for anything that is not a
 * well-formed document or that carries a document type declaration: SOAP 1.1
 * (W3C Note, §3) says a SOAP message MUST NOT contain one, and refusing it outright
 * rules out entity-expansion and external-entity tricks before the parser runs.
 */
export function parseSoap(body: string): XmlNode {
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) throw new XmlRejected('document type declarations are not allowed');
  let parsed: unknown;
  try {
    parsed = parser.parse(body, true);
  } catch (err) {
    throw new XmlRejected(`not well-formed XML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new XmlRejected('no root element');
  return parsed as XmlNode;
}

/** The child elements called `name` (a local name), in document order. */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  if (node === undefined || typeof node === 'string') return [];
  const value = node[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The first child element called `name`. */
export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return children(node, name)[0];
}

/** Follows a path of local names through first children. */
export function path(node: XmlNode | undefined, ...names: string[]): XmlNode | undefined {
  let current = node;
  for (const name of names) current = child(current, name);
  return current;
}

/** An element's text content ('' for an empty element); undefined when there is no element. */
export function text(node: XmlNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (typeof node === 'string') return node;
  const value = node['#text'];
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter((v) => typeof v === 'string').join('');
  return '';
}

/** An attribute by local name. */
export function attribute(node: XmlNode | undefined, name: string): string | undefined {
  if (node === undefined || typeof node === 'string') return undefined;
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

/** A SOAP request's parts and the operation its Body names. */
export interface SoapOperation<O extends string> {
  envelope: XmlNode | undefined;
  body: XmlNode | undefined;
  operation: O;
}

/**
 * The request body's Envelope and the first of `operations` its Body holds: 'unreadable'
 * for a missing or rejected body (see `parseSoap`), 'unknown' for no such operation.
 * Each service answers the two with its own fault.
 */
export function readOperation<O extends string>(
  requestBody: unknown,
  operations: readonly O[],
): SoapOperation<O> | 'unreadable' | 'unknown' {
  let envelope: XmlNode | undefined;
  try {
    if (typeof requestBody !== 'string') throw new XmlRejected('empty body');
    envelope = path(parseSoap(requestBody), 'Envelope');
  } catch (err) {
    if (!(err instanceof XmlRejected)) throw err;
    return 'unreadable';
  }
  const body = path(envelope, 'Body');
  const operation = operations.find((op) => path(body, op) !== undefined);
  return operation === undefined ? 'unknown' : { envelope, body, operation };
}

/**
 * A SOAP 1.1 response envelope, with a `soap:Header` only when `header` is given.
 * One line, no blank lines and no indentation. COMPAT: msn-pecan reads these bodies
 * with strstr: a CRLF CRLF before GetMessageResult's MIME would be taken for the
 * message's own header end (pn_oim.c process_body_receive).
 */
export function soapEnvelope(body: string, header?: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
    (header === undefined ? '' : `<soap:Header>${header}</soap:Header>`) +
    `<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}
