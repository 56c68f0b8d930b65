import type net from 'node:net';
import {
  encodeCommand,
  encodePayloadCommand,
  type MsnpCommand,
  MsnpDecoder,
} from '../src/msnp/codec/index.ts';
import { ConnBase, connectSocket } from './conn-base.ts';

/** Server→client payload commands in MSNP2–12 (docs/msnp-reference.md §2.2). */
const SERVER_PAYLOAD = new Set(['MSG', 'NOT', 'IPG', 'UBX', 'GCF']);

/** Which server→client commands carry a payload, from the command line. */
export type PayloadRule = (name: string, args: readonly string[]) => boolean;

export const msnp12Payload: PayloadRule = (name) => SERVER_PAYLOAD.has(name);

/** MSNP13–18 add these (NINA wiki Commands/UBN, UUN, NFY, SDG, FQY). */
const SERVER_PAYLOAD_13 = new Set([...SERVER_PAYLOAD, 'FQY', 'UBN', 'UUN', 'NFY', 'SDG']);

/**
 * MSNP13–18: also `ADL 0 len`/`RML 0 len` from the server (but not `ADL trid OK`), and
 * an error that quotes the `<ml>` it refers to (`208 trid len` after FQY).
 */
export const msnp18Payload: PayloadRule = (name, args) => {
  if (SERVER_PAYLOAD_13.has(name)) return true;
  const withLength = args.length >= 2 && /^\d+$/.test(args[args.length - 1] ?? '');
  return withLength && (name === 'ADL' || name === 'RML' || isErrorCode(name));
};

function isErrorCode(name: string): boolean {
  const c = name.charCodeAt(0);
  return c >= 0x30 && c <= 0x39;
}

/**
 * A lean MSNP client connection for the benchmark: framing from `src/msnp/codec`, an
 * optional `handler` that sees every command first (and swallows it by returning
 * true), a small inbox, and `expect(name)` with a timeout. A numeric error reply
 * (`911 trid`) fails the oldest waiter instead of being waited past.
 */
export class MsnpConn extends ConnBase<MsnpCommand> {
  private readonly decoder: MsnpDecoder;
  private lastTrid = 0;

  private constructor(socket: net.Socket, hasPayload: PayloadRule) {
    super(socket);
    this.decoder = new MsnpDecoder({ hasPayload });
  }

  static async connect(
    port: number,
    host: string,
    localAddress: string | undefined,
    timeoutMs: number,
    hasPayload: PayloadRule = msnp12Payload,
  ): Promise<MsnpConn> {
    return new MsnpConn(await connectSocket(port, host, localAddress, timeoutMs), hasPayload);
  }

  trid(): number {
    this.lastTrid += 1;
    return this.lastTrid;
  }

  /** `NAME args…\r\n`. */
  send(name: string, ...args: (string | number)[]): void {
    this.write(encodeCommand(name, args));
  }

  /** `NAME args… <bytes>\r\n<payload>`. */
  sendPayload(name: string, args: readonly (string | number)[], payload: Buffer | string): void {
    this.write(encodePayloadCommand(name, args, payload));
  }

  write(data: Buffer): void {
    if (!this.closed && this.socket.writable) this.socket.write(data);
  }

  /** The oldest command named `name` (or a numeric error, which rejects); others stay in the inbox. */
  expect(name: string, timeoutMs: number): Promise<MsnpCommand> {
    return this.expectOneOf([name], timeoutMs);
  }

  /** The oldest command with one of `names` (or a numeric error, which rejects). */
  expectOneOf(names: readonly string[], timeoutMs: number): Promise<MsnpCommand> {
    const what = names.join(' or ');
    const accept = (c: MsnpCommand) => names.includes(c.name) || isErrorCode(c.name);
    const taken = this.takeFromInbox(accept);
    if (taken) {
      const cmd = taken.item;
      return isErrorCode(cmd.name) ? Promise.reject(serverError(what, cmd)) : Promise.resolve(cmd);
    }
    if (this.closed) return Promise.reject(new Error(`waiting for ${what}: connection closed`));
    return new Promise((resolve, reject) => {
      this.addWaiter(
        what,
        accept,
        (cmd, fail) => {
          const c = cmd as MsnpCommand;
          if (isErrorCode(c.name)) fail(serverError(what, c));
          else resolve(c);
        },
        reject,
        timeoutMs,
      );
    });
  }

  /** Sends `OUT` (optional), ends the connection and resolves once it is closed (destroyed after `timeoutMs`). */
  close(timeoutMs: number, out = false): Promise<void> {
    return this.closeWith(out ? Buffer.from('OUT\r\n') : undefined, timeoutMs);
  }

  protected receive(chunk: Buffer): void {
    let commands: MsnpCommand[];
    try {
      commands = this.decoder.push(chunk);
    } catch (err) {
      this.failure = err as Error;
      this.socket.destroy();
      return;
    }
    for (const cmd of commands) {
      if (this.handler?.(cmd)) continue;
      this.deliver(cmd);
    }
  }
}

function serverError(waitingFor: string, cmd: MsnpCommand): Error {
  return new Error(`waiting for ${waitingFor}: server error ${cmd.name} ${cmd.args.join(' ')}`.trim());
}
