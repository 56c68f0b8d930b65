import assert from 'node:assert/strict';
import type { MemoryBudget } from '../../src/util/memory-budget.ts';

/** Waits (up to 5 s) for every connection's charge to be given back, and fails if it is not. */
export async function budgetReturned(budget: MemoryBudget): Promise<void> {
  for (let i = 0; i < 250 && budget.used !== 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(budget.used, 0, 'the memory budget is returned');
}
