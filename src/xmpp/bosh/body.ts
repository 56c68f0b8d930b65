import { escapeXml } from '../../util/xml.ts';
import { NS } from '../namespaces.ts';
import type { XmlElement } from '../stream/element.ts';
import { XmppStreamParser } from '../stream/parser.ts';

/** XEP-0124 §4: the namespace of `<body/>`. */
export const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';
/** XEP-0206 §4: the namespace of `xmpp:version`, `xmpp:restart`. */
export const NS_XBOSH = 'urn:xmpp:xbosh';
/** XEP-0124 version this implements (§7.1 `ver`). */
export const BOSH_VERSION = '1.11';

/** XEP-0124 §17.2: terminal binding error conditions used here. */
export type BoshCondition =
  | 'bad-request'
  | 'host-unknown'
  | 'item-not-found'
  | 'policy-violation'
  | 'remote-stream-error'
  | 'system-shutdown'
  | 'undefined-condition';

/**
 * One request's `<body/>` (XEP-0124 §4), parsed under the same restricted-XML rules and
 * limits as a TCP stream (RFC 6120 §11, stream/parser.ts): no DTD, comment, PI or entity.
 * Undefined: not one well-formed `<body/>` in the httpbind namespace (`bad-request`, §17.2).
 */
export function parseBody(data: Buffer, maxBytes: number): XmlElement | undefined {
  const found: XmlElement[] = [];
  let failed = false;
  const parser = new XmppStreamParser(
    {
      streamOpen: () => {},
      stanza: (element) => found.push(element),
      streamClose: () => {
        failed = true;
      },
      error: () => {
        failed = true;
      },
    },
    { maxStanzaBytes: maxBytes },
  );
  // The body is parsed as the one child of a stream it never saw; an XML declaration
  // before it would be a processing instruction there, so it is cut off first.
  let input = data;
  const head = data.subarray(0, 5).toString('latin1');
  if (head === '<?xml') {
    const end = data.indexOf('?>');
    if (end < 0) return undefined;
    input = data.subarray(end + 2);
  }
  parser.write(Buffer.from(`<stream:stream xmlns='${NS.client}' xmlns:stream='${NS.streams}'>`));
  parser.write(input);
  const [body] = found;
  if (failed || found.length !== 1 || !parser.betweenElements || !body) return undefined;
  if (body.name !== 'body' || body.xmlns !== NS_HTTPBIND) return undefined;
  for (const child of body.getChildren()) {
    // COMPAT: a stanza left unqualified inside `<body/>` would be in the httpbind namespace;
    // XEP-0206 §8 asks for `jabber:client`, which is what such a client means.
    if (child.xmlns === NS_HTTPBIND) child.attrs.xmlns = NS.client;
  }
  return body;
}

/** An attribute in the xbosh namespace (XEP-0206 §4), whatever prefix the client bound to it. */
export function xboshAttr(body: XmlElement, local: string): string | undefined {
  for (const [name, value] of Object.entries(body.attrs)) {
    const colon = name.indexOf(':');
    if (colon < 0 || name.slice(colon + 1) !== local) continue;
    const prefix = name.slice(0, colon);
    if (prefix !== 'xmlns' && body.attrs[`xmlns:${prefix}`] === NS_XBOSH) return value;
  }
  return undefined;
}

/**
 * A response `<body/>` (XEP-0124 §7.1, §8): its attributes and payload elements, which stand
 * alone (websocket/transport.ts `standalone`); `stream:` is bound here for features and errors.
 */
export function renderBody(
  attrs: Record<string, string | undefined>,
  payloads: readonly string[] = [],
): string {
  let out = `<body xmlns='${NS_HTTPBIND}' xmlns:xmpp='${NS_XBOSH}' xmlns:stream='${NS.streams}'`;
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined) out += ` ${name}='${escapeXml(value)}'`;
  }
  if (payloads.length === 0) return `${out}/>`;
  return `${out}>${payloads.join('')}</body>`;
}

/** XEP-0124 §17: a terminal binding error (or a plain end, without `condition`). */
export function terminateBody(condition?: BoshCondition, payloads: readonly string[] = []): string {
  return renderBody({ type: 'terminate', condition }, payloads);
}
