import { createHash } from 'node:crypto';
import type { PictureType, Store, StoredPicture } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';
import type { Presence } from './presence.ts';

/** The largest picture accepted: XEP-0153 §5 asks for small avatars, MSN's were 96×96. */
export const MAX_PICTURE_BYTES = 256 * 1024;

/** The image type by its signature (magic bytes), never by what an uploader claimed. */
export function sniffImage(data: Buffer): PictureType | undefined {
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

/**
 * The account's picture, one for every protocol: set from the web page or an XMPP
 * vCard PHOTO, shown to XMPP contacts (XEP-0153 hash, vCard PHOTO) and to MSN contacts
 * (an MSN object the switchboard serves itself). Contacts hear of a change at once.
 */
export class Pictures {
  constructor(
    private readonly store: Store,
    private readonly presence: Presence,
  ) {}

  /** Replaces the picture; throws `conflict` (with words for the user) when it cannot be one. */
  async set(accountId: string, data: Buffer): Promise<StoredPicture> {
    if (data.length === 0) throw new PapillonError('conflict', 'the picture is empty');
    if (data.length > MAX_PICTURE_BYTES) {
      throw new PapillonError('conflict', `the picture is larger than ${MAX_PICTURE_BYTES / 1024} KiB`);
    }
    const type = sniffImage(data);
    if (type === undefined)
      throw new PapillonError('conflict', 'the picture must be a PNG, JPEG or GIF image');
    const picture: StoredPicture = {
      sha1: createHash('sha1').update(data).digest('hex'),
      size: data.length,
      type,
      data,
    };
    const before = await this.store.getAccountById(accountId);
    if (!before) throw new PapillonError('no-such-account', 'no such account');
    if (before.picture?.sha1 === picture.sha1 && before.picture.type === type) return picture;
    const updated = await this.store.setPicture(accountId, picture);
    if (!updated) throw new PapillonError('no-such-account', 'no such account');
    await this.presence.broadcast(updated);
    return picture;
  }

  async remove(accountId: string): Promise<void> {
    const before = await this.store.getAccountById(accountId);
    if (!before?.picture) return;
    const updated = await this.store.setPicture(accountId, null);
    if (updated) await this.presence.broadcast(updated);
  }

  /** The picture with its image, if the account has one. */
  get(accountId: string): Promise<StoredPicture | undefined> {
    return this.store.getPicture(accountId);
  }
}
