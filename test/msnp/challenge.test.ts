import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { challengeResponse, checkQry, newChallenge, PRODUCT_KEYS } from '../../src/msnp/challenge.ts';

// docs/msnp-reference.md §7.5.
const vectors = [
  {
    dialect: 11,
    id: 'PROD0090YUAUV{2B',
    challenge: '22210219642164014968',
    answer: '85ecb0db8f32113df79ce0892b9a102c',
  },
  {
    dialect: 12,
    id: 'PROD0101{0RM?UBW',
    challenge: '22210219642164014968',
    answer: '64812169fe9717715f03c678fa4ab938',
  },
  {
    dialect: 6,
    id: 'msmsgs@msnmsgr.com',
    challenge: '11111111111111111111',
    answer: '3b6666b60157322b6fc6e41a115968f5',
  },
  {
    dialect: 8,
    id: 'msmsgs@msnmsgr.com',
    challenge: '22299241447072743325',
    answer: '20dba7e6e9817826b9cd5240cc8add99',
  },
];

describe('challenges', () => {
  it('computes the §7.5 test vectors', () => {
    for (const v of vectors) assert.equal(challengeResponse(v.challenge, v.id), v.answer, v.id);
  });

  it('accepts the right answers', () => {
    for (const v of vectors) assert.equal(checkQry(v.dialect, v.challenge, v.id, v.answer), true, v.id);
  });

  it('accepts upper-case hex', () => {
    for (const v of vectors)
      assert.equal(checkQry(v.dialect, v.challenge, v.id, v.answer.toUpperCase()), true);
  });

  it('rejects wrong answers', () => {
    const v = vectors[0];
    assert.ok(v);
    const flipped = (v.answer[0] === '8' ? '9' : '8') + v.answer.slice(1);
    for (const bad of [
      flipped,
      '',
      v.answer.slice(1),
      `${v.answer}0`,
      `${v.answer.slice(0, 31)}g`,
      `${v.answer}\r\n`,
    ]) {
      assert.equal(checkQry(v.dialect, v.challenge, v.id, bad), false, JSON.stringify(bad));
    }
    // The right answer to another challenge.
    assert.equal(checkQry(11, '22210219642164014969', v.id, v.answer), false);
    // The other MSNP11 id's answer to the same challenge.
    assert.equal(checkQry(11, v.challenge, 'PROD0101{0RM?UBW', v.answer), false);
    // Non-ASCII of the right length must not throw.
    assert.equal(checkQry(11, v.challenge, v.id, 'é'.repeat(32)), false);
  });

  it('rejects an algorithm that does not fit the dialect', () => {
    const md5Answer = createHash('md5').update('22210219642164014968YMM8C_H7KCQ2S_KL').digest('hex');
    // An MSNP11 id answered the old MD5 way, in an MSNP11 session (§7.1: 540).
    assert.equal(checkQry(11, '22210219642164014968', 'PROD0090YUAUV{2B', md5Answer), false);
    // An MSNP11 id in an MSNP10 session, even with the MSNP11 answer.
    assert.equal(
      checkQry(10, '22210219642164014968', 'PROD0090YUAUV{2B', '85ecb0db8f32113df79ce0892b9a102c'),
      false,
    );
    // An MD5 id in an MSNP11 session.
    assert.equal(
      checkQry(11, '11111111111111111111', 'msmsgs@msnmsgr.com', '3b6666b60157322b6fc6e41a115968f5'),
      false,
    );
    // No challenges before MSNP6.
    assert.equal(
      checkQry(5, '11111111111111111111', 'msmsgs@msnmsgr.com', '3b6666b60157322b6fc6e41a115968f5'),
      false,
    );
    // Every MD5 id works in MSNP6–10, and every MSNP11 id in MSNP11–12.
    for (const [id, product] of PRODUCT_KEYS) {
      const challenge = newChallenge();
      const answer = challengeResponse(challenge, id) ?? '';
      const dialects = product.algorithm === 'md5' ? [6, 7, 8, 9, 10] : [11, 12];
      for (let dialect = 2; dialect <= 12; dialect++) {
        assert.equal(
          checkQry(dialect, challenge, id, answer),
          dialects.includes(dialect),
          `${id} MSNP${dialect}`,
        );
      }
    }
  });

  it('rejects unknown product ids', () => {
    assert.equal(challengeResponse('11111111111111111111', 'PROD9999XXXXXXXX'), undefined);
    assert.equal(challengeResponse('11111111111111111111', 'constructor'), undefined);
    assert.equal(
      checkQry(8, '11111111111111111111', 'PROD9999XXXXXXXX', '3b6666b60157322b6fc6e41a115968f5'),
      false,
    );
    assert.equal(
      checkQry(8, '11111111111111111111', 'MSMSGS@MSNMSGR.COM', '3b6666b60157322b6fc6e41a115968f5'),
      false,
    );
  });

  it('rejects an empty challenge', () => {
    assert.equal(
      checkQry(8, '', 'msmsgs@msnmsgr.com', challengeResponse('', 'msmsgs@msnmsgr.com') ?? ''),
      false,
    );
  });

  it('makes 20-digit challenges that differ', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const c = newChallenge();
      assert.match(c, /^[1-9]\d{19}$/);
      seen.add(c);
    }
    assert.equal(seen.size, 100);
  });
});
