/**
 * MSNP command lines as the `trace` log shows them, with every secret replaced by
 * `[redacted]`: what a client proves itself with (`USR … MD5|TWN|SSO S …`, the MSNP18
 * circle ticket `USR … SHA A …`), switchboard cookies (`USR`/`ANS` on a switchboard,
 * `… CKI <cookie>` in XFR and RNG) and anything shaped like a Passport ticket
 * (`t=…&p=…`). Payloads are never shown, only their size: they carry message text
 * and, in the profile message, the MSPAuth ticket.
 */

const REDACTED = '[redacted]';
/** NS security packages (§5) and MSNP18's circle sign-in. */
const NS_PACKAGES = new Set(['MD5', 'TWN', 'SSO', 'SHA']);
/** MSNP16+ machine GUIDs identify an endpoint, not a secret: kept for diagnosis. */
const MACHINE_GUID = /^\{[0-9a-f-]{36}\}$/i;
const TICKET = /(^|&)[tp]=/;

export function traceLine(
  direction: 'in' | 'out',
  name: string,
  args: readonly (string | number)[],
  payloadBytes?: number,
): string {
  const shown = args.map(String);
  if (direction === 'in' && name === 'USR') redactUsr(shown);
  if (direction === 'in' && name === 'ANS') redactFrom(shown, 2, 3);
  const cki = shown.indexOf('CKI');
  if (cki >= 0) redactFrom(shown, cki + 1, cki + 2);
  for (const [i, arg] of shown.entries()) if (TICKET.test(arg)) shown[i] = REDACTED;
  const line = [name, ...shown].join(' ');
  return payloadBytes === undefined ? line : `${line} (+${payloadBytes} bytes)`;
}

/** NS `USR trid PKG S|A proof… [{guid}]`; switchboard `USR trid handle cookie`. */
function redactUsr(args: string[]): void {
  const [, first, phase] = args;
  if (first !== undefined && NS_PACKAGES.has(first)) {
    if (phase === 'S' || phase === 'A') {
      for (let i = 3; i < args.length; i++) if (!MACHINE_GUID.test(args[i] ?? '')) args[i] = REDACTED;
    }
    return;
  }
  redactFrom(args, 2, args.length);
}

function redactFrom(args: string[], from: number, to: number): void {
  for (let i = from; i < Math.min(to, args.length); i++) args[i] = REDACTED;
}
