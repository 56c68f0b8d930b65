import { hash, verify } from '@node-rs/argon2';
import { ARGON2_OPTIONS } from '../src/core/credentials.ts';
import { deriveScramKeys, SCRAM_ITERATIONS, scramPasswordMatches } from '../src/core/scram.ts';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

async function time(label: string, rounds: number, fn: () => Promise<unknown> | unknown): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  process.stdout.write(
    `${label.padEnd(44)} mean ${mean.toFixed(1)} ms  p50 ${percentile(samples, 50).toFixed(1)} ms  p99 ${percentile(samples, 99).toFixed(1)} ms\n`,
  );
}

export async function run(args: string[]): Promise<void> {
  const rounds = Number(args[0] ?? 30);
  const { memoryCost, timeCost, parallelism } = ARGON2_OPTIONS;
  process.stdout.write(
    `argon2id m=${memoryCost} KiB t=${timeCost} p=${parallelism}; SCRAM i=${SCRAM_ITERATIONS}\n`,
  );
  const stored = await hash('correct horse battery staple', ARGON2_OPTIONS);
  await time('argon2id verify (sign-in, one core)', rounds, () =>
    verify(stored, 'correct horse battery staple'),
  );
  await time('argon2id verify, wrong password', rounds, () => verify(stored, 'wrong'));
  // What a plaintext sign-in costs now: StoredKey recomputed from the password (RFC 5802 §3).
  const keys = deriveScramKeys('sha256', 'correct horse battery staple');
  await time('SCRAM-SHA-256 check (sign-in, thread pool)', rounds, () =>
    scramPasswordMatches('sha256', keys, 'correct horse battery staple'),
  );
  await time('SCRAM-SHA-256 check, wrong password', rounds, () =>
    scramPasswordMatches('sha256', keys, 'wrong'),
  );
  await time('SCRAM-SHA-1 keys (at password change)', rounds, () => deriveScramKeys('sha1', 'pw'));
  await time('SCRAM-SHA-256 keys (at password change)', rounds, () => deriveScramKeys('sha256', 'pw'));
  const parallel = 8;
  const start = Date.now();
  await Promise.all(Array.from({ length: parallel * 4 }, () => verify(stored, 'wrong')));
  const perSecond = ((parallel * 4) / (Date.now() - start)) * 1000;
  process.stdout.write(`argon2id verifies/s, all cores busy:          ${perSecond.toFixed(0)}\n`);
  const scramStart = Date.now();
  await Promise.all(
    Array.from({ length: parallel * 4 }, () => scramPasswordMatches('sha256', keys, 'wrong')),
  );
  const scramPerSecond = ((parallel * 4) / (Date.now() - scramStart)) * 1000;
  process.stdout.write(`SCRAM-SHA-256 checks/s, all cores busy:      ${scramPerSecond.toFixed(0)}\n`);
}
