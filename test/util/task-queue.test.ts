import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TASK_OVERHEAD_BYTES } from '../../src/util/flow-limits.ts';
import { MemoryBudget } from '../../src/util/memory-budget.ts';
import { TaskQueue } from '../../src/util/task-queue.ts';

const fail = (err: unknown) => assert.fail(String(err));
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TaskQueue', () => {
  it('runs tasks one at a time in order, awaiting each; a failure is reported and the queue goes on', async () => {
    const errors: unknown[] = [];
    const queue = new TaskQueue((err) => errors.push(err));
    const seen: string[] = [];
    queue.pushInput(async () => {
      await tick();
      seen.push('a');
    });
    queue.push(() => {
      seen.push('event');
    });
    queue.pushInput(() => {
      throw new Error('boom');
    });
    queue.pushInput(async () => {
      seen.push('c');
    });
    await queue.whenIdle();
    assert.deepEqual(seen, ['a', 'event', 'c']);
    assert.equal(errors.length, 1);
    assert.equal(queue.inputTasks, 0);
    assert.equal(queue.inputBytes, 0);
  });

  it('holds input while held, but not other tasks; releasing runs the input in order', async () => {
    const queue = new TaskQueue(fail);
    const seen: string[] = [];
    queue.hold();
    queue.pushInput(() => {
      seen.push('command 1');
    });
    queue.pushInput(() => {
      seen.push('command 2');
    });
    queue.push(() => {
      seen.push('event');
    });
    await tick();
    assert.deepEqual(seen, ['event']);
    let idle = false;
    const whenIdle = queue.whenIdle().then(() => {
      idle = true;
    });
    await tick();
    assert.equal(idle, false, 'not idle while input waits');
    queue.release();
    await whenIdle;
    assert.deepEqual(seen, ['event', 'command 1', 'command 2']);
  });

  it('a command held mid-burst makes no more replies: holding takes effect before the next input starts', async () => {
    const queue = new TaskQueue(fail);
    let ran = 0;
    for (let i = 0; i < 1000; i++) {
      queue.pushInput(() => {
        ran += 1;
        // The reply backs the output up: the connection holds its input.
        if (ran === 3) queue.hold();
      });
    }
    await tick();
    assert.equal(ran, 3);
    assert.equal(queue.inputTasks, 997);
  });

  it('reports input pressure over the soft bound, relief under half of it, and overflow past the hard bound', async () => {
    const pressure: boolean[] = [];
    let overflows = 0;
    const queue = new TaskQueue({
      onError: fail,
      bounds: { softTasks: 4, softBytes: 1_000_000, hardBytes: 10 * (TASK_OVERHEAD_BYTES + 100) },
      onInputPressure: (over) => pressure.push(over),
      onInputOverflow: () => {
        overflows += 1;
      },
    });
    queue.hold();
    for (let i = 0; i < 5; i++) queue.pushInput(() => {}, 100);
    assert.deepEqual(pressure, [true]);
    for (let i = 0; i < 6; i++) queue.pushInput(() => {}, 100);
    assert.equal(overflows, 1, 'past the hard bound, once');
    assert.equal(queue.inputBytes, 11 * (TASK_OVERHEAD_BYTES + 100));
    queue.release();
    await queue.whenIdle();
    assert.deepEqual(pressure, [true, false]);
  });

  it('charges waiting input to a budget account and releases it as it runs, or when cleared', async () => {
    const budget = new MemoryBudget(1_000_000);
    const account = budget.open(assert.fail);
    const queue = new TaskQueue({ onError: fail, account });
    queue.hold();
    queue.pushInput(() => {}, 1000);
    queue.pushInput(() => {}, 2000);
    assert.equal(budget.used, 3000 + 2 * TASK_OVERHEAD_BYTES);
    queue.release();
    await queue.whenIdle();
    assert.equal(budget.used, 0);

    let ran = false;
    queue.hold();
    queue.pushInput(() => {
      ran = true;
    }, 500);
    queue.clear();
    await queue.whenIdle();
    assert.equal(ran, false);
    assert.equal(budget.used, 0);
    assert.equal(queue.inputTasks, 0);
  });

  it("one client's flood of requests does not hold back other connections: its queue yields to the event loop between slices", async () => {
    const queue = new TaskQueue(fail);
    let ran = 0;
    // 50 requests of ~1 ms of synchronous work each (a store read on better-sqlite3),
    // all received in one packet, as a client that floods vCard gets sends them.
    for (let i = 0; i < 50; i++) {
      queue.pushInput(() => {
        const until = performance.now() + 1;
        while (performance.now() < until) {}
        ran += 1;
      });
    }
    // Another connection's input, arriving meanwhile, is handled before the flood is.
    let ranWhenOtherServed = -1;
    setImmediate(() => {
      ranWhenOtherServed = ran;
    });
    await queue.whenIdle();
    assert.equal(ran, 50, 'every request is still answered, in order');
    assert.ok(
      ranWhenOtherServed >= 0 && ranWhenOtherServed < 50,
      `the other connection waited for ${ranWhenOtherServed} of 50`,
    );
  });

  it("a client's few requests at a time run without a pause", async () => {
    const queue = new TaskQueue(fail);
    const seen: string[] = [];
    queue.pushInput(() => {
      seen.push('a');
    });
    queue.pushInput(() => {
      seen.push('b');
    });
    let other = false;
    setImmediate(() => {
      other = true;
    });
    // Cheap tasks stay in the same turn: no detour through the event loop for ordinary traffic.
    await Promise.resolve();
    await Promise.resolve();
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(seen, ['a', 'b']);
    assert.equal(other, false);
  });
});
