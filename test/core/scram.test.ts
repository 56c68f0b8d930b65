import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveScramKeys, type ScramAlgorithm, verifyScramProof } from '../../src/core/scram.ts';

// The worked exchanges of RFC 5802 §5 (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256):
// user "user", password "pencil". Our stored keys must verify the client's proof and
// produce exactly the server signature the RFC shows.
const VECTORS: Array<{
  alg: ScramAlgorithm;
  clientFirstBare: string;
  serverFirst: string;
  clientFinalWithoutProof: string;
  proof: string;
  serverSignature: string;
  salt: string;
}> = [
  {
    alg: 'sha1',
    clientFirstBare: 'n=user,r=fyko+d2lbbFgONRv9qkxdawL',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinalWithoutProof: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j',
    proof: 'v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverSignature: 'rmF9pqV8S7suAoZWja4dJRkFsKQ=',
    salt: 'QSXCR+Q6sek8bf92',
  },
  {
    alg: 'sha256',
    clientFirstBare: 'n=user,r=rOprNGfwEbeRWgbNEkqO',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinalWithoutProof: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    proof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  },
];

describe('SCRAM keys (RFC 5802, RFC 7677)', () => {
  for (const v of VECTORS) {
    it(`${v.alg}: stored keys verify the RFC's proof and give its server signature`, () => {
      const keys = deriveScramKeys(v.alg, 'pencil', Buffer.from(v.salt, 'base64'), 4096);
      assert.equal(keys.salt, v.salt);
      const authMessage = `${v.clientFirstBare},${v.serverFirst},${v.clientFinalWithoutProof}`;
      assert.equal(verifyScramProof(v.alg, keys, authMessage, v.proof), v.serverSignature);
    });

    it(`${v.alg}: a wrong password's keys reject the proof`, () => {
      const keys = deriveScramKeys(v.alg, 'pencil!', Buffer.from(v.salt, 'base64'), 4096);
      const authMessage = `${v.clientFirstBare},${v.serverFirst},${v.clientFinalWithoutProof}`;
      assert.equal(verifyScramProof(v.alg, keys, authMessage, v.proof), undefined);
    });

    it(`${v.alg}: a truncated or garbage proof is rejected without throwing`, () => {
      const keys = deriveScramKeys(v.alg, 'pencil', Buffer.from(v.salt, 'base64'), 4096);
      assert.equal(verifyScramProof(v.alg, keys, 'x', 'AAAA'), undefined);
      assert.equal(verifyScramProof(v.alg, keys, 'x', '!!!not base64'), undefined);
    });
  }
});
