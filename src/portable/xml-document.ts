import { SaxesParser } from 'saxes';
import { PapillonError } from '../util/errors.ts';
import { XmlElement } from '../xmpp/stream/element.ts';

/**
 * Parses a whole XML document (an XEP-0227 file) into XmlElements the way the XMPP
 * stream parser does: local names, `xmlns` set where an element's namespace differs
 * from its parent's. Attributes in a namespace (Prosody's extended account
 * properties) are dropped; whitespace-only text between elements is dropped.
 */
export function parseXmlDocument(text: string, what: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  const nsStack: string[] = [];
  let root: XmlElement | undefined;
  parser.on('opentag', (tag) => {
    const attrs: Record<string, string> = {};
    for (const attr of Object.values(tag.attributes)) {
      if (attr.prefix === '' && attr.local !== 'xmlns') attrs[attr.local] = attr.value;
    }
    const ns = tag.uri ?? '';
    if (ns !== (nsStack.at(-1) ?? '')) attrs.xmlns = ns;
    const element = new XmlElement(tag.local ?? tag.name, attrs);
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else root = element;
    stack.push(element);
    nsStack.push(ns);
  });
  parser.on('closetag', () => {
    stack.pop();
    nsStack.pop();
  });
  parser.on('text', (t) => {
    const parent = stack.at(-1);
    if (parent && !/^[ \t\r\n]*$/.test(t)) parent.children.push(t);
  });
  parser.on('cdata', (t) => stack.at(-1)?.children.push(t));
  try {
    parser.write(text).close();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new PapillonError('bad-config', `${what} is not well-formed XML: ${reason}`);
  }
  if (!root) throw new PapillonError('bad-config', `${what} has no XML element`);
  return root;
}
