import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHeapStatistics } from 'node:v8';
import { defaultBudgetBytes, MemoryBudget } from '../../src/util/memory-budget.ts';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('MemoryBudget', () => {
  it('sums what accounts hold; a closed account releases everything and counts no more', () => {
    const budget = new MemoryBudget(1000);
    const a = budget.open(assert.fail);
    const b = budget.open(assert.fail);
    a.add(300);
    b.add(200);
    a.add(-100);
    assert.equal(budget.used, 400);
    a.close();
    assert.equal(budget.used, 200);
    a.add(500);
    a.close();
    assert.equal(budget.used, 200);
  });

  it('over the limit, sheds the largest accounts first until under three quarters of it', async () => {
    const budget = new MemoryBudget(1000);
    const shed: string[] = [];
    const accounts = Object.fromEntries(
      ['small', 'large', 'medium', 'empty'].map((name) => [name, budget.open(() => shed.push(name))]),
    );
    accounts.small?.add(100);
    accounts.medium?.add(300);
    accounts.large?.add(400);
    await turn();
    assert.deepEqual(shed, [], 'under the limit: nothing happens');
    accounts.medium?.add(250); // 1050 in all
    assert.deepEqual(shed, [], 'not in the middle of the caller’s write');
    await turn();
    // medium (550) goes first: 500 left, under 750.
    assert.deepEqual(shed, ['medium']);
    assert.equal(budget.used, 500);
    assert.equal(budget.shedCount, 1);
    assert.equal(accounts.medium?.closed, true);

    accounts.small?.add(600); // small 700, large 400: 1100
    await turn();
    // small (700) first leaves 400, under 750: large stays.
    assert.deepEqual(shed, ['medium', 'small']);
    assert.equal(budget.used, 400);
  });

  it('defaults to a quarter of the heap limit, at most 256 MiB', () => {
    const bytes = defaultBudgetBytes();
    assert.ok(bytes > 0 && bytes <= 256 * 1024 * 1024);
    assert.equal(bytes, Math.min(256 * 1024 * 1024, Math.floor(getHeapStatistics().heap_size_limit / 4)));
    assert.equal(new MemoryBudget().limit, bytes);
  });
});
