import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newSsoNonce, verifySsoResponse } from '../../src/msnp/sso-challenge.ts';
import { ssoAnswer } from '../support/sso-client.ts';

/**
 * The MBI_KEY_OLD check (MSNP wiki "MSNP15:SSO"), against answers built by the
 * independent client-side implementation in test/support/sso-client.ts.
 */
describe('MBI_KEY_OLD answer (MSNP15+ SSO)', () => {
  const key = Buffer.from('000102030405060708090a0b0c0d0e0f1011121314151617', 'hex').toString('base64');

  it('nonces are 64 base64 characters and never repeat', () => {
    const a = newSsoNonce();
    assert.match(a, /^[A-Za-z0-9+/]{64}$/);
    assert.notEqual(a, newSsoNonce());
  });

  it("accepts the client's answer for the nonce and key, whatever IV the client picked", () => {
    const nonce = newSsoNonce();
    for (let i = 0; i < 5; i++) assert.equal(verifySsoResponse(key, nonce, ssoAnswer(key, nonce)), true);
  });

  it('refuses an answer for another nonce or made with another key', () => {
    const nonce = newSsoNonce();
    assert.equal(verifySsoResponse(key, nonce, ssoAnswer(key, newSsoNonce())), false);
    const other = Buffer.alloc(24, 9).toString('base64');
    assert.equal(verifySsoResponse(key, nonce, ssoAnswer(other, nonce)), false);
  });

  it('refuses tampered blobs: IV, hash, cipher, header, length', () => {
    const nonce = newSsoNonce();
    const good = Buffer.from(ssoAnswer(key, nonce), 'base64');
    assert.equal(good.length, 28 + 8 + 20 + 72);
    for (const offset of [30, 40, 60, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[offset] = (bad[offset] ?? 0) ^ 1;
      assert.equal(verifySsoResponse(key, nonce, bad.toString('base64')), false, `byte ${offset}`);
    }
    assert.equal(
      verifySsoResponse(key, nonce, ssoAnswer(key, nonce, { header: { cipherType: 0x6610 } })),
      false,
    );
    assert.equal(
      verifySsoResponse(key, nonce, ssoAnswer(key, nonce, { header: { hashType: 0x8003 } })),
      false,
    );
    assert.equal(verifySsoResponse(key, nonce, good.subarray(0, good.length - 8).toString('base64')), false);
    assert.equal(
      verifySsoResponse(key, nonce, Buffer.concat([good, Buffer.alloc(8)]).toString('base64')),
      false,
    );
  });

  it('treats garbage as a wrong answer, never as an error', () => {
    const nonce = newSsoNonce();
    for (const answer of ['', 'AAAA', '!!!not base64!!!', 'A'.repeat(10_000)]) {
      assert.equal(verifySsoResponse(key, nonce, answer), false, answer.slice(0, 20));
    }
    assert.equal(verifySsoResponse('', nonce, ssoAnswer(key, nonce)), false);
  });

  it("the blob starts with the wiki's header (28, CBC, 3DES 0x6603, SHA1 0x8004, 8, 20, 72) and the IV", () => {
    const nonce = 'Q'.repeat(64);
    const iv = Buffer.from('0102030405060708', 'hex');
    const blob = ssoAnswer(key, nonce, { iv });
    assert.equal(verifySsoResponse(key, nonce, blob), true);
    assert.equal(blob.slice(0, 40), 'HAAAAAEAAAADZgAABIAAAAgAAAAUAAAASAAAAAEC');
  });
});
