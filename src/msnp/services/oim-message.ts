import type { OfflineMessage } from '../../core/offline.ts';

/**
 * The MIME text of an offline message (OIM) both ways: what a client puts in the
 * Store2 `<Content>` (read by `readOimContent`) and what GetMessage hands back
 * (`oimMessageText`). Sources: Pidgin msn/oim.c (MSN_OIM_MSG_TEMPLATE, report_to_user),
 * msn-pecan pn_oim.c (send_send_request, process_body_receive), MSNP wiki "OIM".
 */

export class OimContentRejected extends Error {
  override name = 'OimContentRejected';
}

/** Splits MIME text into headers (names lower-cased) and body, at the first blank line. */
function splitMime(text: string): { headers: Map<string, string>; body: string } {
  // COMPAT: msn-pecan writes CRLF, Pidgin LF (its XML library also turns CRLF into LF).
  const normalized = text.replace(/\r\n/g, '\n');
  const blank = normalized.indexOf('\n\n');
  const head = blank < 0 ? normalized : normalized.slice(0, blank);
  const body = blank < 0 ? '' : normalized.slice(blank + 2);
  const headers = new Map<string, string>();
  for (const line of head.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a Store2 `<Content>`: MIME headers, a blank line, the base64 body
 * (wrapped at 76 columns). Throws `OimContentRejected` for anything else: the
 * `q0:InvalidContent` fault.
 */
export function readOimContent(content: string): string {
  const { headers, body } = splitMime(content.trim());
  const encoding = (headers.get('content-transfer-encoding') ?? '').toLowerCase();
  const type = headers.get('content-type') ?? 'text/plain';
  if (!/^text\/plain\b/i.test(type)) throw new OimContentRejected(`not text/plain: ${type}`);
  const charset = /charset=["']?([^"';\s]+)/i.exec(type)?.[1]?.toLowerCase() ?? 'utf-8';
  let bytes: Buffer;
  if (encoding === 'base64') {
    const compact = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) throw new OimContentRejected('bad base64');
    bytes = Buffer.from(compact, 'base64');
  } else if (encoding === '' || encoding === '7bit' || encoding === '8bit') {
    bytes = Buffer.from(body, 'utf8');
  } else {
    throw new OimContentRejected(`unsupported transfer encoding ${encoding}`);
  }
  let text: string;
  try {
    text =
      charset === 'utf-8' || charset === 'utf8'
        ? strictUtf8.decode(bytes)
        : new TextDecoder(charset).decode(bytes);
  } catch {
    throw new OimContentRejected(`not ${charset}`);
  }
  if (text.length === 0) throw new OimContentRejected('empty message');
  return text;
}

/** RFC 2047 encoded-word `=?utf-8?B?…?=`, as OIM From headers and Mail-Data `<N>` carry names. */
export function encodedWord(text: string): string {
  return `=?utf-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * `14 May 2007 15:52:53 +0000`: the OIM Date form. COMPAT: Pidgin (msn_oim_parse_timestamp)
 * and msn-pecan (pn_parse_date) scan exactly `day Mon year hh:mm:ss zone`, no weekday.
 */
export function oimDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/**
 * The message as GetMessage returns it: mail-style headers, a blank line, the UTF-8
 * text in base64 wrapped at 76 columns, CRLF line ends.
 * COMPAT: msn-pecan finds the body after the first CRLF CRLF of the whole HTTP body
 * and reads the first `Date: ` it sees, so no header here holds a blank line or
 * another `Date: `; Pidgin reads the sender from `From` between `<` and `>`, and
 * treats an `X-OIM-originatingSource` starting `tel:+` as a phone.
 */
export function oimMessageText(
  message: OfflineMessage,
  recipientHandle: string,
  senderName: string,
  sequence: number,
): string {
  const base64 = Buffer.from(message.content.text, 'utf8').toString('base64');
  const lines = base64.match(/.{1,76}/g) ?? [''];
  return [
    `From: ${encodedWord(senderName)} <${message.senderHandle}>`,
    `To: <${recipientHandle}>`,
    'Subject: ',
    // The real service put the sender's IP address here; Papillon does not give it away.
    'X-OIM-originatingSource: 127.0.0.1',
    'X-OIMProxy: MSNMSGR',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    'X-OIM-Message-Type: OfflineMessage',
    `X-OIM-Run-Id: {${message.id.toUpperCase()}}`,
    `X-OIM-Sequence-Num: ${sequence}`,
    `Message-ID: <${message.id}@papillon>`,
    `Date: ${oimDate(message.sentAt)}`,
    '',
    ...lines,
  ].join('\r\n');
}
