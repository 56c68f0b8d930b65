import { performance } from 'node:perf_hooks';
import type { MsnpCommand } from '../src/msnp/codec/index.ts';
import type { MsnpConn } from './msnp-conn.ts';
import { TrafficBase } from './traffic-base.ts';

/** What MSN Messenger 7.5 puts before the text of a plain message (docs/msnp-reference.md §12.5). */
const TEXT_HEADER =
  'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n' +
  'X-MMS-IM-Format: FN=MS%20Shell%20Dlg; EF=; CO=0; CS=0; PF=0\r\n\r\n';
const TEXT = 'Lunch at noon tomorrow?';
const STAMP = ' t=';

/** A text/plain MSG payload whose body ends with the send time (performance.now(), ms). */
export function textPayload(seq: number, sentAt: number): string {
  return `${TEXT_HEADER}${TEXT} #${String(seq % 1e10).padStart(10, '0')}${STAMP}${sentAt.toFixed(3).padStart(12, '0')}`;
}

const STAMP_BYTES = Buffer.from(STAMP, 'latin1');

/** The send time carried by `textPayload`, or NaN. */
export function sentAtOf(payload: Buffer): number {
  const at = payload.lastIndexOf(STAMP_BYTES);
  return at === -1 ? Number.NaN : Number(payload.toString('latin1', at + STAMP_BYTES.length));
}

/** Two sessions in one switchboard conversation. */
export interface Pair {
  a: MsnpConn;
  b: MsnpConn;
  /** Messages sent and not yet received by the partner. */
  outstanding: number;
  /** Which side sends next: the pair's messages alternate direction. */
  fromA: boolean;
}

/**
 * Drives text messages through the switchboards. In `window` mode each pair keeps
 * `window` messages outstanding (a receipt immediately triggers the next send); in
 * `rate` mode `tick` sends at an offered total rate. Latency is measured from the
 * timestamp in the body to the relayed `MSG` arriving at the partner.
 */
export class Traffic extends TrafficBase<Pair> {
  constructor(readonly pairs: Pair[]) {
    super(pairs, 8);
    pairs.forEach((pair, index) => {
      pair.a.handler = (cmd) => this.onCommand(pair, index, cmd);
      pair.b.handler = (cmd) => this.onCommand(pair, index, cmd);
    });
  }

  protected send(index: number): void {
    const pair = this.pairs[index] as Pair;
    const conn = pair.fromA ? pair.a : pair.b;
    pair.fromA = !pair.fromA;
    pair.outstanding++;
    conn.sendPayload('MSG', [conn.trid(), 'U'], textPayload(this.seq++, performance.now()));
  }

  private onCommand(pair: Pair, index: number, cmd: MsnpCommand): boolean {
    if (cmd.name !== 'MSG' || !cmd.payload) return false;
    const latency = performance.now() - sentAtOf(cmd.payload);
    pair.outstanding--;
    this.arrived(index, Number.isNaN(latency) ? undefined : latency);
    return true;
  }
}
