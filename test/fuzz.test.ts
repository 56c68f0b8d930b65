import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replay, runTarget } from '../fuzz/engine.ts';
import { describeError, escapeBytes, type Finding } from '../fuzz/findings.ts';
import { TARGETS } from '../fuzz/targets/index.ts';

/**
 * The fuzz targets of `npm run fuzz` (fuzz/), each run briefly: once with a fixed seed
 * (the same inputs every time) and once with a random one, printed so a failure can be
 * replayed with `npm run fuzz -- <target> --seed N`. Every run checks all the target's
 * seed inputs, however long that takes. Long runs are for `npm run fuzz`.
 */

const SECONDS_PER_RUN = 1;
const FIXED_SEED = 1;
const RANDOM_SEED = Number(process.env.PAPILLON_FUZZ_SEED ?? Math.floor(Math.random() * 0x100000000));

function explain(findings: Finding[]): string {
  return findings
    .map(
      (f) =>
        `${f.signature} (${f.count} hits)\n${f.stack}\n${f.details}\ninput: ${escapeBytes(f.input, 600)}`,
    )
    .join('\n\n');
}

describe('fuzzing: a short run of every target finds nothing', () => {
  for (const [name, entry] of Object.entries(TARGETS)) {
    it(`${name}: fixed seed ${FIXED_SEED}, random seed ${RANDOM_SEED}`, async (t) => {
      const target = await entry.load();
      for (const seed of [FIXED_SEED, RANDOM_SEED]) {
        const report = await runTarget(target, { seconds: SECONDS_PER_RUN, seed, minimizeMs: 500 });
        t.diagnostic(
          `${name} seed ${seed}: ${report.inputs} inputs (${Math.round(report.inputs / report.seconds)}/s), ` +
            `${report.behaviours} behaviours`,
        );
        assert.deepEqual(
          report.findings.map((f) => f.signature),
          [],
          `npm run fuzz -- ${name} --seed ${seed}\n${explain(report.findings)}`,
        );
      }
    });
  }
});

describe('fuzzing: past findings stay fixed', () => {
  it('soap: an <ml> or UUX payload with a quote in a processing instruction is refused, not thrown', async () => {
    // fast-xml-parser's validator passed these and its parser then threw a plain Error, which
    // ended the MSNP connection with "MSNP command failed" (ADL/RML/FQY, UUX).
    const target = await (TARGETS.soap as (typeof TARGETS)[string]).load();
    for (const input of [
      '<?"""?><ml l="1"><d n="example.com"><c n="bob" l="3" t="1"/></d></ml>',
      '<?x "?><Data><PSM>hi</PSM></Data>',
    ]) {
      const err = await replay(target, Buffer.from(input), 0);
      assert.equal(err, undefined, `${input}\n${err === undefined ? '' : describeError(err).stack}`);
    }
  });
});
