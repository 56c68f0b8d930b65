import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unmappedAddress } from '../../src/util/address.ts';

describe('unmappedAddress', () => {
  it('writes an IPv4-mapped IPv6 address as IPv4 and leaves others alone', () => {
    assert.equal(unmappedAddress('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(unmappedAddress('::FFFF:10.0.0.1'), '10.0.0.1');
    assert.equal(unmappedAddress('192.0.2.7'), '192.0.2.7');
    assert.equal(unmappedAddress('2001:db8::1'), '2001:db8::1');
    // Not an embedded IPv4 address: kept as it is.
    assert.equal(unmappedAddress('::ffff:abcd'), '::ffff:abcd');
    assert.equal(unmappedAddress(undefined), '');
  });
});
