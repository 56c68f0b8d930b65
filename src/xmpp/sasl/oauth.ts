import { addressKey } from '../../core/login-throttle.ts';
import { XMPP_SCOPE } from '../../core/tokens.ts';
import type { AccountRow } from '../../store/types.ts';
import {
  authzidAllowed,
  challenge,
  decodeBase64,
  decodeUtf8,
  failure,
  parseGs2Header,
  type SaslContext,
  type SaslFailureCondition,
  type SaslMechanism,
  type SaslStep,
  success,
} from './mechanism.ts';
import { OneMessageMechanism } from './one-message.ts';

/** Why a token was refused, as RFC 6750 §3.1 names it (OAUTHBEARER's error `status`). */
type TokenError = 'invalid_token' | 'insufficient_scope';

/**
 * Checks an access token: known to `core.tokens`, unexpired, granting `wl.messenger`,
 * for an account that still exists. Every refusal counts against the client's
 * address in the login guard's per-address throttle (the key and budget password
 * guesses use), so token guessing is bounded like password guessing; there is no
 * handle to key a per-account limit on before the token is checked.
 */
async function checkToken(
  ctx: SaslContext,
  token: string | readonly string[],
): Promise<{ account: AccountRow; grantId: string | undefined } | { error: TokenError }> {
  let error: TokenError = 'invalid_token';
  // Several readings of one message (X-MESSENGER-OAUTH2's raw or base64 text) are one attempt.
  const candidates = typeof token === 'string' ? [token] : token;
  const result = await ctx.core.loginGuard.perAddress.attempt(addressKey(ctx.address), async () => {
    for (const candidate of candidates) {
      const grant = await ctx.core.tokens.validate(candidate);
      // The validator should not return expired grants; checked here as well.
      if (grant === undefined || grant.expiresAt <= Date.now()) continue;
      if (!grant.scopes.includes(XMPP_SCOPE)) {
        error = 'insufficient_scope';
        continue;
      }
      const account = await ctx.core.accounts.findById(grant.accountId);
      if (account?.handle === grant.handle.toLowerCase()) return { account, grantId: grant.grantId };
    }
    return undefined;
  });
  return result.status === 'ok' ? result.value : { error };
}

/** Success, remembering the grant: revoking it ends the session (`grant-revoked`). */
function tokenSuccess(checked: { account: AccountRow; grantId: string | undefined }): SaslStep {
  return checked.grantId === undefined
    ? success(checked.account)
    : { kind: 'success', account: checked.account, grantId: checked.grantId };
}

/** RFC 6750 §2.1 `b64token`: an access token as it can appear after `Bearer `. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Any visible ASCII: Windows Live's tokens were not all base64. */
const TOKEN_TEXT = /^[\x21-\x7E]+$/;

/**
 * X-MESSENGER-OAUTH2, Windows Live Messenger's XMPP mechanism: the whole initial
 * response is the access token, there is no challenge, and the answer is success or
 * `not-authorized`. Only over TLS, like every bearer credential (RFC 6750 §5.3).
 *
 * COMPAT: slixmpp (and SleekXMPP before it) put the token in `<auth/>` as it is, not
 * base64, as Windows Live's service took it; standard SASL framing (RFC 6120 §6.4.2)
 * base64-encodes it. `<auth/>`'s text is tried as a token first, then, when it is
 * base64, decoded: our tokens are base64url without padding, 43 characters, never
 * canonical base64, so the two readings cannot name different tokens of ours.
 */
export class XMessengerOAuth2 extends OneMessageMechanism {
  readonly name = 'X-MESSENGER-OAUTH2';
  /** `<auth/>`'s text as sent, when the session passed it undecoded. */
  #text: string | undefined;

