/**
 * One MSNP command as it travels on the wire (docs/msnp-reference.md §2).
 *
 * `name` is the 3-letter upper-case command (`VER`, `MSG`, …) or a 3-digit error
 * code (`540`). `args` are the raw tokens after it, exactly as received: the TrID,
 * when the command has one, is `args[0]` (§2.3), and for a payload command the byte
 * count is the last element. URL-encoded parameters are not decoded here
 * (see url-encoding.ts). `payload` is present only for payload commands (§2.2) and
 * may be empty.
 */
export interface MsnpCommand {
  name: string;
  args: string[];
  payload?: Buffer;
}

/** Why the decoder gave up on a stream; the connection cannot be resynchronised. */
export type MsnpProtocolErrorReason =
  | 'line-too-long'
  | 'payload-too-long'
  | 'bad-command'
  | 'bad-length'
  | 'bad-utf8';

/**
 * A framing violation by the peer. Thrown by `MsnpDecoder.push`; the caller closes
 * the connection (there is no MSNP error code for "your framing is broken").
 */
export class MsnpProtocolError extends Error {
  readonly reason: MsnpProtocolErrorReason;
  constructor(reason: MsnpProtocolErrorReason, message: string) {
    super(message);
    this.name = 'MsnpProtocolError';
    this.reason = reason;
  }
}
