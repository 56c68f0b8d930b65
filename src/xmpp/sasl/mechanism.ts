import type { Core } from '../../core/core.ts';
import type { AccountRow } from '../../store/types.ts';
import { normalizeHandle } from '../../util/handle.ts';
import { OAuthBearer, XMessengerOAuth2 } from './oauth.ts';
import { Plain } from './plain.ts';
import { Scram } from './scram.ts';

/**
 * Server-side SASL (RFC 6120 §6, RFC 4422) as protocol-neutral state machines: a
 * mechanism takes the client's raw bytes and answers with the next step. The c2s
 * session does the base64 and the `<auth/>`, `<challenge/>`, `<response/>`,
 * `<success/>` and `<failure/>` elements, and `<abort/>` (→ `aborted`) itself.
 */
export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  /**
   * RFC 6120 §6.3.10: `additionalData` goes into `<success/>`. `grantId`: the token grant a
   * bearer mechanism signed in with; the session ends when it is revoked (`grant-revoked`).
   */
  | { kind: 'success'; account: AccountRow; additionalData?: Buffer; grantId?: string }
  | { kind: 'failure'; condition: SaslFailureCondition; text?: string };

/** RFC 6120 §6.5. */
export type SaslFailureCondition =
  | 'aborted'
  | 'account-disabled'
  | 'credentials-expired'
  | 'encryption-required'
  | 'incorrect-encoding'
  | 'invalid-authzid'
  | 'invalid-mechanism'
  | 'malformed-request'
  | 'mechanism-too-weak'
  | 'not-authorized'
  | 'temporary-auth-failure';

export interface SaslMechanism {
  readonly name: string;
  /**
   * `initialResponse` is undefined when `<auth/>` had no content and an empty buffer
   * for `=` (RFC 6120 §6.4.2). Without one, a mechanism answers with an empty
   * challenge and gets the client's first message in `step`.
   */
  start(initialResponse: Buffer | undefined): Promise<SaslStep>;
  step(response: Buffer): Promise<SaslStep>;
  /**
   * For a mechanism some clients send without base64 (X-MESSENGER-OAUTH2): `start` with
   * `<auth/>`'s text as it came, non-empty; the mechanism decides how to read it.
   */
  startWithText?(text: string): Promise<SaslStep>;
}

export interface SaslContext {
  core: Core;
  /** Our XMPP domain: a bare username `alice` authenticates as `alice@<domain>`. */
  domain: string;
  /** client address for throttling */
  address: string;
  /** TLS in use (PLAIN and the bearer-token mechanisms only over TLS) */
  secure: boolean;
  /**
   * channel binding data when available, else undefined. Not used yet: no -PLUS
   * variant is offered, which is what lets SCRAM accept the `y` flag (RFC 5802 §6).
   */
  tlsUnique?: Buffer;
}

/**
 * The mechanisms to advertise (RFC 6120 §6.4.1), in our order of preference. The
 * plaintext ones — PLAIN's password and the bearer tokens, which are as good as a
 * password to whoever reads them (RFC 6750 §5.3, RFC 7628 §5) — only over TLS.
 */
export function mechanismsFor(ctx: SaslContext): string[] {
  const names = ['SCRAM-SHA-256', 'SCRAM-SHA-1'];
  if (ctx.secure) names.push('PLAIN', 'X-MESSENGER-OAUTH2', 'OAUTHBEARER');
  return names;
}

/**
 * A fresh exchange for the mechanism the client chose, or undefined for one we do
 * not know (→ `invalid-mechanism`, RFC 6120 §6.5.8). Names are matched exactly: SASL
 * mechanism names are upper case (RFC 4422 §3.1). PLAIN and the token mechanisms
 * outside TLS are created but fail at once with `encryption-required`.
 */
