import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addedMeUndecided,
  deriveSubscription,
  type ListFlags,
  permits,
} from '../../src/core/subscription.ts';
import type { Privacy } from '../../src/store/types.ts';

// Visibility first: may the owner of these lists be seen by the other side?
// Rows: block, allow, privacy → permitted. Block always wins (MSN BL); an explicit
// allow (AL) always sees; otherwise BLP decides (AL = allow all, BL = allow list only).
const PERMITS: Array<[block: boolean, allow: boolean, privacy: Privacy, expected: boolean]> = [
  [false, false, 'allow-all', true],
  [false, false, 'allow-list', false],
  [false, true, 'allow-all', true],
  [false, true, 'allow-list', true],
  [true, false, 'allow-all', false],
  [true, false, 'allow-list', false],
  [true, true, 'allow-all', false],
  [true, true, 'allow-list', false],
];

describe('permits (MSN AL/BL/BLP)', () => {
  for (const [block, allow, privacy, expected] of PERMITS) {
    it(`block=${block} allow=${allow} ${privacy} → ${expected}`, () => {
      assert.equal(
        permits({ forward: false, allow, block, noticed: false, listed: false }, privacy),
        expected,
      );
    });
  }
});

// The subscription table. Inputs: do I have them on my forward list (F), do they have
// me on theirs (RF), may they see me (PM = permits(mine, myPrivacy)), may I see them
// (PT = permits(theirs, theirPrivacy)), did I allow them explicitly (AL), did I block them (BL).
// Expected per RFC 6121 §2.1.2.5 / Appendix A: to = F∧PT, from = RF∧PM, ask = F∧¬PT,
// pendingIn = RF∧¬PM∧¬BL, preApproved = AL∧¬BL∧¬from.
// Every row below is written out by hand; the test enumerates all raw inputs and
// looks each one up here through its (F, RF, PM, PT, AL, BL) key. Those rows have no
// answered request; ANSWERED below says what an answer (`noticed`) changes.
type Row = { sub: 'none' | 'to' | 'from' | 'both'; ask: boolean; pendingIn: boolean; preApproved: boolean };
const T = true;
const F = false;
const r = (sub: Row['sub'], ask: boolean, pendingIn: boolean, preApproved: boolean): Row => ({
  sub,
  ask,
  pendingIn,
  preApproved,
});
// key: F RF PM PT AL BL (1/0). Only combinations the lists can produce appear:
// BL ⇒ ¬PM; AL∧¬BL ⇒ PM.
const TABLE: Record<string, Row> = {
  // neither side has the other on a forward list
  '000000': r('none', F, F, F),
  '001000': r('none', F, F, F),
  '001010': r('none', F, F, T),
  '000001': r('none', F, F, F),
  '000100': r('none', F, F, F),
  '001100': r('none', F, F, F),
  '001110': r('none', F, F, T),
  '000101': r('none', F, F, F),
  // I added them, they did not add me
  '100000': r('none', T, F, F),
  '101000': r('none', T, F, F),
  '101010': r('none', T, F, T),
  '100001': r('none', T, F, F),
  '100100': r('to', F, F, F),
  '101100': r('to', F, F, F),
  '101110': r('to', F, F, T),
  '100101': r('to', F, F, F),
  // they added me, I did not add them
  '010000': r('none', F, T, F),
  '011000': r('from', F, F, F),
  '011010': r('from', F, F, F),
  '010001': r('none', F, F, F),
  '010100': r('none', F, T, F),
  '011100': r('from', F, F, F),
  '011110': r('from', F, F, F),
  '010101': r('none', F, F, F),
  // both added each other
  '110000': r('none', T, T, F),
  '111000': r('from', T, F, F),
  '111010': r('from', T, F, F),
  '110001': r('none', T, F, F),
  '110100': r('to', F, T, F),
  '111100': r('both', F, F, F),
  '111110': r('both', F, F, F),
  '110101': r('to', F, F, F),
};

