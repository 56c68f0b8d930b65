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

/** What XML 1.0 §2.2 does not allow: C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates. */
const NOT_XML =
  '[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\ufffe\\uffff]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const TEXT_SPECIALS = new RegExp(`[&<>]|${NOT_XML}`, 'g');
const ATTRIBUTE_SPECIALS = new RegExp(`[&<>"']|${NOT_XML}`, 'g');
const ENTITY: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
const replace = (c: string): string => ENTITY[c] ?? '\uFFFD';

/**
 * Escapes text for XML element content and (double- or single-quoted) attribute
 * values. Characters XML 1.0 does not allow at all (most C0 controls, lone
 * surrogates) become U+FFFD, so the output is always well-formed: text from another
 * protocol (an MSN message with a control character) cannot break an XML stream.
 */
export function escapeXml(value: string): string {
  return value.replace(ATTRIBUTE_SPECIALS, replace);
}

/** `escapeXml` for element content only, where quotes need no escaping. */
export function escapeXmlText(value: string): string {
  return value.replace(TEXT_SPECIALS, replace);
}
