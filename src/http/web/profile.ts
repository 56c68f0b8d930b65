import { createHash } from 'node:crypto';
import type { Core } from '../../core/core.ts';
import { PapillonError } from '../../util/errors.ts';

/**
 * What the account page keeps in the account's profile properties.
 *
 * The personal message is presence (`statusText`: MSN's PSM, XMPP's `<status/>`),
 * and presence belongs to endpoints (connections); the web page is not one. So it
 * is stored as a property, and applied to every endpoint signed in now; clients
 * that sign in later announce their own (MSN's UUX, XMPP's initial presence).
 *
 * The avatar is the image itself (base64), its type and its SHA-1: the XEP-0153
 * photo hash, and the SHA1D of an MSN object.
 */
export const PERSONAL_MESSAGE = 'profile.personal-message';
export const AVATAR_DATA = 'profile.avatar';
export const AVATAR_TYPE = 'profile.avatar-type';
export const AVATAR_SHA1 = 'profile.avatar-sha1';

/** The personal message box takes one line; 256 characters keeps it to one line on a contact list. */
export const MAX_PERSONAL_MESSAGE = 256;
export const MAX_AVATAR_BYTES = 256 * 1024;
/** base64 of 256 KiB. */
const MAX_AVATAR_PROPERTY = Math.ceil(MAX_AVATAR_BYTES / 3) * 4;

/** Stores the personal message and shows it to contacts through every endpoint signed in now. */
export async function setPersonalMessage(core: Core, accountId: string, text: string): Promise<void> {
  const message = text.trim();
  if ([...message].length > MAX_PERSONAL_MESSAGE) {
    throw new PapillonError('conflict', `a personal message is at most ${MAX_PERSONAL_MESSAGE} characters`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
  if (/[\u0000-\u001f\u007f]/.test(message)) {
    throw new PapillonError('conflict', 'a personal message is one line of text');
  }
  await core.accounts.setProperty(accountId, PERSONAL_MESSAGE, message === '' ? null : message);
  // Endpoint by endpoint: watchers get the new aggregate once it changes. A signed-out
  // (offline) endpoint shows nothing, so it is left alone. LIMITATION: `presence.set`
  // records the endpoint under this node's id, which is right while there is one node;
  // with a cluster bus, core needs a call that changes the text in place.
  for (const endpoint of await core.presence.endpoints(accountId)) {
    if (endpoint.presence.status === 'offline') continue;
    await core.presence.set(accountId, endpoint.endpointId, { statusText: message });
  }
}

export type ImageType = 'image/png' | 'image/jpeg' | 'image/gif';

/** The image type by its signature (magic bytes), never by what the browser claimed. */
export function sniffImage(data: Buffer): ImageType | undefined {
  // PNG: 89 50 4E 47 0D 0A 1A 0A (PNG spec §5.2); JPEG: SOI FF D8 then a marker FF;
  // GIF: "GIF87a" or "GIF89a".
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return 'image/png';
  }
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  const head = data.subarray(0, 6).toString('latin1');
  if (head === 'GIF87a' || head === 'GIF89a') return 'image/gif';
  return undefined;
}

export interface Avatar {
  type: ImageType;
  sha1: string;
  data: Buffer;
}

/** Stores an uploaded picture; throws `conflict` (with words for the user) when it cannot be one. */
export async function setAvatar(core: Core, accountId: string, data: Buffer): Promise<Avatar> {
  if (data.length === 0) throw new PapillonError('conflict', 'choose a picture to upload');
  if (data.length > MAX_AVATAR_BYTES) {
    throw new PapillonError('conflict', `the picture is larger than ${MAX_AVATAR_BYTES / 1024} KiB`);
  }
  const type = sniffImage(data);
  if (type === undefined) throw new PapillonError('conflict', 'the picture must be a PNG, JPEG or GIF image');
  const sha1 = createHash('sha1').update(data).digest('hex');
  // The hash last: readers that find it find the data and type it describes.
  await core.accounts.setProperty(accountId, AVATAR_DATA, data.toString('base64'), MAX_AVATAR_PROPERTY);
  await core.accounts.setProperty(accountId, AVATAR_TYPE, type);
  await core.accounts.setProperty(accountId, AVATAR_SHA1, sha1);
  return { type, sha1, data };
}

export async function removeAvatar(core: Core, accountId: string): Promise<void> {
  await core.accounts.setProperty(accountId, AVATAR_SHA1, null);
  await core.accounts.setProperty(accountId, AVATAR_TYPE, null);
  await core.accounts.setProperty(accountId, AVATAR_DATA, null);
}

export function avatarOf(properties: Record<string, string>): Avatar | undefined {
  const sha1 = properties[AVATAR_SHA1];
  const data = properties[AVATAR_DATA];
  const type = properties[AVATAR_TYPE];
  if (!sha1 || !data || (type !== 'image/png' && type !== 'image/jpeg' && type !== 'image/gif')) {
    return undefined;
  }
  return { type, sha1, data: Buffer.from(data, 'base64') };
}
