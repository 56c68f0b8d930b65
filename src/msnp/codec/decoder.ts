import { type MsnpCommand, MsnpProtocolError } from './command.ts';

export interface MsnpDecoderOptions {
  /**
   * Longest accepted command line in bytes, not counting its CRLF / LF. No source
   * gives a protocol maximum; docs/msnp-reference.md §2.1 suggests at least 8 KiB
   * (an URL-encoded MSNObject in CHG can take several hundred bytes).
   */
  maxLineBytes?: number;
  /** Largest accepted payload byte count (§2.2; the SB's own 1664-byte MSG limit is the caller's business). */
  maxPayloadBytes?: number;
  /**
   * Whether this command line is followed by a payload. Which commands carry one
   * depends on the dialect and the direction (§2.2's table), so the caller decides.
   * When it returns true, the byte count is the line's last argument.
   */
  hasPayload: (name: string, args: readonly string[]) => boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * One decoder for every connection: `decode` without `{ stream: true }` keeps no state
 * between calls, so sharing it is safe and saves an object per connection.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

interface PendingPayload {
  name: string;
  args: string[];
  payload: Buffer;
  filled: number;
}

/**
 * Incremental MSNP stream decoder: feed it whatever the socket delivers, in any
 * split, and it returns each command as soon as it is complete. It never touches a
 * socket. After it throws an `MsnpProtocolError` it stays failed (every later
 * `push` rethrows the same error): the caller must close the connection.
 *
 * It keeps references to the pushed chunks while a line is incomplete, so callers
 * must not reuse a chunk's memory after pushing it (socket `data` chunks are never
 * reused). Payloads are copied once into a buffer of their own, so a small payload
 * never pins a large socket chunk.
 */
export class MsnpDecoder {
  private readonly maxLineBytes: number;
  private readonly maxPayloadBytes: number;
  private readonly hasPayload: (name: string, args: readonly string[]) => boolean;

  /** The unterminated start of the current line, spread over earlier chunks (none: undefined, not an array per idle connection). */
  private lineParts: Buffer[] | undefined;
  private lineLength = 0;
  private pending: PendingPayload | undefined;
  private failure: MsnpProtocolError | undefined;

  constructor(options: MsnpDecoderOptions) {
    this.maxLineBytes = options.maxLineBytes ?? 8192;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 65536;
    this.hasPayload = options.hasPayload;
  }

  /** Returns every command completed by `chunk`, oldest first; keeps any incomplete rest. */
  push(chunk: Buffer): MsnpCommand[] {
    if (this.failure) throw this.failure;
    try {
      return this.decode(chunk);
    } catch (err) {
      if (err instanceof MsnpProtocolError) this.failure = err;
      throw err;
    }
  }

  /** Bytes held for an incomplete line or payload (useful for idle-connection checks). */
  get bufferedBytes(): number {
    return this.lineLength + (this.pending?.filled ?? 0);
  }

