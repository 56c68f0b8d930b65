/**
 * Expected failures are typed errors with a stable `code`; each protocol maps the
 * code to its own error (an MSNP error number, an XMPP stanza/stream condition, an
 * HTTP status, a CLI message). Anything else that is thrown is a bug.
 */
export type ErrorCode =
  | 'bad-handle'
  | 'bad-display-name'
  | 'weak-password'
  | 'handle-taken'
  | 'no-such-account'
  | 'not-authorized'
  | 'bad-group-name'
  | 'group-name-taken'
  | 'no-such-group'
  | 'too-many-groups'
  | 'no-such-contact'
  | 'self-contact'
  | 'conflict'
  | 'bad-config';

export class PapillonError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'PapillonError';
    this.code = code;
  }
}

export function isPapillonError(err: unknown, code?: ErrorCode): err is PapillonError {
  return err instanceof PapillonError && (code === undefined || err.code === code);
}
