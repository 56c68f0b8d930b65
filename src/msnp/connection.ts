import type { Logger } from '../server/logger.ts';
import type { BudgetAccount } from '../util/memory-budget.ts';
import { TaskQueue } from '../util/task-queue.ts';
import { encodeCommand, encodePayloadCommand, type MsnpCommand, MsnpDecoder } from './codec/index.ts';
import { traceLine } from './trace.ts';
import type { MsnpTransport, TransportOverflow, TransportOwner } from './transport.ts';

/**
 * What a notification-server and a switchboard connection share, over any transport:
 * bytes decoded into commands that are handled one at a time, in order (a queue, so a
 * reply always precedes the notifications it causes), commands written back, and a
 * deadline for signing in (`USR OK` on the NS, `USR`/`ANS` on a switchboard).
 *
 * Backpressure (issue 13): commands waiting past the input bound stop the transport
 * reading; output the client does not take past the soft bound holds its commands until
 * it drains; past the hard bounds, or when the process memory budget sheds this
 * connection, it is dropped with a warning (util/flow-limits.ts).
 */
export abstract class MsnpConnection implements TransportOwner {
  private readonly decoder = new MsnpDecoder({ hasPayload: this.hasPayload.bind(this) });
  private readonly queue: TaskQueue;
  private readonly budgetAccount: BudgetAccount | undefined;
  /** Bytes of an unfinished line or payload charged to the budget account. */
  private partialCharged = 0;
  /** Until signed in; dropped then (a cleared timer kept in a field is still 120 bytes). */
  private loginTimer: NodeJS.Timeout | undefined;
  /**
   * Idle sweeps (listener.ts) passed since the client last sent or was sent anything:
   * one shared timer for every connection instead of a socket timeout each.
   */
  quietSweeps = 0;

  constructor(
    readonly transport: MsnpTransport,
    loginTimeoutMs: number,
  ) {
    const limits = transport.limits;
    this.budgetAccount = limits.budget?.open(this.overflow.bind(this, 'budget'));
    this.queue = new TaskQueue({
      onError: this.commandFailed.bind(this),
      bounds: limits.input,
      account: this.budgetAccount,
      onInputPressure: transport.pauseInput.bind(transport),
      onInputOverflow: this.overflow.bind(this, 'input'),
    });
    transport.own(this, this.budgetAccount);
    this.loginTimer = setTimeout(() => this.close(), loginTimeoutMs);
    this.loginTimer.unref();
  }

  private commandFailed(err: unknown): void {
    this.log.error({ err }, 'MSNP command failed; closing');
    this.close();
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
    this.loginTimer = undefined;
  }

  /** Bytes from the client. A framing error ends the connection (never the process). */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    this.quietSweeps = 0;
    let commands: MsnpCommand[];
    try {
      commands = this.decoder.push(chunk);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'malformed MSNP input; closing');
      this.close();
      return;
    }
    const partial = this.decoder.bufferedBytes;
    if (partial !== this.partialCharged) {
      this.budgetAccount?.add(partial - this.partialCharged);
      this.partialCharged = partial;
    }
    if (this.rootLog.isLevelEnabled('trace')) {
      for (const c of commands)
        this.log.trace(`MSNP in: ${traceLine('in', c.name, c.args, c.payload?.length)}`);
    }
    for (const command of commands) {
      if (this.closed) return; // the input bound closed it
      // The line's length is not kept; its arguments are close enough (+1 per separator).
      let bytes = command.name.length + (command.payload?.length ?? 0);
      for (const arg of command.args) bytes += arg.length + 1;
      this.queue.pushInput(() => this.dispatch(command), bytes);
    }
  }

  /** Output backed up past the soft bound: no more of this client's commands until it drains. */
  outputPressure(held: boolean): void {
    if (held) this.queue.hold();
    else this.queue.release();
  }

  /**
   * The client does not read what it is sent (`output`, `stalled`), sends faster than it
   * can be served (`input`), or holds the most of an exhausted memory budget (`budget`).
   * No MSNP error is sent: there is no code for it, and a client that does not read
   * would not see it. The connection is dropped as a lost one would be.
   */
  overflow(reason: TransportOverflow | 'input' | 'budget', queuedBytes?: number): void {
    if (this.closed) return;
    const handle = this.log.bindings().handle as string | undefined;
    const who = `${this.transport.remoteAddress}${handle ? ` (${handle})` : ''}`;
    const why = {
      output: 'does not read its output',
      stalled: 'has not read any of its output for too long',
      input: 'sends commands faster than they are handled',
      budget: 'holds the most memory while the server is over its memory budget',
    }[reason];
    this.log.warn(
      { client: this.transport.remoteAddress, reason, ...(queuedBytes ? { queuedBytes } : {}) },
      `MSNP client ${who} ${why}; closing`,
    );
    this.transport.abort();
    this.queue.clear();
    this.close();
  }

  /**
   * Resolves once every command received so far, and anything queued meanwhile, has
   * been handled. The HTTP gateway awaits it before answering a request (§13).
   */
  whenIdle(): Promise<void> {
    return this.queue.whenIdle();
  }

  /** A task that is not the client's own command (an event to render): never held. */
  enqueue(task: () => Promise<void> | void): void {
    this.queue.push(task);
  }

  send(name: string, ...args: (string | number)[]): void {
    if (this.closed) return;
    if (this.rootLog.isLevelEnabled('trace')) this.log.trace(`MSNP out: ${traceLine('out', name, args)}`);
    this.quietSweeps = 0;
    this.transport.write(encodeCommand(name, args));
  }

  sendPayload(name: string, args: (string | number)[], payload: Buffer | string): void {
    if (this.closed) return;
    if (this.rootLog.isLevelEnabled('trace')) {
      this.log.trace(`MSNP out: ${traceLine('out', name, args, Buffer.byteLength(payload))}`);
    }
    this.quietSweeps = 0;
    this.transport.write(encodePayloadCommand(name, args, payload));
  }

  error(code: number, trid: string): void {
    this.send(String(code), trid);
  }
}
