import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
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
});
