import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPapillonError } from '../../src/util/errors.ts';
import { parseHandle } from '../../src/util/handle.ts';

describe('parseHandle', () => {
  it('normalizes case and surrounding space', () => {
    assert.equal(parseHandle('  Alice@LocalHost '), 'alice@localhost');
    assert.equal(parseHandle('bob.smith+msn@example.co.uk'), 'bob.smith+msn@example.co.uk');
  });

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['alice', /name@domain/],
    ['a@b@c', /name@domain/],
    ['@localhost', /before @/],
    ['alice@', /host name/],
    ['.alice@localhost', /letters, digits/],
    ['alice.@localhost', /letters, digits/],
    ['al..ice@localhost', /letters, digits/],
    ['al ice@localhost', /letters, digits/],
    ['al/ice@localhost', /letters, digits/],
    ["o'neil@localhost", /letters, digits/],
    ['alice@-bad.com', /host name/],
    ['alice@bad..com', /host name/],
    [`${'a'.repeat(65)}@localhost`, /1 to 64/],
    [`a@${'b'.repeat(50)}.${'c'.repeat(50)}.${'d'.repeat(50)}.com`, /longer than 129/],
  ];
  for (const [input, why] of bad) {
    it(`rejects ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)}`, () => {
      assert.throws(
        () => parseHandle(input),
        (err: unknown) => isPapillonError(err, 'bad-handle') && why.test(err.message),
      );
    });
  }

  it('accepts the limits exactly', () => {
    assert.equal(parseHandle(`${'a'.repeat(64)}@localhost`).length, 74);
  });
});
