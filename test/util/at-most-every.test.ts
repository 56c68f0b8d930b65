import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AtMostEvery } from '../../src/util/at-most-every.ts';

describe('AtMostEvery', () => {
  it('is due once per interval, counted from the last time it was', () => {
    const gate = new AtMostEvery(60_000);
    assert.equal(gate.due(59_999), false);
    assert.equal(gate.due(60_000), true);
    assert.equal(gate.due(60_000), false);
    assert.equal(gate.due(119_999), false);
    assert.equal(gate.due(120_000), true);
    assert.equal(gate.due(500_000), true);
    assert.equal(gate.due(559_999), false);
  });
});
