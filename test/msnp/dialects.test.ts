import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dialect } from '../../src/msnp/dialects/dialect.ts';
import { negotiateVersion } from '../../src/msnp/dialects/negotiate.ts';
import { allDialects, dialectFor } from '../../src/msnp/dialects/table.ts';
import { msnpStatus, statusFromMsnp } from '../../src/msnp/status.ts';

describe('VER negotiation (§3.1)', () => {
  it('picks the highest common version and echoes CVR0 when offered', () => {
    assert.deepEqual(negotiateVersion(['MSNP12', 'MSNP11', 'MSNP10', 'CVR0']).reply, ['MSNP12', 'CVR0']);
    assert.deepEqual(negotiateVersion(['MSNP8', 'CVR0']).reply, ['MSNP8', 'CVR0']);
    assert.deepEqual(negotiateVersion(['MSNP7', 'MSNP6', 'MSNP5', 'MSNP4', 'CVR0']).reply, ['MSNP7', 'CVR0']);
  });

  it("answers Pidgin's MSNP18 plugin and WLM 2009 with MSNP18", () => {
    // COMPAT: Pidgin (retro-prpl msn/notification.c) sends exactly `VER 1 MSNP18 CVR0`.
    assert.deepEqual(negotiateVersion(['MSNP18', 'CVR0']).reply, ['MSNP18', 'CVR0']);
    assert.deepEqual(negotiateVersion(['MSNP18', 'MSNP17', 'MSNP16', 'CVR0']).reply, ['MSNP18', 'CVR0']);
    assert.deepEqual(negotiateVersion(['MSNP15', 'MSNP14', 'MSNP13', 'CVR0']).reply, ['MSNP15', 'CVR0']);
  });

  it('answers msn-pecan (no CVR0) with its own version only', () => {
    assert.deepEqual(negotiateVersion(['MSNP12']).reply, ['MSNP12']);
  });

  it('ignores versions it does not speak, and answers 0 when none is common', () => {
    assert.deepEqual(negotiateVersion(['MSNP21', 'MSNP19', 'MSNP9', 'CVR0']).reply, ['MSNP9', 'CVR0']);
    const none = negotiateVersion(['MSNP21', 'MSNP1', 'CVR0']);
    assert.equal(none.dialect, undefined);
    assert.deepEqual(none.reply, ['0']);
    assert.deepEqual(negotiateVersion(['garbage']).reply, ['0']);
  });
});

describe('dialect table', () => {
  it('covers MSNP2 to MSNP18', () => {
    assert.deepEqual(
      allDialects().map((d) => d.version),
      [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18],
    );
  });

  // The version boundaries documented in docs/msnp-reference.md, checked one by one:
  // [what, dialect field, { version: value }].
  const boundaries: Array<[string, keyof Dialect, Record<number, unknown>]> = [
    ['auth', 'auth', { 7: 'md5', 8: 'twn', 14: 'twn', 15: 'sso', 18: 'sso' }],
    ['address book instead of SYN', 'addressBook', { 12: false, 13: true, 18: true }],
    ['OIM', 'oim', { 12: false, 13: true }],
    ['policies pushed at sign-in (GCF 0)', 'policiesAtLogin', { 12: false, 13: true, 18: true }],
    ['multiple points of presence', 'mpop', { 15: false, 16: true, 18: true }],
    ['INF', 'inf', { 7: true, 8: false }],
    ['challenges', 'challenges', { 5: false, 6: true }],
    ['groups', 'groups', { 6: false, 7: true }],
    ['list layout', 'lists', { 7: 'iterated', 8: 'flat', 9: 'flat', 10: 'guid' }],
    ['ADD/ADC', 'listCommand', { 9: 'ADD', 10: 'ADC' }],
    ['client id', 'clientId', { 7: false, 8: true }],
    ['MSN object', 'msnObject', { 8: false, 9: true }],
    ['UUX/UBX', 'personalMessage', { 10: false, 11: true }],
    [
      'XFR NS form',
      'xfrNs',
      { 2: 'address', 3: 'address-zero', 6: 'address-zero', 7: 'address-zero-current', 13: 'address-u-d' },
    ],
    ['LST network id', 'lstNetworkId', { 11: false, 12: true }],
  ];
  for (const [what, field, cases] of boundaries) {
    it(`${what} changes where the protocol changed it`, () => {
      for (const [version, expected] of Object.entries(cases)) {
        assert.equal(dialectFor(Number(version))?.[field], expected, `MSNP${version}`);
      }
    });
  }

  it('payload commands from clients follow the version (PAG until 8, PGD from 9, UUX from 11)', () => {
    assert.equal(dialectFor(4)?.nsPayloadCommands.has('PAG'), false);
    assert.equal(dialectFor(5)?.nsPayloadCommands.has('PAG'), true);
    assert.equal(dialectFor(9)?.nsPayloadCommands.has('PAG'), false);
    assert.equal(dialectFor(9)?.nsPayloadCommands.has('PGD'), true);
    assert.equal(dialectFor(10)?.nsPayloadCommands.has('UUX'), false);
    assert.equal(dialectFor(11)?.nsPayloadCommands.has('UUX'), true);
    assert.equal(dialectFor(5)?.nsPayloadCommands.has('QRY'), false);
    assert.equal(dialectFor(6)?.nsPayloadCommands.has('QRY'), true);
  });
});

describe('status codes (§9.1)', () => {
  it('map both ways; FLN cannot be set by a client', () => {
    for (const code of ['NLN', 'BSY', 'IDL', 'BRB', 'AWY', 'PHN', 'LUN', 'HDN']) {
      const status = statusFromMsnp(code);
      assert.ok(status, code);
      assert.equal(msnpStatus(status), code);
    }
    assert.equal(statusFromMsnp('FLN'), undefined);
    assert.equal(statusFromMsnp('XYZ'), undefined);
  });
});
