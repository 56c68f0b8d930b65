import {
  authcidToHandle,
  authzidAllowed,
  decodeUtf8,
  failure,
  MAX_SASL_MESSAGE_BYTES,
  type SaslStep,
  success,
} from './mechanism.ts';
import { OneMessageMechanism } from './one-message.ts';

/**
 * PLAIN (RFC 4616), server side: `[authzid] NUL authcid NUL passwd`. Only over TLS:
 * outside it the mechanism is neither advertised nor usable (`encryption-required`,
 * RFC 6120 §6.5.5; RFC 4616 §6).
 *
 * The authcid is a username (`alice` → `alice@<domain>`) or a full handle; the
 * authzid is empty or that same bare JID. The password is checked by
 * `Credentials.verifyPassword` under the login guard, exactly as for a Passport or
 * MSNP login: a wrong password, an unknown user and a locked-out client all get
 * `not-authorized` (see scram.ts for why a lockout is not `temporary-auth-failure`).
 */
export class Plain extends OneMessageMechanism {
  readonly name = 'PLAIN';

  protected async authenticate(message: Buffer): Promise<SaslStep> {
    // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd.
    const first = message.indexOf(0);
    const second = first < 0 ? -1 : message.indexOf(0, first + 1);
    if (second < 0 || message.indexOf(0, second + 1) >= 0 || message.length > MAX_SASL_MESSAGE_BYTES) {
      return failure('malformed-request');
    }
    const authzid = decodeUtf8(message.subarray(0, first));
    const authcid = decodeUtf8(message.subarray(first + 1, second));
    const password = decodeUtf8(message.subarray(second + 1));
    if (authzid === undefined || authcid === undefined || password === undefined || password === '') {
      return failure('malformed-request');
    }
    const handle = authcidToHandle(authcid, this.ctx.domain);
    if (handle === undefined) return failure('malformed-request');
    if (!authzidAllowed(authzid, handle)) return failure('invalid-authzid');
    // The password is checked as sent (RFC 4616 §2 leaves its preparation to the
    // server) against the SCRAM-SHA-256 keys, which NFKC-normalise it (RFC 5802 §3
    // Normalize(), core/scram.ts) both when set and here; so any form of the password
    // with the same NFKC normalisation signs in, exactly as with SCRAM itself and as
    // for MSNP and Passport logins, which go through the same check.
    const result = await this.ctx.core.verifyPasswordGuarded(this.ctx.address, handle, password);
    if (result.status !== 'ok') return failure('not-authorized');
    return success(result.value);
  }
}