export function createMechanism(name: string, ctx: SaslContext): SaslMechanism | undefined {
  switch (name) {
    case 'SCRAM-SHA-256':
      return new Scram('sha256', ctx);
    case 'SCRAM-SHA-1':
      return new Scram('sha1', ctx);
    case 'PLAIN':
      return new Plain(ctx);
    case 'X-MESSENGER-OAUTH2':
      return new XMessengerOAuth2(ctx);
    case 'OAUTHBEARER':
      return new OAuthBearer(ctx);
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------
// Helpers shared by the mechanisms.

/** Longest client message any mechanism accepts; longer ones are `malformed-request`. */
export const MAX_SASL_MESSAGE_BYTES = 8192;

/** Longest authentication or authorization identity (RFC 7622 §3.3 caps each JID part at 1023). */
const MAX_IDENTITY_LENGTH = 1023;

export function failure(condition: SaslFailureCondition, text?: string): SaslStep {
  return text === undefined ? { kind: 'failure', condition } : { kind: 'failure', condition, text };
}

export function success(account: AccountRow, additionalData?: Buffer): SaslStep {
  return additionalData === undefined
    ? { kind: 'success', account }
    : { kind: 'success', account, additionalData };
}

export function challenge(data: Buffer | string): SaslStep {
  return { kind: 'challenge', data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as UTF-8 text, or undefined when they are not valid UTF-8 or too long. */
export function decodeUtf8(bytes: Buffer): string | undefined {
  if (bytes.length > MAX_SASL_MESSAGE_BYTES) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Non-empty canonical base64 (RFC 4648 §4, padded), as RFC 5802 §7 `base64` requires. */
export function isBase64(text: string): boolean {
  return text.length > 0 && BASE64.test(text);
}

/** SASL payload text (whitespace ignored) as bytes; null when it is not base64 ('' is no bytes). */
export function decodeBase64(text: string): Buffer | null {
  const clean = text.replace(/\s+/g, '');
  if (clean !== '' && !isBase64(clean)) return null;
  return Buffer.from(clean, 'base64');
}

/**
 * RFC 5802 §5.1 / RFC 5801 §4 `saslname`: `,` and `=` travel as `=2C` and `=3D`;
 * any other `=` (or a bare `,`) makes the name malformed → undefined.
 */
export function decodeSaslName(encoded: string): string | undefined {
  if (encoded.includes(',') || /=(?!2C|3D)/.test(encoded)) return undefined;
  return encoded.replace(/=2C|=3D/g, (code) => (code === '=2C' ? ',' : '='));
}

/** RFC 4013 §2.1 / RFC 3454 C.1.2: non-ASCII spaces, mapped to U+0020. */
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;

/** RFC 4013 §2.1 / RFC 3454 B.1: "commonly mapped to nothing". */
function isMappedToNothing(cp: number): boolean {
  return (
    cp === 0x00ad ||
    cp === 0x034f ||
    cp === 0x1806 ||
    (cp >= 0x180b && cp <= 0x180d) ||
    cp === 0x200c ||
    cp === 0x200d ||
    cp === 0x2060 ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    cp === 0xfeff
  );
}

/** RFC 4013 §2.3: the prohibited output (RFC 3454 C.2.1–C.9). */
function isProhibited(cp: number): boolean {
  return (
    cp <= 0x1f || // C.2.1 ASCII controls
    (cp >= 0x7f && cp <= 0x9f) || // C.2.1, C.2.2 controls
    cp === 0x06dd ||
    cp === 0x070f ||
    cp === 0x180e ||
    (cp >= 0x200c && cp <= 0x200f) || // C.2.2 ZWNJ, ZWJ; C.8 LRM, RLM
    (cp >= 0x2028 && cp <= 0x202e) || // C.2.2 separators; C.8 embeddings
    (cp >= 0x2060 && cp <= 0x2063) || // C.2.2
    (cp >= 0x206a && cp <= 0x206f) || // C.2.2, C.8
    (cp >= 0x2ff0 && cp <= 0x2ffb) || // C.7 ideographic description
    cp === 0x0340 ||
    cp === 0x0341 || // C.8
    (cp >= 0xd800 && cp <= 0xdfff) || // C.5 surrogates
    (cp >= 0xe000 && cp <= 0xf8ff) || // C.3 private use
    (cp >= 0xfdd0 && cp <= 0xfdef) || // C.4 non-characters
    cp === 0xfeff || // C.2.2
    (cp >= 0xfff9 && cp <= 0xfffd) || // C.2.2, C.6
    (cp & 0xfffe) === 0xfffe || // C.4 U+nFFFE, U+nFFFF
    (cp >= 0x1d173 && cp <= 0x1d17a) || // C.2.2 musical controls
    cp === 0xe0001 ||
    (cp >= 0xe0020 && cp <= 0xe007f) || // C.9 tags
    cp >= 0xf0000 // C.3 planes 15–16 private use
  );
}

/**
 * SASLprep (RFC 4013) as far as identities need it: the §2.1 mappings, NFKC (§2.2)
 * and the §2.3 prohibited characters → undefined. Not done: the §2.4 bidi rule and
 * the unassigned-code-point check, which only ever reject input — a handle is
 * ASCII, so such a name cannot match an account anyway.
 */
export function saslprep(text: string): string | undefined {
  const mapped = Array.from(text.replace(NON_ASCII_SPACE, ' '))
    .filter((char) => !isMappedToNothing(char.codePointAt(0) ?? 0))
    .join('');
  const prepared = mapped.normalize('NFKC');
  for (const char of prepared) {
    if (isProhibited(char.codePointAt(0) ?? 0)) return undefined;
  }
  return prepared;
}

/**
 * The handle an authentication identity (SCRAM `n=`, PLAIN authcid) names: a
 * username `alice` is `alice@<domain>`, as RFC 6120 §6.3.7 has it (the simple user
 * name, the local part). COMPAT: some clients (and Windows Live's own XMPP users)
 * send the bare JID `alice@domain` instead; it is taken as the handle itself, which
 * also lets accounts whose handle is on another domain sign in. Undefined when
 * empty, too long or prohibited (→ `malformed-request`). An identity that is not a
 * valid handle is not refused here: like an unknown account, it fails at the proof.
 */
export function authcidToHandle(authcid: string, domain: string): string | undefined {
  const prepared = saslprep(authcid);
  if (prepared === undefined || prepared.length > MAX_IDENTITY_LENGTH) return undefined;
  const name = normalizeHandle(prepared);
  if (name === '') return undefined;
  return name.includes('@') ? name : `${name}@${normalizeHandle(domain)}`;
}

/**
 * RFC 6120 §6.3.8: the authorization identity, when given, must be the bare JID the
 * authentication identity stands for — nobody may act as someone else.
 */
export function authzidAllowed(authzid: string, handle: string): boolean {
  if (authzid === '') return true;
  const prepared = saslprep(authzid);
  return prepared !== undefined && normalizeHandle(prepared) === handle;
}

export interface Gs2Header {
  /** RFC 5801 §4 gs2-cb-flag: `n` no channel binding, `y` client could but thinks we cannot, `p` required. */
  flag: 'n' | 'y' | 'p';
  /** The decoded authzid; '' when absent. */
  authzid: string;
  /** The header as sent, up to and including its second comma (RFC 5802 `c=` covers it). */
  raw: string;
  /** What follows the header. */
  rest: string;
}

/**
 * RFC 5801 §4 / RFC 5802 §7 `gs2-header = gs2-cbind-flag "," [ authzid ] ","`.
 * The non-standard `F,` prefix is for GSS-API mechanisms and is refused here.
 */
export function parseGs2Header(message: string): Gs2Header | undefined {
  const first = message.indexOf(',');
  const second = first < 0 ? -1 : message.indexOf(',', first + 1);
  if (second < 0) return undefined;
  const cbind = message.slice(0, first);
  const authzidField = message.slice(first + 1, second);
  let flag: Gs2Header['flag'];
  if (cbind === 'n' || cbind === 'y') flag = cbind;
  else if (/^p=[A-Za-z0-9.-]+$/.test(cbind)) flag = 'p';
  else return undefined;
  let authzid = '';
  if (authzidField !== '') {
    if (!authzidField.startsWith('a=')) return undefined;
    const decoded = decodeSaslName(authzidField.slice(2));
    if (decoded === undefined || decoded === '') return undefined;
    authzid = decoded;
  }
  return { flag, authzid, raw: message.slice(0, second + 1), rest: message.slice(second + 1) };
}
