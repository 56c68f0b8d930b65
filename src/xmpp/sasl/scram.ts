import { randomBytes } from 'node:crypto';
import { type ScramAlgorithm, verifyScramProof } from '../../core/scram.ts';
import type { AccountRow, ScramKeys } from '../../store/types.ts';
import {
  authcidToHandle,
  authzidAllowed,
  challenge,
  decodeSaslName,
  decodeUtf8,
  failure,
  isBase64,
  parseGs2Header,
  type SaslContext,
  type SaslFailureCondition,
  type SaslMechanism,
  type SaslStep,
  success,
} from './mechanism.ts';

/** RFC 5802 §5.1: the server's part of the nonce; 24 random bytes (the brief asks ≥ 18). */
const SERVER_NONCE_BYTES = 24;

/** RFC 5802 §7 `printable` (%x21-2B / %x2D-7E: visible ASCII but `,`), the nonce's characters. */
const NONCE = /^[\x21-\x2B\x2D-\x7E]+$/;
/** RFC 5802 §7 `attr-val`: a one-letter attribute name, `=`, a value (the extensions). */
const EXTENSION = /^[A-Za-z]=[^,]+$/;

type State = 'client-first' | 'client-final' | 'done';

/**
 * SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), server side, without channel
 * binding (no -PLUS variant is offered).
 *
 *   client-first  n,,n=alice,r=<c-nonce>
 *   server-first  r=<c-nonce><s-nonce>,s=<salt>,i=<iterations>
 *   client-final  c=biws,r=<c-nonce><s-nonce>,p=<proof>
 *   success       v=<server signature>
 *
 * Failures: syntax → `malformed-request`; an authzid other than the user's own →
 * `invalid-authzid`; a wrong proof, a nonce or channel binding that does not match,
 * an unknown user (who gets stable fake keys from `Credentials.scramKeys`, so the
 * exchange looks the same as for a real one: no user enumeration, RFC 5802 §9) and
 * a locked-out client → `not-authorized`. The project answers every failed login
 * the same way on every protocol (Passport, MSNP, XMPP): `temporary-auth-failure`
 * for a lockout would tell a guesser to wait rather than that its guess was wrong,
 * and a guess made while locked is never checked. The lock is per (address, handle)
 * and per address, so the real user elsewhere is not affected.
 */
export class Scram implements SaslMechanism {
  readonly name: string;
  #state: State = 'client-first';
  #gs2Header = '';
  #clientFirstBare = '';
  #serverFirst = '';
  #nonce = '';
  #handle = '';
  #account: AccountRow | undefined;
  #keys: ScramKeys | undefined;

  constructor(
    private readonly alg: ScramAlgorithm,
    private readonly ctx: SaslContext,
  ) {
    this.name = alg === 'sha1' ? 'SCRAM-SHA-1' : 'SCRAM-SHA-256';
  }

