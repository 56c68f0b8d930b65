/**
 * MSN URL-encoding of free-text parameters: friendly names, group names, MSNObjects,
 * PRP/BPR values, the `F=` part of ADC/LST (docs/msnp-reference.md §2.1). Clients
 * percent-decode UTF-8, so encoding exactly like `encodeURIComponent` is what they
 * expect; it covers the characters [ESC] re-encodes (`%`, space, CR, LF) and more.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function encodeParam(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    // encodeURIComponent throws URIError on an unpaired surrogate; send U+FFFD instead.
    return encodeURIComponent(text.replace(LONE_SURROGATE, '\uFFFD'));
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Percent-decodes UTF-8. Never throws: a `%` not followed by two hex digits, and
 * any decoded byte that is not part of a well-formed UTF-8 sequence, stay in the
 * result as the literal text the client sent. `+` is not a space here.
 */
export function decodeParam(token: string): string {
  let pct = token.indexOf('%');
  if (pct === -1) return token;
  let out = '';
  let i = 0;
  const n = token.length;
  while (pct !== -1) {
    out += token.slice(i, pct);
    // Collect the run of %XX escapes starting here.
    const bytes: number[] = [];
    let j = pct;
    while (j + 2 < n && token.charCodeAt(j) === 0x25) {
      const hi = hexValue(token.charCodeAt(j + 1));
      const lo = hexValue(token.charCodeAt(j + 2));
      if (hi < 0 || lo < 0) break;
      bytes.push(hi * 16 + lo);
      j += 3;
    }
    if (bytes.length === 0) {
      out += '%';
      i = pct + 1;
    } else {
      out += decodeUtf8Run(bytes, token, pct);
      i = j;
    }
    pct = token.indexOf('%', i);
  }
  return out + token.slice(i);
}

/**
 * Decodes bytes taken from the escapes starting at `token[start]` (three characters
 * per byte). A byte that does not begin a well-formed sequence (RFC 3629 §4: no
 * overlongs, no surrogates, nothing above U+10FFFF) is kept as its original escape.
 */
function decodeUtf8Run(bytes: number[], token: string, start: number): string {
  let out = '';
  let k = 0;
  const n = bytes.length;
  const cont = (idx: number, lo = 0x80, hi = 0xbf) => {
    const b = bytes[idx];
    return b !== undefined && b >= lo && b <= hi;
  };
  while (k < n) {
    const b0 = bytes[k] as number;
    let size = 0;
    let cp = 0;
    if (b0 < 0x80) {
      size = 1;
      cp = b0;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      if (cont(k + 1)) {
        size = 2;
        cp = ((b0 & 0x1f) << 6) | ((bytes[k + 1] as number) & 0x3f);
      }
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      const lo = b0 === 0xe0 ? 0xa0 : 0x80;
      const hi = b0 === 0xed ? 0x9f : 0xbf;
      if (cont(k + 1, lo, hi) && cont(k + 2)) {
        size = 3;
        cp =
          ((b0 & 0x0f) << 12) | (((bytes[k + 1] as number) & 0x3f) << 6) | ((bytes[k + 2] as number) & 0x3f);
      }
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      const lo = b0 === 0xf0 ? 0x90 : 0x80;
      const hi = b0 === 0xf4 ? 0x8f : 0xbf;
      if (cont(k + 1, lo, hi) && cont(k + 2) && cont(k + 3)) {
        size = 4;
        cp =
          ((b0 & 0x07) << 18) |
          (((bytes[k + 1] as number) & 0x3f) << 12) |
          (((bytes[k + 2] as number) & 0x3f) << 6) |
          ((bytes[k + 3] as number) & 0x3f);
      }
    }
    if (size === 0) {
      const at = start + 3 * k;
      out += token.slice(at, at + 3);
      k += 1;
    } else {
      out += String.fromCodePoint(cp);
      k += size;
    }
  }
  return out;
}
