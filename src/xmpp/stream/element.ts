import { escapeXml, escapeXmlText } from '../../util/xml.ts';
/**
 * A parsed or built XML element: what stanzas are made of. Names are local names;
 * the namespace is the `xmlns` attribute, set by the parser on every element whose
 * namespace differs from its parent's (and on every stanza), so a stanza carries its
 * namespaces with it and serializes standalone.
 */
export type XmlNode = XmlElement | string | RawXml;

/** Markup kept as text and written out as is: XML Papillon serialized itself and stored. */
export class RawXml {
  constructor(readonly xml: string) {}
  toString(): string {
    return this.xml;
  }
}

export class XmlElement {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlNode[];

  constructor(name: string, attrs: Record<string, string | undefined> = {}, children: XmlNode[] = []) {
    this.name = name;
    this.attrs = {};
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) this.attrs[k] = v;
    this.children = children;
  }

  get xmlns(): string | undefined {
    return this.attrs.xmlns;
  }

  /** The first child element with that name (and namespace, when given). */
  getChild(name: string, xmlns?: string): XmlElement | undefined {
    for (const c of this.children) {
      if (c instanceof XmlElement && c.name === name && (xmlns === undefined || c.xmlns === xmlns)) return c;
    }
    return undefined;
  }

  getChildren(name?: string, xmlns?: string): XmlElement[] {
    return this.children.filter(
      (c): c is XmlElement =>
        c instanceof XmlElement &&
        (name === undefined || c.name === name) &&
        (xmlns === undefined || c.xmlns === xmlns),
    );
  }

  /** The first child element in a namespace, whatever its name (e.g. an error condition). */
  getChildByNs(xmlns: string): XmlElement | undefined {
    return this.getChildren().find((c) => c.xmlns === xmlns);
  }

  getChildText(name: string, xmlns?: string): string | undefined {
    return this.getChild(name, xmlns)?.text();
  }

  /** The concatenated text content of direct text children. */
  text(): string {
    return this.children.filter((c): c is string => typeof c === 'string').join('');
  }

  append(...nodes: (XmlNode | undefined | false)[]): this {
    for (const n of nodes) if (n !== undefined && n !== false && n !== '') this.children.push(n);
    return this;
  }

  /** Adds and returns a new child element (builder style). */
  c(name: string, attrs: Record<string, string | undefined> = {}): XmlElement {
    const child = new XmlElement(name, attrs);
    this.children.push(child);
    return child;
  }

  clone(): XmlElement {
    return new XmlElement(
      this.name,
      { ...this.attrs },
      this.children.map((c) => (c instanceof XmlElement ? c.clone() : c)),
    );
  }

  toString(): string {
    let out = `<${this.name}`;
    for (const [k, v] of Object.entries(this.attrs)) out += ` ${k}="${escapeAttr(v)}"`;
    if (this.children.length === 0) return `${out}/>`;
    out += '>';
    for (const c of this.children) out += typeof c === 'string' ? escapeText(c) : c.toString();
    // (RawXml children are written as they are.)
    return `${out}</${this.name}>`;
  }
}

/** Builder: `xml('iq', { type: 'result', id }, xml('query', { xmlns: NS }))`. */
export function xml(
  name: string,
  attrs: Record<string, string | undefined> = {},
  ...children: (XmlNode | undefined | false)[]
): XmlElement {
  return new XmlElement(name, attrs).append(...children);
}

/** Element content; characters XML cannot hold become U+FFFD (util/xml.ts). */
export const escapeText = escapeXmlText;
/** Attribute values; characters XML cannot hold become U+FFFD (util/xml.ts). */
export const escapeAttr = escapeXml;
