/** C0 controls and DEL: never part of a name, a line of text or an identifier. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
const CONTROL = /[\u0000-\u001f\u007f]/;

/** True when `text` holds a control character (a newline included). */
export function hasControlCharacters(text: string): boolean {
  return CONTROL.test(text);
}
