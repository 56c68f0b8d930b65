import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type RunReport, replay, runTarget } from './engine.ts';
import { describeError, escapeBytes } from './findings.ts';
import { TARGETS } from './targets/index.ts';

/**
 * `npm run fuzz -- <target|all> [--seconds N] [--seed N] [--findings DIR]`: mutation
 * fuzzing of the protocol decoders and the HTTP routes. Prints inputs/s and each
 * finding with its input; findings are written under fuzz/findings/ (gitignored).
 * `--replay FILE --input-seed N` runs one saved input again. Not part of `npm test`
 * (test/fuzz.test.ts runs every target for two seconds).
 */

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '30' },
    seed: { type: 'string' },
    findings: { type: 'string' },
    replay: { type: 'string' },
    'input-seed': { type: 'string', default: '0' },
  },
});

const FINDINGS_DIR = values.findings ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'findings');
const name = positionals[0];
const names = name === 'all' ? Object.keys(TARGETS) : name && TARGETS[name] ? [name] : [];

function print(report: RunReport): void {
  const rate = Math.round(report.inputs / report.seconds);
  process.stdout.write(
    `${report.target}: ${report.inputs} inputs in ${report.seconds.toFixed(1)} s (${rate} inputs/s), ` +
      `${report.behaviours} behaviours, corpus ${report.corpus}, seed ${report.seed}, ` +
      `${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}\n`,
  );
  for (const f of report.findings) {
    process.stdout.write(
      `\n  ${f.signature} (${f.count} hit${f.count === 1 ? '' : 's'})\n  ${f.message.split('\n')[0]}\n` +
        `  input (${f.input.length} bytes): ${escapeBytes(f.input, 400)}\n` +
        (f.file ? `  saved: ${f.file}\n` : ''),
    );
  }
}

if (names.length === 0) {
  process.stdout.write('usage: npm run fuzz -- <target|all> [--seconds N] [--seed N] [--findings DIR]\n');
  process.stdout.write('       npm run fuzz -- <target> --replay FILE --input-seed N\n\n');
  for (const [key, t] of Object.entries(TARGETS)) process.stdout.write(`  ${key.padEnd(12)} ${t.describe}\n`);
  process.exitCode = name ? 1 : 0;
} else if (values.replay) {
  const target = await (TARGETS[names[0] as string] as (typeof TARGETS)[string]).load();
  const err = await replay(target, readFileSync(values.replay), Number(values['input-seed']));
  if (err === undefined) process.stdout.write('no finding: the input passes\n');
  else {
    const { stack, details } = describeError(err);
    process.stdout.write(`${stack}\n${details}\n`);
    process.exitCode = 1;
  }
} else {
  const seed = values.seed === undefined ? Math.floor(Math.random() * 0x100000000) : Number(values.seed);
  let found = 0;
  for (const key of names) {
    const target = await (TARGETS[key] as (typeof TARGETS)[string]).load();
    const report = await runTarget(target, {
      seconds: Number(values.seconds),
      seed,
      findingsDir: FINDINGS_DIR,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    print(report);
    found += report.findings.length;
  }
  process.exitCode = found > 0 ? 1 : 0;
}
