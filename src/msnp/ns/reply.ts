/** Raised by a handler to answer `CODE trid`, optionally closing the connection. */
export class MsnpReply extends Error {
  constructor(
    readonly code: number,
    readonly closeAfter = false,
  ) {
    super(`MSNP error ${code}`);
  }
}
