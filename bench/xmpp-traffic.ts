import { performance } from 'node:perf_hooks';
import type { XmlElement } from '../src/xmpp/stream/element.ts';
import { TrafficBase } from './traffic-base.ts';
import { describeError, type XmppConn } from './xmpp-conn.ts';

/** A signed-in session taking part in the message phases. */
export interface Peer {
  conn: XmppConn;
  /** The bare JID messages to it are addressed to. */
  bare: string;
  /** Messages it sent that have not arrived (or bounced) yet. */
  outstanding: number;
}

const TEXT = 'Lunch at noon tomorrow?';
const SENDER = ' s=';
const STAMP = ' t=';

/** The body of a chat message: text, sequence number, sender index and send time (performance.now(), ms). */
export function messageBody(seq: number, sender: number, sentAt: number): string {
  return `${TEXT} #${String(seq % 1e10).padStart(10, '0')}${SENDER}${sender}${STAMP}${sentAt.toFixed(3).padStart(12, '0')}`;
}

/** A `<message type='chat'/>` as a desktop client sends it. */
export function chatMessage(to: string, seq: number, sender: number, sentAt: number): string {
  return `<message to='${to}' type='chat' id='m${seq}'><body>${messageBody(seq, sender, sentAt)}</body></message>`;
}

/** A random index in 0…count-1 other than `sender`. */
export function anyoneBut(sender: number, count: number): number {
  const to = Math.floor(Math.random() * (count - 1));
  return to >= sender ? to + 1 : to;
}

/**
 * Drives chat messages between the peers, each to a recipient chosen at random (or by
 * `recipientOf`). In
 * `window` mode each sender keeps `window` messages outstanding (the arrival of one
 * makes its sender send the next); in `rate` mode `tick` sends at an offered total
 * rate, round-robin over the senders. Latency runs from the timestamp in the body to
 * the routed message being parsed at the recipient. A message that bounces
 * (`type='error'`, back at its sender) is counted and no longer outstanding.
 */
export class ChatTraffic extends TrafficBase<Peer> {
  /** Bounced messages, by error condition. */
  readonly bounced = new Map<string, number>();

  /** `recipientOf(sender)`: the index of the peer `sender` writes to next; default anyone else, at random. */
  constructor(
    readonly peers: Peer[],
    private readonly recipientOf?: (sender: number) => number,
  ) {
    super(peers, 4);
    peers.forEach((peer, index) => {
      peer.conn.handler = (el) => this.onElement(peer, index, el);
    });
  }

  get bouncedTotal(): number {
    let n = 0;
    for (const count of this.bounced.values()) n += count;
    return n;
  }

  protected send(sender: number): void {
    const to = this.recipientOf ? this.recipientOf(sender) : anyoneBut(sender, this.peers.length);
    const peer = this.peers[sender] as Peer;
    peer.outstanding++;
    peer.conn.write(chatMessage((this.peers[to] as Peer).bare, this.seq++, sender, performance.now()));
  }

  private onElement(peer: Peer, index: number, el: XmlElement): boolean {
    if (el.name !== 'message') return false;
    if (el.attrs.type === 'error') {
      // The bounce comes back to the sender, who is `peer`.
      const why = describeError(el) || 'unknown';
      this.bounced.set(why, (this.bounced.get(why) ?? 0) + 1);
      peer.outstanding--;
      if (this.mode === 'window') this.refill(index);
      return true;
    }
    const body = el.getChildText('body');
    if (body === undefined) return true;
    const now = performance.now();
    const s = body.lastIndexOf(SENDER);
    const t = body.lastIndexOf(STAMP);
    if (s === -1 || t === -1) return true;
    const sender = Number(body.slice(s + SENDER.length, t));
    const origin = this.peers[sender];
    if (!origin) return true;
    origin.outstanding--;
    this.arrived(sender, now - Number(body.slice(t + STAMP.length)));
    return true;
  }
}
