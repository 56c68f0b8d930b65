import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPassword, isShorterThanPolicy } from '../../src/core/password-policy.ts';
import { isPapillonError } from '../../src/util/errors.ts';

describe('checkPassword', () => {
  const rejected: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /white space/],
    ['alice', /account name/],
    ['Alice@Localhost', /account name/],
    ['password', /common/],
    ['123456', /common/],
    ['a\u0000b', /control/],
    ['x'.repeat(1025), /1024 bytes/],
  ];
  for (const [password, why] of rejected) {
    it(`rejects ${JSON.stringify(password.slice(0, 20))}`, () => {
      assert.throws(
        () => checkPassword(password, 'alice@localhost'),
        (err: unknown) => isPapillonError(err, 'weak-password') && why.test(err.message),
      );
    });
  }

  it('accepts short but otherwise fine passwords (length is the softer, configurable rule)', () => {
    assert.doesNotThrow(() => checkPassword('pw', 'alice@localhost'));
    assert.equal(isShorterThanPolicy('pw', 8), true);
    assert.equal(isShorterThanPolicy('correct horse', 8), false);
  });

  it('counts characters, not bytes, for the minimum length', () => {
    assert.equal(isShorterThanPolicy('ééééééé', 8), true);
    assert.equal(isShorterThanPolicy('éééééééé', 8), false);
  });
});
