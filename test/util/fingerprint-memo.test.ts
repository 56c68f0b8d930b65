import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprint } from '../../src/util/fingerprint.ts';
import { memoize } from '../../src/util/memo.ts';

describe('fingerprint', () => {
  it('gives equal texts equal small integers and tells near-identical texts apart', () => {
    const a = '<Data><PSM>hello</PSM></Data>';
    assert.equal(fingerprint(a), fingerprint(`${a}`));
    assert.notEqual(fingerprint(a), fingerprint(a.replace('hello', 'hellp')));
    assert.notEqual(fingerprint(''), fingerprint(' '));
    for (const text of [a, '', 'é😀', 'x'.repeat(10_000)]) {
      const value = fingerprint(text);
      assert.ok(Number.isInteger(value) && value >= 0 && value <= 0x7fffffff);
    }
  });
});

describe('memoize', () => {
  it('computes each key once and stays within its bound', () => {
    const calls: string[] = [];
    const double = memoize((key) => {
      calls.push(key);
      return key + key;
    }, 2);
    assert.equal(double('a'), 'aa');
    assert.equal(double('a'), 'aa');
    assert.deepEqual(calls, ['a']);
    double('b');
    double('c'); // the third key starts the memory over
    double('a');
    assert.deepEqual(calls, ['a', 'b', 'c', 'a']);
  });
});
