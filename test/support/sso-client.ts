import { createCipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * The client side of the MBI_KEY_OLD answer, written independently of
 * src/msnp/sso-challenge.ts as a client computes it (MSNP wiki "MSNP15:SSO"):
 * four HMAC-SHA1 steps per derived key, the 28-byte header, IV, hash, cipher.
 */
function derive(key: Buffer, magic: string): Buffer {
  const data = Buffer.concat([Buffer.from('WS-SecureConversation'), Buffer.from(magic)]);
  const mac = (...parts: Buffer[]) => {
    const h = createHmac('sha1', key);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const hash1 = mac(data);
  const hash2 = mac(hash1, data);
  const hash3 = mac(hash1);
  const hash4 = mac(hash3, data);
  return Buffer.concat([hash2, hash4.subarray(0, 4)]);
}

export interface SsoAnswerOptions {
  /** Defaults to 8 random bytes, as the client picks it. */
  iv?: Buffer;
  /** Overrides of header fields, to build malformed answers in tests. */
  header?: Partial<Record<'cipherType' | 'hashType', number>>;
}

/** The base64 blob a client sends in `USR trid SSO S <ticket> <blob>`. */
export function ssoAnswer(binarySecret: string, nonce: string, options: SsoAnswerOptions = {}): string {
  const key = Buffer.from(binarySecret, 'base64');
  const key2 = derive(key, 'SESSION KEY HASH');
  const key3 = derive(key, 'SESSION KEY ENCRYPTION');
  const iv = options.iv ?? randomBytes(8);
  const hash = createHmac('sha1', key2).update(nonce).digest();
  const des = createCipheriv('des-ede3-cbc', key3, iv);
  des.setAutoPadding(false);
  const cipher = Buffer.concat([
    des.update(Buffer.concat([Buffer.from(nonce), Buffer.alloc(8, 8)])),
    des.final(),
  ]);
  const header = Buffer.alloc(28);
  const fields = [
    28,
    1,
    options.header?.cipherType ?? 0x6603,
    options.header?.hashType ?? 0x8004,
    8,
    20,
    cipher.length,
  ];
  for (const [i, v] of fields.entries()) header.writeUInt32LE(v, i * 4);
  return Buffer.concat([header, iv, hash, cipher]).toString('base64');
}
