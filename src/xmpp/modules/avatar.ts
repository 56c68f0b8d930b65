import { createHash } from 'node:crypto';
import { MAX_PICTURE_BYTES, sniffImage } from '../../core/pictures.ts';
import { isPapillonError } from '../../util/errors.ts';
import { NS } from '../namespaces.ts';
import { isBase64 } from '../sasl/mechanism.ts';
import { StanzaError } from '../stanza-error.ts';
import { xml } from '../stream/element.ts';
import type { NodeProfile } from './pep-profile.ts';

/**
 * XEP-0084 user avatar over PEP, as the account's one picture (core `pictures`: what
 * MSN contacts see as the MSN object, the vCard PHOTO, the XEP-0153 hash). A client
 * publishes the image to the data node, then its metadata (§4.3): the metadata makes
 * it the account's picture. A picture set anywhere else appears in both nodes.
 */

/** The image in a data payload (base64 text, possibly wrapped), or undefined when it is none. */
function imageOf(base64: string): Buffer | undefined {
  const clean = base64.replace(/\s+/g, '');
  if (clean === '' || !isBase64(clean)) return undefined;
  return Buffer.from(clean, 'base64');
}

/** §4.1: the data node holds the image, its item id the image's SHA-1. */
export const avatarDataNode: NodeProfile = {
  async publish(_core, _owner, itemId, payload) {
    if (payload.name !== 'data' || payload.xmlns !== NS.avatarData) {
      throw new StanzaError('modify', 'bad-request', 'avatar data is a <data/> in urn:xmpp:avatar:data');
    }
    const image = imageOf(payload.text());
    if (!image) throw new StanzaError('modify', 'bad-request', 'avatar data is base64');
    if (image.length > MAX_PICTURE_BYTES) {
      throw new StanzaError(
        'modify',
        'not-acceptable',
        `the picture is larger than ${MAX_PICTURE_BYTES / 1024} KiB`,
      );
    }
    if (!sniffImage(image)) {
      throw new StanzaError('modify', 'not-acceptable', 'the picture must be a PNG, JPEG or GIF image');
    }
    if (createHash('sha1').update(image).digest('hex') !== itemId.toLowerCase()) {
      throw new StanzaError('modify', 'bad-request', "the item id must be the image's SHA-1 (XEP-0084 §4.1)");
    }
    // Kept until the metadata names it.
    return 'store';
  },
  derived: {
    async current(core, owner) {
      if (!owner.picture) return undefined;
      const picture = await core.pictures.get(owner.id);
      if (!picture) return undefined;
      return {
        itemId: picture.sha1,
        payload: xml('data', { xmlns: NS.avatarData }, picture.data.toString('base64')),
      };
    },
    mergeStored: true,
  },
};

/** §4.2: the metadata node says which image is the avatar; an empty one says there is none. */
export const avatarMetadataNode: NodeProfile = {
  async publish(core, owner, _itemId, payload) {
    if (payload.name !== 'metadata' || payload.xmlns !== NS.avatarMetadata) {
      throw new StanzaError(
        'modify',
        'bad-request',
        'avatar metadata is a <metadata/> in urn:xmpp:avatar:metadata',
      );
    }
    const infos = payload.getChildren('info');
    try {
      // §4.2.2 (disabling): no <info/>, no avatar.
      if (infos.length === 0) {
        await core.pictures.remove(owner.id);
        return 'derived';
      }
      // One <info/> per format (§4.2.1); the one whose image was published here wins.
      for (const info of infos) {
        const id = info.attrs.id?.toLowerCase();
        if (!id) continue;
        if (owner.picture?.sha1 === id) return 'derived';
        const [stored] = await core.pep.items(owner.id, NS.avatarData, { itemIds: [id] });
        const image = stored && imageOf(/>([^<]*)</.exec(stored.payload)?.[1] ?? '');
        if (!image) continue;
        await core.pictures.set(owner.id, image);
        // The picture holds it now: no second copy in the node.
        await core.pep.retract(owner.id, NS.avatarData, id);
        return 'derived';
      }
    } catch (err) {
      if (isPapillonError(err, 'conflict')) throw new StanzaError('modify', 'not-acceptable', err.message);
      throw err;
    }
    // COMPAT: an avatar only at an HTTP URL (§4.2.1 url) is not fetched: the account
    // picture must be an image the server holds, for MSN contacts too.
    throw new StanzaError('modify', 'item-not-found', 'publish the image to urn:xmpp:avatar:data first');
  },
  derived: {
    async current(_core, owner) {
      if (!owner.picture) return undefined;
      const { sha1, size, type } = owner.picture;
      return {
        itemId: sha1,
        payload: xml(
          'metadata',
          { xmlns: NS.avatarMetadata },
          xml('info', { bytes: String(size), id: sha1, type }),
        ),
      };
    },
    cleared: () => ({ itemId: 'current', payload: xml('metadata', { xmlns: NS.avatarMetadata }) }),
    version: (facts) => facts.pictureSha1 ?? '',
  },
};
