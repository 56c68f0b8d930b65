import { isPapillonError } from '../../util/errors.ts';
import { bareJid, parseJid } from '../../util/jid.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { StanzaError } from '../stanza-error.ts';
import { RawXml, type XmlElement, xml } from '../stream/element.ts';

/**
 * XEP-0049 private XML storage (`jabber:iq:private`): one element per namespace per
 * account, kept by the core (core/private-xml.ts). What clients keep there: XEP-0048
 * bookmarks (`storage:bookmarks`), XEP-0145 roster notes (`storage:rosternotes`), the
 * XEP-0083 nested-group delimiter (`roster:delimiter`), their own preferences.
 */

/**
 * XEP-0049 §2.3: namespaces of the protocol itself are not storage (`jabber:…`,
 * `http://jabber.org/…`, `vcard-temp`); a child with no namespace of its own is in
 * `jabber:iq:private` and falls under the first.
 */
function reserved(namespace: string | undefined): boolean {
  return (
    namespace === undefined ||
    namespace.startsWith('jabber:') ||
    namespace.startsWith('http://jabber.org/') ||
    namespace === NS.vcard
  );
}

/** The query's children, checked: XEP-0049 §2.3 and its error table. */
function elementsOf(s: XmppSession, iq: XmlElement): XmlElement[] {
  // §2.3: only the user's own data; `forbidden` is the preferred answer for anyone else's.
  const to = iq.attrs.to ? parseJid(iq.attrs.to) : undefined;
  if (to?.local && bareJid(to) !== s.bare)
    throw new StanzaError('cancel', 'forbidden', "another account's private data");
  const children = iq.getChild('query', NS.private)?.getChildren() ?? [];
  if (children.length === 0)
    throw new StanzaError('modify', 'not-acceptable', 'name the namespace of the data in a child element');
  for (const child of children) {
    if (reserved(child.xmlns))
      throw new StanzaError(
        'modify',
        'not-acceptable',
        `${child.xmlns ?? NS.private} is a reserved namespace`,
      );
  }
  return children;
}

/** XEP-0049 §2.3 get: the element stored in the one namespace asked for, or that empty element. */
export async function privateGet(s: XmppSession, iq: XmlElement): Promise<XmlElement | undefined> {
  const account = s.account;
  if (!account) return undefined;
  const children = elementsOf(s, iq);
  // §2.3: "MUST NOT query for more than one namespace in a single IQ get".
  if (children.length > 1) throw new StanzaError('modify', 'bad-request', 'one namespace per get');
  const asked = children[0] as XmlElement;
  const stored = await s.ctx.core.privateXml.get(account.id, asked.xmlns ?? '');
  return xml(
    'iq',
    { type: 'result', id: iq.attrs.id },
    xml(
      'query',
      { xmlns: NS.private },
      stored === undefined ? xml(asked.name, { xmlns: asked.xmlns }) : new RawXml(stored),
    ),
  );
}

/** XEP-0049 §2.3 set: each child replaces what its namespace held. */
export async function privateSet(s: XmppSession, iq: XmlElement): Promise<XmlElement | undefined> {
  const account = s.account;
  if (!account) return undefined;
  const elements = new Map<string, string>();
  for (const child of elementsOf(s, iq)) {
    const namespace = child.xmlns ?? '';
    if (elements.has(namespace))
      throw new StanzaError('modify', 'bad-request', `one element per namespace (${namespace})`);
    // The parser puts `xmlns` on the child (its namespace differs from the query's), so it stands alone.
    elements.set(namespace, child.toString());
  }
  try {
    await s.ctx.core.privateXml.set(account.id, elements);
  } catch (err) {
    // Over the size limits: nothing was stored.
    if (isPapillonError(err, 'conflict')) throw new StanzaError('modify', 'policy-violation', err.message);
    throw err;
  }
  return xml('iq', { type: 'result', id: iq.attrs.id });
}
