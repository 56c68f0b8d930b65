import type { Writable } from 'node:stream';

const corked = new WeakSet<Writable>();

/**
 * Writes made to one socket in one turn of the event loop (a SYN's many lines, a
 * burst of relayed messages) leave in one system call — and, on TLS, one record when
 * small: cork at the first write, uncork on the next tick.
 *
 * Returns `socket.write`'s answer: false once the socket holds more than its
 * high-water mark unsent (util/socket-flow.ts acts on it).
 */
export function writeBatched(socket: Writable, data: string | Buffer): boolean {
  if (!corked.has(socket)) {
    corked.add(socket);
    socket.cork();
    process.nextTick(() => {
      corked.delete(socket);
      socket.uncork();
    });
  }
  return socket.write(data);
}