  private decode(chunk: Buffer): MsnpCommand[] {
    const out: MsnpCommand[] = [];
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      const pending = this.pending;
      if (pending) {
        // docs/msnp-reference.md §2.2 ([HYP] general/payload_commands.php): exactly N raw
        // bytes follow the line, with no CRLF of their own; parsing resumes right after.
        const take = Math.min(pending.payload.length - pending.filled, end - pos);
        chunk.copy(pending.payload, pending.filled, pos, pos + take);
        pending.filled += take;
        pos += take;
        if (pending.filled === pending.payload.length) {
          this.pending = undefined;
          out.push({ name: pending.name, args: pending.args, payload: pending.payload });
        }
        continue;
      }

      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) {
        this.bufferPartialLine(chunk, pos, end);
        break;
      }
      let line: Buffer;
      const parts = this.lineParts;
      if (parts === undefined) {
        line = chunk.subarray(pos, nl);
      } else {
        parts.push(chunk.subarray(pos, nl));
        line = Buffer.concat(parts, this.lineLength + (nl - pos));
        this.lineParts = undefined;
        this.lineLength = 0;
      }
      pos = nl + 1;
      this.parseLine(line, out);
    }
    return out;
  }

  private bufferPartialLine(chunk: Buffer, pos: number, end: number): void {
    this.lineLength += end - pos;
    // Give up as soon as the line cannot fit any more, rather than buffering without
    // bound. One byte over the limit is still fine if it is the CR of the CRLF.
    const over = this.lineLength - this.maxLineBytes;
    if (over > 1 || (over === 1 && chunk[end - 1] !== CR)) {
      throw new MsnpProtocolError('line-too-long', `command line longer than ${this.maxLineBytes} bytes`);
    }
    this.lineParts ??= [];
    this.lineParts.push(chunk.subarray(pos, end));
  }

  private parseLine(line: Buffer, out: MsnpCommand[]): void {
    // §2.1 ([HYP] general/commands.php): lines end in CRLF, but a bare LF was accepted
    // by the official server too, so strip one optional CR before the LF.
    let end = line.length;
    if (end > 0 && line[end - 1] === CR) end--;
    if (end > this.maxLineBytes) {
      throw new MsnpProtocolError('line-too-long', `command line longer than ${this.maxLineBytes} bytes`);
    }
    if (end === 0) return;
    // A bare CR is not a line terminator (§2.1); inside a line it can only be garbage,
    // and letting it through would put it into tokens that replies may echo.
    const cr = line.indexOf(CR);
    if (cr !== -1 && cr < end) throw new MsnpProtocolError('bad-command', 'stray CR inside a command line');

    let text: string;
    try {
      text = UTF8.decode(line.subarray(0, end));
    } catch {
      throw new MsnpProtocolError('bad-utf8', 'command line is not valid UTF-8');
    }

    const tokens = tokenize(text);
    const name = tokens.shift();
    if (name === undefined) return; // only spaces/tabs: as good as empty
    if (!isCommandName(name)) {
      throw new MsnpProtocolError(
        'bad-command',
        `malformed command name ${JSON.stringify(name.slice(0, 16))}`,
      );
    }
    if (!this.hasPayload(name, tokens)) {
      out.push({ name, args: tokens });
      return;
    }

    // §2.2 ([HYP] general/payload_commands.php; [NINA] MSNP8/Payload_Commands): the byte
    // count is the last parameter on the line.
    const lengthToken = tokens[tokens.length - 1];
    if (lengthToken === undefined || !isDecimal(lengthToken)) {
      throw new MsnpProtocolError('bad-length', `${name}: payload length is not a non-negative integer`);
    }
    const length = Number(lengthToken);
    if (length > this.maxPayloadBytes) {
      throw new MsnpProtocolError('payload-too-long', `${name}: payload of ${lengthToken} bytes is too long`);
    }
    if (length === 0) {
      // e.g. `SDC … 0` (§2.2): a payload command with nothing after the line.
      out.push({ name, args: tokens, payload: Buffer.alloc(0) });
      return;
    }
    this.pending = { name, args: tokens, payload: Buffer.allocUnsafe(length), filled: 0 };
  }
}

/** Splits on runs of spaces and tabs (§2.1: [HYP] saw the server tolerate both). */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const n = text.length;
  let start = -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === SPACE || c === TAB) {
      if (start !== -1) {
        tokens.push(text.slice(start, i));
        start = -1;
      }
    } else if (start === -1) {
      start = i;
    }
  }
  if (start !== -1) tokens.push(start === 0 ? text : text.slice(start));
  return tokens;
}

/** §2.1: a 3-letter upper-case command (case-sensitive) or a 3-digit error code. */
function isCommandName(name: string): boolean {
  if (name.length !== 3) return false;
  const a = name.charCodeAt(0);
  const b = name.charCodeAt(1);
  const c = name.charCodeAt(2);
  const upper = (x: number) => x >= 0x41 && x <= 0x5a;
  const digit = (x: number) => x >= 0x30 && x <= 0x39;
  return (upper(a) && upper(b) && upper(c)) || (digit(a) && digit(b) && digit(c));
}

function isDecimal(token: string): boolean {
  if (token.length === 0) return false;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
