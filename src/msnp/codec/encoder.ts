/**
 * Builds MSNP command lines (docs/msnp-reference.md §2). The server always sends
 * exactly one space between parameters, no trailing whitespace, and CRLF (§2.1,
 * [HYP] general/commands.php). Text that may contain spaces must already be
 * URL-encoded by the caller (`encodeParam`); an argument that would break the
 * framing is a bug in the caller, so it throws a plain Error.
 */

const NAME = /^(?:[A-Z]{3}|\d{3})$/;
// Tab too: receivers split on it like on a space (§2.1).
const BREAKS_FRAMING = /[ \t\r\n]/;

function token(value: string | number, name: string): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`${name}: numeric argument ${value} is not an integer`);
    return String(value);
  }
  if (value === '') throw new Error(`${name}: empty argument`);
  if (BREAKS_FRAMING.test(value)) {
    throw new Error(`${name}: argument ${JSON.stringify(value)} contains whitespace or a line break`);
  }
  return value;
}

function header(name: string, args: readonly (string | number)[], extra?: number): string {
  if (!NAME.test(name)) throw new Error(`bad MSNP command name ${JSON.stringify(name)}`);
  let line = name;
  for (const arg of args) line += ` ${token(arg, name)}`;
  if (extra !== undefined) line += ` ${extra}`;
  return `${line}\r\n`;
}

/** `NAME a1 a2\r\n`. */
export function encodeCommand(name: string, args: readonly (string | number)[]): Buffer {
  return Buffer.from(header(name, args), 'utf8');
}

/**
 * `NAME a1 a2 <bytes>\r\n<payload>`: the payload's byte length (UTF-8 for strings)
 * is appended as the last argument and the payload follows with no CRLF of its own
 * (§2.2, [HYP] general/payload_commands.php).
 */
export function encodePayloadCommand(
  name: string,
  args: readonly (string | number)[],
  payload: Buffer | string,
): Buffer {
  const payloadBytes = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  const line = header(name, args, payloadBytes);
  const lineBytes = Buffer.byteLength(line, 'utf8');
  const out = Buffer.allocUnsafe(lineBytes + payloadBytes);
  out.write(line, 0, 'utf8');
  if (typeof payload === 'string') out.write(payload, lineBytes, 'utf8');
  else payload.copy(out, lineBytes);
  return out;
}
