import { createCipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { attribute, children, path, text, type XmlNode, XmlRejected } from '../soap.ts';

/**
 * Token renewal: an RST request signed with the Passport DA token's proof key instead
 * of a password, which a client sends when a web-service token has expired (Pidgin
 * msn/nexus.c msn_nexus_update_token and msn/nexus.h MSN_SSO_TOKEN_UPDATE_TEMPLATE;
 * the live service's WS-SecureConversation key derivation, "RPS" in Pidgin):
 *
 * - `wsse:Security/EncryptedData/CipherData/CipherValue`: the DA token as the RST
 *   answer gave it (`http://Passport.NET/tb`; ours is the base64 of a stored token);
 * - `wssc:DerivedKeyToken Id="SignKey"/Nonce`: 24 random bytes, base64;
 * - `wsu:Timestamp Id="Timestamp"` (Created, Expires five minutes later);
 * - `Signature/SignedInfo`, with SHA-1 digests of the RST and the Timestamp, signed
 *   with HMAC-SHA1 under `rpsKey(proofKey, nonce)`.
 *
 * The answer is the new token(s) as a RequestSecurityTokenResponse, 3DES-CBC encrypted
 * under `rpsKey(proofKey, <a fresh nonce>)` in `Body/EncryptedData`, with that nonce
 * in `Header/Security/DerivedKeyToken Id="EncKey"` (nexus_got_update_cb).
 */

export interface RenewalRequest {
  kind: 'renewal';
  /** The DA token named by the CipherValue. */
  daToken: string;
  /** The SignKey nonce (raw bytes). */
  nonce: Buffer;
  /** `<SignedInfo>…</SignedInfo>` exactly as sent: what the signature covers. */
  signedInfo: string;
  signature: Buffer;
  /** The Timestamp element exactly as sent, and its digest from SignedInfo, if referenced. */
  timestamp: string | undefined;
  timestampDigest: string | undefined;
  /** `wsu:Expires` of the Timestamp, in ms, if given. */
  expires: number | undefined;
  addresses: string[];
}

/** Reads a renewal request; throws `XmlRejected` when it is not one. */
export function readRenewal(envelope: XmlNode, body: string, addresses: string[]): RenewalRequest {
  const security = path(envelope, 'Header', 'Security');
  const cipher = text(path(security, 'EncryptedData', 'CipherData', 'CipherValue'))?.trim();
  if (!cipher) throw new XmlRejected('no wsse:UsernameToken and no Passport token');
  const signKey = children(security, 'DerivedKeyToken').find((k) => attribute(k, 'Id') !== 'EncKey');
  const nonce = Buffer.from(text(path(signKey, 'Nonce'))?.trim() ?? '', 'base64');
  const signature = Buffer.from(text(path(security, 'Signature', 'SignatureValue'))?.trim() ?? '', 'base64');
  const signedInfo = rawElement(body, 'SignedInfo');
  if (nonce.length === 0 || signature.length === 0 || !signedInfo)
    throw new XmlRejected('a renewal request without its signature');
  const references = children(path(security, 'Signature', 'SignedInfo'), 'Reference');
  const timestampRef = references.find((r) => attribute(r, 'URI') === '#Timestamp');
  const expires = Date.parse(text(path(security, 'Timestamp', 'Expires'))?.trim() ?? '');
  return {
    kind: 'renewal',
    daToken: Buffer.from(cipher, 'base64').toString('utf8'),
    nonce,
    signedInfo,
    signature,
    timestamp: rawElement(body, 'Timestamp'),
    timestampDigest: text(path(timestampRef, 'DigestValue'))?.trim(),
    expires: Number.isNaN(expires) ? undefined : expires,
    addresses,
  };
}

/**
 * Whether the request is signed with the DA token's proof key (base64, 24 bytes) and
 * still fresh: the HMAC over SignedInfo, the Timestamp digest it names, its Expires.
 * COMPAT: the signature is checked over SignedInfo as sent, not re-canonicalised
 * (exclusive C14N): Pidgin signs the very string it sends.
 */
export function verifyRenewal(request: RenewalRequest, proofKey: string, now: number): boolean {
  const key = rpsKey(Buffer.from(proofKey, 'base64'), request.nonce);
  const expected = createHmac('sha1', key).update(request.signedInfo, 'utf8').digest();
  if (expected.length !== request.signature.length || !timingSafeEqual(expected, request.signature))
    return false;
  if (request.expires !== undefined && request.expires < now) return false;
  if (request.timestampDigest !== undefined) {
    if (!request.timestamp) return false;
    const digest = createHash('sha1').update(request.timestamp, 'utf8').digest('base64');
    if (digest !== request.timestampDigest) return false;
  }
  return true;
}

/**
 * The WS-SecureConversation key derivation (P_SHA1 of RFC 5246 §5 with the label
 * "WS-SecureConversation" and the nonce as seed, 24 bytes), as Pidgin's
 * rps_create_key computes it: A1 = HMAC(k, label‖seed), A2 = HMAC(k, A1);
 * key = HMAC(k, A1‖label‖seed) ‖ HMAC(k, A2‖label‖seed)[0..4].
 */
export function rpsKey(secret: Buffer, nonce: Buffer): Buffer {
  const label = Buffer.from('WS-SecureConversation', 'utf8');
  const hmac = (...parts: Buffer[]) => {
    const h = createHmac('sha1', secret);
    for (const part of parts) h.update(part);
    return h.digest();
  };
  const a1 = hmac(label, nonce);
  const a2 = hmac(a1);
  return Buffer.concat([hmac(a1, label, nonce), hmac(a2, label, nonce).subarray(0, 4)]);
}

/**
 * `Body` and `Header/Security` of the renewal answer: `xml` (the token response)
 * encrypted with 3DES-CBC, a zero IV, under rpsKey(proofKey, fresh nonce).
 * COMPAT: Pidgin decrypts into a buffer of the ciphertext's length and reads it as a
 * NUL-terminated string (nexus.c des3_cbc, then xmlnode_from_str(…, -1)), so the
 * padding is zero bytes and there is always at least one.
 */
export function encryptRenewal(xml: string, proofKey: string): { nonce: string; cipherValue: string } {
  const nonce = randomBytes(24);
  const key = rpsKey(Buffer.from(proofKey, 'base64'), nonce);
  const plain = Buffer.from(xml, 'utf8');
  const padded = Buffer.alloc((Math.floor(plain.length / 8) + 1) * 8);
  plain.copy(padded);
  const cipher = createCipheriv('des-ede3-cbc', key, Buffer.alloc(8));
  cipher.setAutoPadding(false);
  const encrypted = Buffer.concat([cipher.update(padded), cipher.final()]);
  return { nonce: nonce.toString('base64'), cipherValue: encrypted.toString('base64') };
}

/** The first element with local name `name` (any prefix), exactly as it appears in `body`. */
function rawElement(body: string, name: string): string | undefined {
  const match = new RegExp(`<((?:[A-Za-z_][\\w.-]*:)?${name})[\\s>][\\s\\S]*?</\\1\\s*>`).exec(body);
  return match?.[0];
}
