/**
 * A 31-bit FNV-1a hash of a string's UTF-16 code units: a small number (a V8 small
 * integer, no allocation) that stands for a text a connection already sent, so it can
 * skip sending the same text again without keeping the text. Not for security: two
 * texts share a value about once in two billion, which costs one skipped update.
 */
export function fingerprint(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash & 0x7fffffff;
}