  async startWithText(text: string): Promise<SaslStep> {
    this.#text = text.trim();
    return this.start(Buffer.from(this.#text, 'utf8'));
  }

  protected async authenticate(message: Buffer): Promise<SaslStep> {
    const candidates: string[] = [];
    const text = this.#text;
    this.#text = undefined;
    if (text !== undefined) {
      if (TOKEN_TEXT.test(text)) candidates.push(text);
      const bytes = decodeBase64(text);
      if (bytes) {
        const decoded = decodeUtf8(bytes);
        if (decoded !== undefined && TOKEN_TEXT.test(decoded) && decoded !== text) candidates.push(decoded);
      }
    } else {
      const token = decodeUtf8(message);
      if (token !== undefined && TOKEN_TEXT.test(token)) candidates.push(token);
    }
    if (candidates.length === 0) return failure('malformed-request');
    const checked = await checkToken(this.ctx, candidates);
    return 'account' in checked ? tokenSuccess(checked) : failure('not-authorized');
  }
}

/**
 * OAUTHBEARER (RFC 7628), server side. The client's message (§3.1) is
 *
 *   gs2-header %x01 *(key "=" value %x01) %x01   e.g.  n,,\x01auth=Bearer <token>\x01\x01
 *
 * A refused token gets the JSON error challenge of §3.2.2; the client must answer it
 * with a single %x01 (§3.2.3), and the exchange then fails with `not-authorized`.
 * Only over TLS (RFC 7628 §5, RFC 6750 §5.3).
 */
export class OAuthBearer implements SaslMechanism {
  readonly name = 'OAUTHBEARER';
  #state: 'client-response' | 'error-sent' | 'done' = 'client-response';

  constructor(private readonly ctx: SaslContext) {}

  async start(initialResponse: Buffer | undefined): Promise<SaslStep> {
    if (this.#state !== 'client-response') return this.#fail('malformed-request');
    if (!this.ctx.secure) return this.#fail('encryption-required');
    if (initialResponse === undefined) return challenge(Buffer.alloc(0));
    return this.#clientResponse(initialResponse);
  }

  async step(response: Buffer): Promise<SaslStep> {
    if (!this.ctx.secure) return this.#fail('malformed-request');
    if (this.#state === 'client-response') return this.#clientResponse(response);
    // RFC 7628 §3.2.3: the client acknowledges the error with %x01 and we fail. Whatever
    // it sent instead, the exchange is over just the same.
    if (this.#state === 'error-sent') return this.#fail('not-authorized');
    return this.#fail('malformed-request');
  }

  async #clientResponse(bytes: Buffer): Promise<SaslStep> {
    const message = decodeUtf8(bytes);
    const gs2 = message === undefined ? undefined : parseGs2Header(message);
    // RFC 7628 §3.1: OAUTHBEARER has no channel binding, so the flag is `n` or `y`.
    if (gs2 === undefined || gs2.flag === 'p') return this.#fail('malformed-request');
    const pairs = parseKeyValues(gs2.rest);
    const auth = pairs?.get('auth');
    // RFC 7628 §3.1 `auth-value`: the RFC 6750 §2.1 credentials, `Bearer` 1*SP b64token
    // (the scheme is case-insensitive, RFC 7235 §2.1). `host` and `port` are ignored.
    const bearer = auth === undefined ? null : /^bearer +(\S+)$/i.exec(auth);
    const token = bearer?.[1];
    if (token === undefined || !B64TOKEN.test(token)) return this.#fail('malformed-request');

    const checked = await checkToken(this.ctx, token);
    if ('error' in checked) {
      this.#state = 'error-sent';
      // RFC 7628 §3.2.2: the error is a JSON object; `scope` names what would do.
      const body =
        checked.error === 'insufficient_scope'
          ? { status: checked.error, scope: XMPP_SCOPE }
          : { status: checked.error };
      return challenge(JSON.stringify(body));
    }
    if (!authzidAllowed(gs2.authzid, checked.account.handle)) return this.#fail('invalid-authzid');
    this.#state = 'done';
    return tokenSuccess(checked);
  }

  #fail(condition: SaslFailureCondition): SaslStep {
    this.#state = 'done';
    return failure(condition);
  }
}

/**
 * RFC 7628 §3.1: `kvsep *kvpair kvsep`, kvpair = key "=" value kvsep, key = 1*ALPHA,
 * value = *(VCHAR / SP / HTAB / CR / LF). Undefined when malformed or a key repeats.
 */
function parseKeyValues(text: string): Map<string, string> | undefined {
  if (text.length < 2 || !text.startsWith('\x01') || !text.endsWith('\x01\x01')) return undefined;
  const pairs = new Map<string, string>();
  const items = text.slice(1, -1).split('\x01');
  items.pop(); // the empty string after the last pair's kvsep
  for (const item of items) {
    const match = /^([A-Za-z]+)=([\x20-\x7E\t\r\n]*)$/.exec(item);
    const key = match?.[1];
    if (match === null || key === undefined || pairs.has(key)) return undefined;
    pairs.set(key, match[2] ?? '');
  }
  return pairs;
}
