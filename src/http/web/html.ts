/**
 * HTML built from templates whose interpolations are escaped unless they already are
 * HTML. Every page is written with `html`, so user data (display names, app names,
 * personal messages, redirect URIs) can only ever land in the page as text.
 */

/** A fragment of HTML that is already safe to send: the result of `html` or `raw`. */
export class SafeHtml {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text as HTML character data or a quoted attribute value (HTML Living Standard
 * §13.1.2.3, §13.1.4): `&`, `<`, `>` and both quote characters become references.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/**
 * A value as HTML: SafeHtml as is, arrays item by item, nothing for
 * null/undefined/false, anything else escaped as text.
 */
function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

/** The tagged template: `html\`<p>${name}</p>\`` escapes `name`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i += 1) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** Marks trusted markup (never user data) as safe. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}
