import type { Logger } from '../server/logger.ts';
import { TaskQueue } from '../util/task-queue.ts';
import { encodeCommand, encodePayloadCommand, type MsnpCommand, MsnpDecoder } from './codec/index.ts';
import { traceLine } from './trace.ts';
import type { MsnpTransport } from './transport.ts';

/**
 * What a notification-server and a switchboard connection share, over any transport:
 * bytes decoded into commands that are handled one at a time, in order (a queue, so a
 * reply always precedes the notifications it causes), commands written back, and a
 * deadline for signing in (`USR OK` on the NS, `USR`/`ANS` on a switchboard).
 */
export abstract class MsnpConnection {
  private readonly decoder = new MsnpDecoder({ hasPayload: (name) => this.hasPayload(name) });
  private readonly queue = new TaskQueue((err) => {
    this.log.error({ err }, 'MSNP command failed; closing');
    this.close();
  });
  private readonly loginTimer: NodeJS.Timeout;

  constructor(
    readonly transport: MsnpTransport,
    loginTimeoutMs: number,
  ) {
    this.loginTimer = setTimeout(() => this.close(), loginTimeoutMs);
    this.loginTimer.unref();
  }

  protected abstract get log(): Logger;
  /** The server's logger: asked whether `trace` is on without making a child logger per command. */
  protected abstract get rootLog(): Logger;
  protected abstract get closed(): boolean;
  /** Whether a client command line `name …` is followed by a payload (§2.2). */
  protected abstract hasPayload(name: string): boolean;
  protected abstract dispatch(command: MsnpCommand): Promise<void>;
  abstract close(): void;

  /** Signed in, or closed: the login deadline no longer applies. */
  protected clearLoginTimer(): void {
    clearTimeout(this.loginTimer);
  }

  /** Bytes from the client. A framing error ends the connection (never the process). */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    let commands: MsnpCommand[];
    try {
      commands = this.decoder.push(chunk);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'malformed MSNP input; closing');
      this.close();
      return;
    }
    if (this.rootLog.isLevelEnabled('trace')) {
      for (const c of commands)
        this.log.trace(`MSNP in: ${traceLine('in', c.name, c.args, c.payload?.length)}`);
    }
    for (const command of commands) this.enqueue(() => this.dispatch(command));
  }

  /**
   * Resolves once every command received so far, and anything queued meanwhile, has
   * been handled. The HTTP gateway awaits it before answering a request (§13).
   */
  whenIdle(): Promise<void> {
    return this.queue.whenIdle();
  }

  enqueue(task: () => Promise<void> | void): void {
    this.queue.push(task);
  }

  send(name: string, ...args: (string | number)[]): void {
    if (this.closed) return;
    if (this.rootLog.isLevelEnabled('trace')) this.log.trace(`MSNP out: ${traceLine('out', name, args)}`);
    this.transport.write(encodeCommand(name, args));
  }

  sendPayload(name: string, args: (string | number)[], payload: Buffer | string): void {
    if (this.closed) return;
    if (this.rootLog.isLevelEnabled('trace')) {
      this.log.trace(`MSNP out: ${traceLine('out', name, args, Buffer.byteLength(payload))}`);
    }
    this.transport.write(encodePayloadCommand(name, args, payload));
  }

  error(code: number, trid: string): void {
    this.send(String(code), trid);
  }
}
