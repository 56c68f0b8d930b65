import { createHash } from 'node:crypto';
import { memoize } from '../util/memo.ts';

/**
 * An account's CID ("common id"): the signed 64-bit number Windows Live Messenger
 * (MSNP13+) knows every user by — `<CID>` in the address book and memberships,
 * `OwnerCID`, the circle and roaming-profile (storage) services, MSNP18's network
 * endpoints. Papillon keeps none; it is derived from the account id, so it is the same
 * in every answer, every protocol version and every server node.
 *
 * The first 8 bytes of SHA-256("cid:" + id) as a big-endian signed integer, in decimal
 * (the live service wrote negative CIDs too, e.g. `-1234567890123456789`).
 */
export const cidOf: (accountId: string) => string = memoize((accountId) => {
  const digest = createHash('sha256').update(`cid:${accountId}`, 'utf8').digest();
  return digest.readBigInt64BE(0).toString();
});
