import { createHash } from 'node:crypto';
import { escapeXml } from '../util/xml.ts';

/**
 * MSN objects (MSNC1, MSNP9+): the `<msnobj …/>` descriptor that names a display
 * picture, custom emoticon, background … by its creator, size, type and SHA-1.
 * References: msnpiki "MSNC:MSNObject"; NINA wiki "Protocols/MSNP/MSNC/MSN Object".
 */

/** msnpiki "MSNC:MSNObject", Type: 3 is a user tile (static display picture). */
export const MSN_OBJECT_TYPE_DISPLAY_PICTURE = 3;

/**
 * "AAA=": the Friendly field of most descriptors, a lone UTF-16LE NUL in base64
 * (msnpiki "MSNC:MSNObject", Friendly).
 */
const EMPTY_FRIENDLY = 'AAA=';

/** The longest descriptor parsed; real ones are a few hundred bytes. */
const MAX_MSN_OBJECT_CHARS = 4096;

/** The base64 SHA1D of a picture whose SHA-1 is known as lower-case hex. */
export function sha1dFromHex(sha1Hex: string): string {
  return Buffer.from(sha1Hex, 'hex').toString('base64');
}

/**
 * SHA1C: base64 SHA-1 of the preceding fields as name + value, in the order Creator,
 * Size, Type, Location, Friendly, SHA1D, with nothing between them (NINA wiki "MSN
 * Object", SHA1C; checked against its worked example, `U32o6bosZzluJq82eAtMpx5dIEI=`).
 */
export function msnObjectChecksum(fields: {
  creator: string;
  size: number | string;
  type: number | string;
  location: string;
  friendly: string;
  sha1d: string;
}): string {
  const text = `Creator${fields.creator}Size${fields.size}Type${fields.type}Location${fields.location}Friendly${fields.friendly}SHA1D${fields.sha1d}`;
  return createHash('sha1').update(text, 'utf8').digest('base64');
}

/**
 * The descriptor of an account's stored picture as MSN clients expect it: type 3,
 * Location "0" (there is no file on the creator's disk), empty Friendly.
 */
export function pictureMsnObject(creator: string, picture: { sha1: string; size: number }): string {
  const fields = {
    creator,
    size: picture.size,
    type: MSN_OBJECT_TYPE_DISPLAY_PICTURE,
    location: '0',
    friendly: EMPTY_FRIENDLY,
    sha1d: sha1dFromHex(picture.sha1),
  };
  const sha1c = msnObjectChecksum(fields);
  return `<msnobj Creator="${escapeXml(fields.creator)}" Size="${fields.size}" Type="${fields.type}" Location="${fields.location}" Friendly="${fields.friendly}" SHA1D="${fields.sha1d}" SHA1C="${sha1c}"/>`;
}

/** Whether `text` looks like an MSN object descriptor (rather than, say, an XEP-0153 hash). */
export function isMsnObject(text: string): boolean {
  return /^\s*<msnobj[\s/>]/i.test(text);
}

/**
 * The attributes of an `<msnobj …/>` descriptor, by name as written (clients differ
 * in order and in which optional fields they add), values XML-unescaped. Undefined
 * when `text` is not a descriptor. A trailing NUL (the INVITE Context carries one)
 * and surrounding white space are ignored.
 */
export function parseMsnObject(text: string): Map<string, string> | undefined {
  if (text.length > MAX_MSN_OBJECT_CHARS) return undefined;
  const trimmed = text.replace(/\0+$/, '').trim();
  const open = /^<msnobj(?=[\s/>])/i.exec(trimmed);
  if (!open) return undefined;
  const attributes = new Map<string, string>();
  const attribute = /\s*([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;
  const close = /\s*\/?>/y;
  let at = open[0].length;
  for (;;) {
    close.lastIndex = at;
    if (close.exec(trimmed)) return attributes;
    attribute.lastIndex = at;
    const m = attribute.exec(trimmed);
    if (!m) return undefined;
    const value = unescapeXml(m[2] ?? m[3] ?? '');
    if (value === undefined) return undefined;
    attributes.set(m[1] as string, value);
    at = attribute.lastIndex;
  }
}

/** An attribute of a parsed descriptor, whatever the case of its name. */
export function msnObjectField(attributes: Map<string, string>, name: string): string | undefined {
  const exact = attributes.get(name);
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  for (const [key, value] of attributes) if (key.toLowerCase() === lower) return value;
  return undefined;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML 1.0 §4.1 character and predefined entity references; undefined for anything else. */
function unescapeXml(text: string): string | undefined {
  let failed = false;
  const out = text.replace(/&([^;&]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(';')) {
      failed = true;
      return '';
    }
    const named = NAMED_ENTITIES[name];
    if (named !== undefined) return named;
    const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
    const code = numeric ? Number.parseInt(numeric[1] ?? numeric[2] ?? '', numeric[1] ? 16 : 10) : Number.NaN;
    if (!Number.isFinite(code) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      failed = true;
      return '';
    }
    return String.fromCodePoint(code);
  });
  return failed ? undefined : out;
}
