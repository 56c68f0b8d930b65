/**
 * A 53-bit digest of `text` (two 32-bit multiplicative hashes of its UTF-16 units, mixed),
 * for "was this already shown?" caches kept per session and per contact: a number costs
 * a few bytes where the text costs hundreds (issue 14). Two different texts get the same
 * digest with a chance of about 2^-53. Not a cryptographic hash: use it only where a
 * collision can do no more than skip one repeat-looking update of the same key (a client
 * that crafted one would only hide its own next change from its contacts).
 */
export function digest53(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x9e3779b1);
    b = Math.imul(b ^ c, 0x85ebca77);
  }
  a = Math.imul(a ^ (a >>> 16), 0x21f0aaad) ^ Math.imul(b ^ (b >>> 13), 0x735a2d97);
  b = Math.imul(b ^ (b >>> 16), 0x21f0aaad) ^ Math.imul(a ^ (a >>> 15), 0x735a2d97);
  return (b >>> 0) * 0x200000 + ((a >>> 0) & 0x1fffff);
}
