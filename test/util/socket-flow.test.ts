import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { after, describe, it, mock } from 'node:test';
import { MemoryBudget } from '../../src/util/memory-budget.ts';
import { type OutputOverflow, SocketFlow } from '../../src/util/socket-flow.ts';

const KB = 1024;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A real TCP connection on loopback: the server's side (for the flow) and the client's. */
async function connectedPair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {});
  const server = await accepted;
  server.on('error', () => {});
  listener.close();
  return {
    server,
    client,
    close() {
      server.destroy();
      client.destroy();
    },
  };
}

function watch(socket: net.Socket, bounds: { soft: number; hard: number; stallMs: number }) {
  const budget = new MemoryBudget(1024 * 1024 * 1024);
  const events: string[] = [];
  let resolveOverflow: (reason: OutputOverflow) => void = () => {};
  const overflowed = new Promise<OutputOverflow>((resolve) => {
    resolveOverflow = resolve;
  });
  const flow = new SocketFlow(socket, {
    bounds,
    account: budget.open(assert.fail),
    onOutputPressure: (held) => events.push(held ? 'held' : 'released'),
    onOverflow: (reason) => resolveOverflow(reason),
  });
  return { flow, budget, events, overflowed };
}

describe('SocketFlow', () => {
  const pairs: Array<{ close(): void }> = [];
  after(() => {
    for (const p of pairs) p.close();
  });

  it('a client that reads: output over the soft bound pauses reading until it drains; the budget is charged meanwhile', async () => {
    const pair = await connectedPair();
    pairs.push(pair);
    const { flow, budget, events } = watch(pair.server, {
      soft: 64 * KB,
      hard: 64 * 1024 * KB,
      stallMs: 60_000,
    });
    let received = 0;
    pair.client.on('data', (d: Buffer) => {
      received += d.length;
    });
    pair.server.on('data', () => {});
    for (let i = 0; i < 8; i++) flow.write(Buffer.alloc(32 * KB, 0x41));
    assert.deepEqual(events, ['held']);
    assert.equal(pair.server.isPaused(), true, 'reading stops');
    assert.ok(budget.used > 64 * KB);
    while (received < 256 * KB) await turn();
    while (events.length < 2) await turn();
    assert.deepEqual(events, ['held', 'released']);
    assert.equal(pair.server.isPaused(), false, 'reading goes on');
    assert.equal(budget.used, 0);
  });

  it('reading stays paused while either the output or the input is over its bound', async () => {
    const pair = await connectedPair();
    pairs.push(pair);
    const { flow, events } = watch(pair.server, { soft: 16 * KB, hard: 64 * 1024 * KB, stallMs: 60_000 });
    pair.client.on('data', () => {});
    pair.server.on('data', () => {});
    flow.pauseInput(true);
    assert.equal(pair.server.isPaused(), true);
    flow.write(Buffer.alloc(64 * KB));
    while (events.length < 2) await turn();
    assert.equal(pair.server.isPaused(), true, 'the input is still over its bound');
    flow.pauseInput(false);
    assert.equal(pair.server.isPaused(), false);
  });

  it('a client that does not read: past the hard bound the socket is destroyed and the charge released', async () => {
    const pair = await connectedPair();
    pairs.push(pair);
    pair.client.pause();
    const { flow, budget, overflowed } = watch(pair.server, {
      soft: 64 * KB,
      hard: 1024 * KB,
      stallMs: 60_000,
    });
    for (let i = 0; i < 64 && !pair.server.destroyed; i++) flow.write(Buffer.alloc(32 * KB));
    assert.equal(await overflowed, 'output');
    assert.equal(pair.server.destroyed, true);
    assert.equal(budget.used, 0);
    assert.ok(pair.server.writableLength <= 1024 * KB + 32 * KB, 'nothing written past the hard bound');
  });

  it('a client that does not read, held under the hard bound: closed once no byte has left for stallMs', async () => {
    const pair = await connectedPair();
    pairs.push(pair);
    pair.client.pause();
    const { flow, overflowed } = watch(pair.server, { soft: 64 * KB, hard: 1024 * 1024 * KB, stallMs: 200 });
    let reason: OutputOverflow | undefined;
    void overflowed.then((r) => {
      reason = r;
    });
    // As a connection does: write while not held (its commands run), stop while held.
    while (reason === undefined) {
      if (!flow.held && !pair.server.destroyed) flow.write(Buffer.alloc(64 * KB));
      await turn();
    }
    assert.equal(reason, 'stalled');
    assert.equal(pair.server.destroyed, true);
  });

  it('moves to another socket (STARTTLS, stream resumption) and keeps pausing it', async () => {
    const first = await connectedPair();
    const second = await connectedPair();
    pairs.push(first, second);
    const { flow } = watch(first.server, { soft: 64 * KB, hard: 1024 * KB, stallMs: 60_000 });
    flow.pauseInput(true);
    assert.equal(flow.detach(), first.server);
    flow.attach(second.server);
    assert.equal(second.server.isPaused(), true);
    let got = 0;
    second.client.on('data', (d: Buffer) => {
      got += d.length;
    });
    flow.write(Buffer.from('hello'));
    while (got < 5) await turn();
  });

  it('a client that stops reading is closed stallMs after its last byte left, even when some left after its output was held', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const socket = new FakeSocket();
      const { flow, overflowed } = watch(socket as unknown as net.Socket, {
        soft: 64 * KB,
        hard: 64 * 1024 * KB,
        stallMs: 60_000,
      });
      let reason: OutputOverflow | undefined;
      void overflowed.then((r) => {
        reason = r;
      });
      flow.write(Buffer.alloc(128 * KB));
      assert.equal(flow.held, true);
      // The kernel still takes a little just after the hold (its buffers were not full yet),
      // then nothing more: the client does not read.
      seconds(1);
      socket.takes(16 * KB);
      seconds(50);
      assert.equal(socket.destroyed, false, 'not before stallMs without a byte leaving');
      // Closed at most a quarter of stallMs late: 60 to 75 s after the last byte left (was 120 s).
      seconds(25);
      assert.equal(socket.destroyed, true);
      return Promise.resolve().then(() => assert.equal(reason, 'stalled'));
    } finally {
      mock.timers.reset();
    }
  });

  it('a slow link that keeps taking bytes is never closed for stalling', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const socket = new FakeSocket();
      const { flow } = watch(socket as unknown as net.Socket, {
        soft: 64 * KB,
        hard: 64 * 1024 * KB,
        stallMs: 60_000,
      });
      flow.write(Buffer.alloc(128 * KB));
      for (let s = 0; s < 300; s += 20) {
        seconds(20);
        socket.takes(1 * KB);
      }
      assert.equal(socket.destroyed, false);
      assert.equal(flow.held, true);
    } finally {
      mock.timers.reset();
    }
  });
});

/** Mocked time passes a second at a time (Node 20's mock runs one timer per tick: re-armed ones wait). */
function seconds(n: number): void {
  for (let i = 0; i < n; i++) mock.timers.tick(1_000);
}

/** Just enough of a socket for SocketFlow, whose kernel takes bytes only when told to. */
class FakeSocket extends EventEmitter {
  writableLength = 0;
  bytesWritten = 0;
  destroyed = false;
  writable = true;
  private paused = false;
  cork(): void {}
  uncork(): void {}
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  isPaused(): boolean {
    return this.paused;
  }
  write(data: Buffer | string): boolean {
    const n = Buffer.byteLength(data);
    this.writableLength += n;
    this.bytesWritten += n;
    return this.writableLength < 16 * KB;
  }
  takes(bytes: number): void {
    this.writableLength = Math.max(0, this.writableLength - bytes);
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.writable = false;
    this.emit('close');
  }
}
