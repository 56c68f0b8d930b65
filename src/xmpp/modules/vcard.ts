import { isPapillonError } from '../../util/errors.ts';
import { bareJid, parseJid } from '../../util/jid.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { isBase64 } from '../sasl/mechanism.ts';
import { StanzaError } from '../stanza-error.ts';
import { escapeText, RawXml, type XmlElement, xml } from '../stream/element.ts';

/**
 * The vCard minus FN (the display name) and PHOTO (the account's picture, core
 * `pictures`, which MSN contacts see too) is kept as an account property.
 */
const VCARD_PROPERTY = 'vcard.xml';
/** The rest of a vCard is text: addresses, notes, URLs. */
const MAX_VCARD_BYTES = 64 * 1024;

/** vCard TEL types ↔ the phone properties MSN clients set with PRP (shared). */
const PHONES: Array<[string, string]> = [
  ['HOME', 'phone.home'],
  ['WORK', 'phone.work'],
  ['CELL', 'phone.mobile'],
];

/**
 * XEP-0054 vcard-temp get: `FN` is the account's display name (what MSN clients show),
 * the rest is what the owner last stored; phone numbers set from MSN appear as TEL.
 */
export async function vcardGet(s: XmppSession, iq: XmlElement): Promise<XmlElement> {
  const target = iq.attrs.to ? parseJid(iq.attrs.to) : undefined;
  const handle = target ? bareJid(target) : s.bare;
  const account = await s.ctx.core.accounts.find(handle);
  if (!account) throw new StanzaError('cancel', 'item-not-found');
  const properties = await s.ctx.core.accounts.properties(account.id);
  const stored = properties[VCARD_PROPERTY] ?? '';
  let body = `<FN>${escapeText(account.displayName)}</FN>${stored}`;
  const picture = await s.ctx.core.pictures.get(account.id);
  if (picture) {
    // XEP-0054 §3.1 PHOTO with TYPE and BINVAL; XEP-0153 clients check its SHA-1 against the presence hash.
    body += `<PHOTO><TYPE>${picture.type}</TYPE><BINVAL>${picture.data.toString('base64')}</BINVAL></PHOTO>`;
  }
  if (!/<TEL[ >]/.test(stored)) {
    for (const [type, name] of PHONES) {
      const value = properties[name];
      if (value) body += `<TEL><${type}/><VOICE/><NUMBER>${escapeText(value)}</NUMBER></TEL>`;
    }
  }
  return xml(
    'iq',
    { type: 'result', id: iq.attrs.id, from: iq.attrs.to ? handle : undefined, to: s.jid },
    xml('vCard', { xmlns: NS.vcard }, new RawXml(body)),
  );
}

/** XEP-0054 §3.2: the owner replaces their vCard; FN renames the account, TEL sets the phones. */
export async function vcardSet(s: XmppSession, iq: XmlElement): Promise<XmlElement> {
  const account = s.account;
  const target = iq.attrs.to ? parseJid(iq.attrs.to) : undefined;
  if (!account || (target && bareJid(target) !== s.bare)) throw new StanzaError('auth', 'forbidden');
  const vcard = iq.getChild('vCard', NS.vcard);
  if (!vcard) throw new StanzaError('modify', 'bad-request');
  const core = s.ctx.core;
  const fn = vcard.getChildText('FN')?.trim();
  const rest = vcard.getChildren().filter((c) => c.name !== 'FN' && c.name !== 'PHOTO');
  const photo = photoOf(vcard);
  try {
    // The picture first: it is the part that can be refused, and then nothing has changed.
    // §3.2 replaces the whole vCard: no PHOTO (or an empty one) removes the picture.
    // XEP-0153 §3.1: contacts get the new hash with the presence core sends them now.
    if (photo) await core.pictures.set(account.id, photo);
    else await core.pictures.remove(account.id);
    if (fn) await core.accounts.setDisplayName(account.id, fn);
    await core.accounts.setProperty(account.id, VCARD_PROPERTY, rest.map(String).join(''), MAX_VCARD_BYTES);
    for (const [type, name] of PHONES) {
      const tel = vcard.getChildren('TEL').find((t) => t.getChild(type));
      await core.accounts.setProperty(account.id, name, tel?.getChildText('NUMBER')?.trim() ?? null);
    }
  } catch (err) {
    if (isPapillonError(err, 'bad-display-name') || isPapillonError(err, 'conflict')) {
      throw new StanzaError('modify', 'not-acceptable', err.message);
    }
    throw err;
  }
  return xml('iq', { type: 'result', id: iq.attrs.id });
}

/** The image in a vCard's PHOTO/BINVAL (base64, often wrapped), or undefined when none. */
function photoOf(vcard: XmlElement): Buffer | undefined {
  const binval = vcard.getChild('PHOTO')?.getChildText('BINVAL')?.replace(/\s+/g, '');
  if (!binval) return undefined;
  if (!isBase64(binval)) {
    throw new StanzaError('modify', 'bad-request', 'PHOTO BINVAL is not base64');
  }
  return Buffer.from(binval, 'base64');
}
