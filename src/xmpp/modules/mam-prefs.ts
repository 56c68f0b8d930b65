import type { ArchivePrefs } from '../../core/archive.ts';
import { isPapillonError } from '../../util/errors.ts';
import { bareJid, parseJid } from '../../util/jid.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { StanzaError } from '../stanza-error.ts';
import { type XmlElement, xml } from '../stream/element.ts';
import { ownArchive, reply } from './mam.ts';

/**
 * XEP-0441 message archive preferences (`<prefs/>` in urn:xmpp:mam:2). The server archives
 * every one-to-one message whatever they say (default 'always'); what a client sets is
 * kept and read back, so clients that set them at sign-in see their own choice.
 */

function prefsElement(prefs: ArchivePrefs): XmlElement {
  const jids = (list: string[]) => list.map((j) => xml('jid', {}, j));
  return xml(
    'prefs',
    { xmlns: NS.mam, default: prefs.default },
    xml('always', {}, ...jids(prefs.always)),
    xml('never', {}, ...jids(prefs.never)),
  );
}

/** XEP-0441 §4: the preferences as kept. */
export async function mamPrefsGet(s: XmppSession, iq: XmlElement): Promise<XmlElement> {
  const account = ownArchive(s, iq);
  return reply(iq, prefsElement(await s.ctx.core.archive.prefs(account.id)));
}

/** XEP-0441 §4: replaces the preferences and answers with them. */
export async function mamPrefsSet(s: XmppSession, iq: XmlElement): Promise<XmlElement> {
  const account = ownArchive(s, iq);
  const el = iq.getChild('prefs', NS.mam) as XmlElement;
  const choice = el.attrs.default;
  if (choice !== 'always' && choice !== 'never' && choice !== 'roster') {
    throw new StanzaError('modify', 'bad-request', "default must be 'always', 'never' or 'roster'");
  }
  const list = (name: string) =>
    (el.getChild(name)?.getChildren('jid') ?? []).map((j) => {
      const jid = parseJid(j.text().trim());
      if (!jid) throw new StanzaError('modify', 'jid-malformed', `${j.text()} is not a JID`);
      return bareJid(jid);
    });
  const prefs: ArchivePrefs = { default: choice, always: list('always'), never: list('never') };
  try {
    await s.ctx.core.archive.setPrefs(account.id, prefs);
  } catch (err) {
    if (isPapillonError(err, 'conflict')) throw new StanzaError('modify', 'not-acceptable', err.message);
    throw err;
  }
  return reply(iq, prefsElement(prefs));
}