// §3.2 / §3.1.3: a request the contact answered without approving (XMPP `unsubscribed`,
// MSN `REM PL` without AL; my row's `noticed`) is no longer "Pending Out": ask clears.
// A request I answered (their row's `noticed`) is no longer "Pending In". `listed` (an
// item kept without a subscription) changes nothing derived. Hand-checked examples:
// '100000' answered → none without ask; '010000' answered → none without pendingIn;
// '110000' both answered → none, no ask, nothing pending.
const ANSWERED: Record<string, Row> = {
  '100000/10': r('none', F, F, F),
  '010000/01': r('none', F, F, F),
  '110000/11': r('none', F, F, F),
  '110000/10': r('none', F, T, F),
  '110000/01': r('none', T, F, F),
  '101010/10': r('none', F, F, T),
  '100100/10': r('to', F, F, F),
  '011000/01': r('from', F, F, F),
};
function expectedRow(key: string, mineNoticed: boolean, theirNoticed: boolean): Row | undefined {
  const base = TABLE[key];
  if (!base) return undefined;
  return { ...base, ask: base.ask && !mineNoticed, pendingIn: base.pendingIn && !theirNoticed };
}

const bools = [false, true];
const privacies: Privacy[] = ['allow-all', 'allow-list'];
// (mine.noticed, theirs.noticed, mine.listed): unanswered, each side answered, both; listed either way.
const NOTICED: Array<[boolean, boolean, boolean]> = [
  [false, false, false],
  [false, false, true],
  [true, false, false],
  [false, true, true],
  [true, true, false],
];

describe('deriveSubscription (RFC 6121 from MSN lists): every combination', () => {
  let checked = 0;
  for (const mineForward of bools)
    for (const mineAllow of bools)
      for (const mineBlock of bools)
        for (const theirForward of bools)
          for (const theirAllow of bools)
            for (const theirBlock of bools)
              for (const myPrivacy of privacies)
                for (const theirPrivacy of privacies)
                  for (const [mineNoticed, theirNoticed, listed] of NOTICED) {
                    const mine: ListFlags = {
                      forward: mineForward,
                      allow: mineAllow,
                      block: mineBlock,
                      noticed: mineNoticed,
                      listed,
                    };
                    const theirs: ListFlags = {
                      forward: theirForward,
                      allow: theirAllow,
                      block: theirBlock,
                      noticed: theirNoticed,
                      listed: !listed,
                    };
                    const pm = permits(mine, myPrivacy);
                    const pt = permits(theirs, theirPrivacy);
                    const effectiveAllow = mineAllow && !mineBlock;
                    const key = [mineForward, theirForward, pm, pt, effectiveAllow, mineBlock]
                      .map((b) => (b ? '1' : '0'))
                      .join('');
                    const name = `mine=${JSON.stringify(mine)} theirs=${JSON.stringify(theirs)} ${myPrivacy}/${theirPrivacy}`;
                    it(name, () => {
                      const expected = expectedRow(key, mineNoticed, theirNoticed);
                      const answered = ANSWERED[`${key}/${mineNoticed ? 1 : 0}${theirNoticed ? 1 : 0}`];
                      if (answered) assert.deepEqual(expected, answered, 'the hand-checked row');
                      assert.ok(expected, `no table row for ${key}`);
                      const got = deriveSubscription({ mine, theirs, myPrivacy, theirPrivacy });
                      assert.deepEqual(
                        {
                          sub: got.subscription,
                          ask: got.ask,
                          pendingIn: got.pendingIn,
                          preApproved: got.preApproved,
                        },
                        expected,
                      );
                    });
                    checked++;
                  }
  it('covers all 256 raw list combinations, each answered or not', () => assert.equal(checked, 256 * 5));
});

describe('addedMeUndecided (MSN "X has added you")', () => {
  it('is the reverse list minus allow, block and adds already acknowledged', () => {
    const none = { forward: false, allow: false, block: false, noticed: false, listed: false };
    assert.equal(addedMeUndecided({ mine: none, theirs: { ...none, forward: true } }), true);
    assert.equal(
      addedMeUndecided({ mine: { ...none, allow: true }, theirs: { ...none, forward: true } }),
      false,
    );
    assert.equal(
      addedMeUndecided({ mine: { ...none, block: true }, theirs: { ...none, forward: true } }),
      false,
    );
    assert.equal(addedMeUndecided({ mine: { ...none, forward: true }, theirs: none }), false);
    assert.equal(addedMeUndecided({ mine: none, theirs: { ...none, forward: true, noticed: true } }), false);
  });
});
