/**
 * The Passport 1.4 sign-in request ([MS-PASS] §2.2.7; docs/msnp-reference.md §5.3
 * step 2), as MSN Messenger 5–7.0 sends it to login2.srf:
 *
 *   Authorization: Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,
 *     sign-in=alice%40example.com,pwd=secret,lc=1033,id=507,tw=40,…
 *
 * Parameters are separated by commas; `sign-in` and `pwd` are UTF-8, percent-escaped
 * ([MS-PASS] §2.2.7: a comma in the password MUST be escaped). The order varies
 * between clients and the TWN S parameters ride along verbatim, so parameters are
 * found by name.
 */
export interface PassportSignIn {
  signIn: string;
  password: string;
  /** Every parameter by lower-cased name, values as sent (still escaped). */
  params: ReadonlyMap<string, string>;
}

const SCHEME = /^\s*Passport1\.4\s+/i;

/** The credentials in a Passport1.4 `Authorization` header, or undefined if it carries none. */
export function parsePassportAuthorization(header: string | undefined): PassportSignIn | undefined {
  if (header === undefined) return undefined;
  const scheme = SCHEME.exec(header);
  if (scheme === null) return undefined;
  const params = new Map<string, string>();
  for (const item of header.slice(scheme[0].length).split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue; // a bare flag, or garbage
    const name = item.slice(0, eq).trim().toLowerCase();
    if (!params.has(name)) params.set(name, item.slice(eq + 1).trim());
  }
  const signIn = params.get('sign-in');
  const password = params.get('pwd');
  if (signIn === undefined || password === undefined) return undefined;
  // COMPAT: aMSN (protocol.tcl, MSNP9) sends sign-in without percent-encoding; decoding
  // leaves such a value unchanged since e-mail addresses contain no `%`.
  const decodedSignIn = percentDecode(signIn).trim();
  const decodedPassword = percentDecode(password);
  if (decodedSignIn === '' || decodedPassword === '') return undefined;
  return { signIn: decodedSignIn, password: decodedPassword, params };
}

/**
 * Percent-decoding that never throws: valid `%XX` escapes become bytes, everything
 * else is kept as it is, and the bytes are read as UTF-8. `+` stays `+` (this is
 * RFC 2396 escaping, not a form body).
 */
export function percentDecode(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i += 1) {
    const ch = value[i] ?? '';
    if (ch === '%' && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const code = value.codePointAt(i) ?? 0;
      const char = String.fromCodePoint(code);
      bytes.push(...Buffer.from(char, 'utf8'));
      if (char.length === 2) i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
