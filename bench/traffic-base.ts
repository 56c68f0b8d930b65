import { performance } from 'node:perf_hooks';
import { Samples } from './common.ts';

/** Something that sends messages and counts those not yet received. */
export interface Sender {
  /** Messages sent and not yet received (or bounced). */
  outstanding: number;
}

/**
 * The bookkeeping shared by the benchmark's message drivers. In `window` mode each
 * sender keeps `window` messages outstanding (a receipt makes it send the next); in
 * `rate` mode `tick` sends at an offered total rate, round-robin over the senders.
 * Subclasses send (`send`) and report receipts (`received`, `samples`, `refill`).
 */
export abstract class TrafficBase<S extends Sender> {
  readonly samples = new Samples();
  /** Messages received while `recording`. */
  received = 0;
  recording = false;
  mode: 'idle' | 'window' | 'rate' = 'idle';
  protected seq = 0;
  private rateStart = 0;
  private rateSent = 0;
  private rateNext = 0;
  /** Messages not sent in rate mode because the sender already had `rateCap` outstanding. */
  skipped = 0;

  constructor(
    protected readonly senders: S[],
    public window: number,
  ) {}

  get outstanding(): number {
    let n = 0;
    for (const s of this.senders) n += s.outstanding;
    return n;
  }

  /** Closed loop: every sender fills its window and refills on each receipt. */
  startWindow(window: number): void {
    this.window = window;
    this.mode = 'window';
    for (let index = 0; index < this.senders.length; index++) this.refill(index);
  }

  /** Open loop at a total rate; call `tick` often (it sends what is due). */
  startRate(): void {
    this.mode = 'rate';
    this.rateStart = performance.now();
    this.rateSent = 0;
    this.skipped = 0;
  }

  /** Sends the messages due by now at `rate` per second, round-robin over the senders. */
  tick(rate: number, rateCap: number): void {
    const due = Math.floor((rate * (performance.now() - this.rateStart)) / 1000) - this.rateSent;
    for (let i = 0; i < due; i++) {
      const index = this.rateNext;
      this.rateNext = (this.rateNext + 1) % this.senders.length;
      this.rateSent++;
      if ((this.senders[index] as S).outstanding >= rateCap) this.skipped++;
      else this.send(index);
    }
  }

  get offered(): number {
    return this.rateSent;
  }

  stop(): void {
    this.mode = 'idle';
  }

  /** Resolves once nothing is outstanding, or after `timeoutMs` (resolving with what is still missing). */
  async drain(timeoutMs: number): Promise<number> {
    const until = performance.now() + timeoutMs;
    while (this.outstanding > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.outstanding;
  }

  /** Forgets the figures of the previous phase. */
  resetCounts(): void {
    this.samples.clear();
    this.received = 0;
  }

  /** Counts a receipt (while recording; `latency` undefined: no sample) and refills the sender's window in `window` mode. */
  protected arrived(index: number, latency: number | undefined): void {
    if (this.recording) {
      this.received++;
      if (latency !== undefined) this.samples.push(latency);
    }
    if (this.mode === 'window') this.refill(index);
  }

  protected refill(index: number): void {
    const sender = this.senders[index] as S;
    while (sender.outstanding < this.window) this.send(index);
  }

  protected abstract send(index: number): void;
}
