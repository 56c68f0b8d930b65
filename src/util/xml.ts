/** XML 1.0 §2.2 `Char`: the code points an XML document may hold at all. */
export function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/**
 * Escapes text for XML element content and (double- or single-quoted) attribute
 * values. Characters XML 1.0 does not allow at all (most C0 controls, lone
 * surrogates) become U+FFFD, so the output is always well-formed.
 */
export function escapeXml(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '&':
        out += '&amp;';
        break;
      case '<':
        out += '&lt;';
        break;
      case '>':
        out += '&gt;';
        break;
      case '"':
        out += '&quot;';
        break;
      case "'":
        out += '&apos;';
        break;
      default:
        out += isXmlChar(ch.codePointAt(0) ?? 0) ? ch : '\uFFFD';
    }
  }
  return out;
}