  async start(initialResponse: Buffer | undefined): Promise<SaslStep> {
    if (this.#state !== 'client-first') return this.#fail('malformed-request');
    // RFC 6120 §6.4.2: no initial response → an empty challenge, then the client-first message.
    if (initialResponse === undefined) return challenge(Buffer.alloc(0));
    return this.#clientFirst(initialResponse);
  }

  async step(response: Buffer): Promise<SaslStep> {
    if (this.#state === 'client-first') return this.#clientFirst(response);
    if (this.#state === 'client-final') return this.#clientFinal(response);
    return this.#fail('malformed-request');
  }

  /** RFC 5802 §5.1 / §7 `client-first-message = gs2-header client-first-message-bare`. */
  async #clientFirst(bytes: Buffer): Promise<SaslStep> {
    const message = decodeUtf8(bytes);
    const gs2 = message === undefined ? undefined : parseGs2Header(message);
    if (gs2 === undefined) return this.#fail('malformed-request');
    // RFC 5802 §6: `p=` asks for channel binding, which we did not offer (no -PLUS).
    // `y` ("I could, but you don't offer it") is fine precisely because we don't; once
    // -PLUS is offered, `y` must fail here as a downgrade.
    if (gs2.flag === 'p') return this.#fail('malformed-request', 'channel binding is not supported');
    const [usernameField, nonceField, ...extensions] = gs2.rest.split(',');
    // RFC 5802 §5.1 `m=`: a mandatory extension we do not know; the server MUST fail.
    if (usernameField?.startsWith('m=')) return this.#fail('malformed-request', 'extensions not supported');
    if (
      !usernameField?.startsWith('n=') ||
      !nonceField?.startsWith('r=') ||
      !NONCE.test(nonceField.slice(2)) ||
      !extensions.every((e) => EXTENSION.test(e))
    ) {
      return this.#fail('malformed-request');
    }
    // Unknown optional extensions are ignored (RFC 5802 §5.1).
    const username = decodeSaslName(usernameField.slice(2));
    const handle = username === undefined ? undefined : authcidToHandle(username, this.ctx.domain);
    if (handle === undefined) return this.#fail('malformed-request');
    if (!authzidAllowed(gs2.authzid, handle)) return this.#fail('invalid-authzid');

    const { account, keys } = await this.ctx.core.credentials.scramKeys(handle, this.alg);
    this.#gs2Header = gs2.raw;
    this.#clientFirstBare = gs2.rest;
    this.#nonce = nonceField.slice(2) + randomBytes(SERVER_NONCE_BYTES).toString('base64');
    this.#serverFirst = `r=${this.#nonce},s=${keys.salt},i=${keys.iterations}`;
    this.#handle = handle;
    this.#account = account;
    this.#keys = keys;
    this.#state = 'client-final';
    return challenge(this.#serverFirst);
  }

  /** RFC 5802 §5.1 / §7 `client-final-message = client-final-message-without-proof "," proof`. */
  async #clientFinal(bytes: Buffer): Promise<SaslStep> {
    const message = decodeUtf8(bytes);
    const fields = message?.split(',') ?? [];
    const [binding, nonce] = fields;
    const proof = fields.length >= 3 ? fields[fields.length - 1] : undefined;
    if (
      message === undefined ||
      !binding?.startsWith('c=') ||
      !isBase64(binding.slice(2)) ||
      !nonce?.startsWith('r=') ||
      !proof?.startsWith('p=') ||
      !isBase64(proof.slice(2)) ||
      !fields.slice(2, -1).every((e) => EXTENSION.test(e))
    ) {
      return this.#fail('malformed-request');
    }
    // RFC 5802 §5.1: `c=` is base64(gs2-header) (no cbind-data without channel
    // binding) — it proves the header, and so the flag, was not altered on the way —
    // and `r=` must be the nonce we sent. Neither tells anything about the password,
    // so they fail without counting against the throttle.
    if (!Buffer.from(binding.slice(2), 'base64').equals(Buffer.from(this.#gs2Header, 'utf8'))) {
      return this.#fail('not-authorized');
    }
    if (nonce.slice(2) !== this.#nonce) return this.#fail('not-authorized');

    const keys = this.#keys;
    if (keys === undefined) return this.#fail('malformed-request');
    // RFC 5802 §3: AuthMessage := client-first-message-bare "," server-first-message ","
    // client-final-message-without-proof.
    const withoutProof = message.slice(0, message.lastIndexOf(','));
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`;
    const account = this.#account;
    const result = await this.ctx.core.loginGuard.attempt(this.ctx.address, this.#handle, async () => {
      const serverSignature = verifyScramProof(this.alg, keys, authMessage, proof.slice(2));
      return serverSignature !== undefined && account !== undefined
        ? { account, serverSignature }
        : undefined;
    });
    if (result.status !== 'ok') return this.#fail('not-authorized');
    // The account was read at client-first, a round trip ago: one deleted since does not sign in.
    const current = await this.ctx.core.accounts.findById(result.value.account.id);
    if (current === undefined) return this.#fail('not-authorized');
    this.#state = 'done';
    // RFC 5802 §5.1 server-final-message `v=`, carried in <success/> (RFC 6120 §6.3.10).
    return success(current, Buffer.from(`v=${result.value.serverSignature}`, 'utf8'));
  }

  #fail(condition: SaslFailureCondition, text?: string): SaslStep {
    this.#state = 'done';
    return failure(condition, text);
  }
}
