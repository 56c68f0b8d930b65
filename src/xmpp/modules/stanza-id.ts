import { parseJid } from '../../util/jid.ts';
import { NS } from '../namespaces.ts';
import { XmlElement, xml } from '../stream/element.ts';

/** XEP-0359 `<stanza-id/>`: the message's id in the archive of `by` (an account's bare JID). */
export function stanzaId(id: string, by: string): XmlElement {
  return xml('stanza-id', { xmlns: NS.stanzaId, id, by });
}

/**
 * XEP-0359 Business Rules 3 and 4: a stanza-id a client wrote in the name of an archive
 * of this server (any of its accounts, or the server) is not passed on: only the
 * server says where a message is archived, and says it once per archive.
 */
export function dropLocalStanzaIds(el: XmlElement, domain: string): void {
  const kept = el.children.filter((c) => {
    if (!(c instanceof XmlElement) || c.name !== 'stanza-id' || c.xmlns !== NS.stanzaId) return true;
    return parseJid(c.attrs.by ?? '')?.domain !== domain;
  });
  if (kept.length !== el.children.length) el.children.splice(0, el.children.length, ...kept);
}

/** Adds the recipient's stanza-id to a message delivered into their archive. */
export function stampStanzaId(el: XmlElement, id: string | undefined, by: string): void {
  if (id === undefined) return;
  el.append(stanzaId(id, by));
}
