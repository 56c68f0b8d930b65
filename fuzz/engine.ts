import { describeError, type Finding, saveFinding, signatureOf } from './findings.ts';
import { Mutator } from './mutate.ts';
import { Rng } from './rng.ts';

/**
 * The fuzz loop: mutate an input from the corpus, check it, keep it if it showed a
 * behaviour not seen before (a cheap stand-in for coverage feedback), and record any
 * exception or property violation as a finding with a minimized input.
 */

/** A target opened for a run. */
export interface FuzzHarness {
  /** Real protocol inputs the mutations start from. */
  seeds: Buffer[];
  /** Target-specific tokens for insertion (command names, element names, header names). */
  dictionary?: string[];
  /** Longest input generated (default 64 KiB). */
  maxBytes?: number;
  /**
   * Checks one input. Throws on a finding (a `PropertyViolation`, or whatever escaped
   * the code under test). May return a behaviour key: an input showing a new key joins
   * the corpus. `rng` is the input's own random source (where to split, what to vary).
   */
  check(input: Buffer, rng: Rng): string | undefined | Promise<string | undefined>;
  close?(): Promise<void>;
}

/** A target, named as in targets/index.ts (which also describes it). */
export interface FuzzTarget {
  name: string;
  open(): Promise<FuzzHarness>;
}

export interface RunOptions {
  seconds: number;
  seed: number;
  /** Where findings are written; unset: not written. */
  findingsDir?: string;
  /** Budget for shrinking each new finding's input. */
  minimizeMs?: number;
  log?: (line: string) => void;
}

export interface RunReport {
  target: string;
  seed: number;
  inputs: number;
  seconds: number;
  corpus: number;
  behaviours: number;
  findings: Finding[];
}

const MAX_CORPUS = 4096;

export async function runTarget(target: FuzzTarget, options: RunOptions): Promise<RunReport> {
  const harness = await target.open();
  const rng = new Rng(options.seed);
  const mutator = new Mutator({ dictionary: harness.dictionary ?? [], maxBytes: harness.maxBytes ?? 65536 });
  const corpus = harness.seeds.length > 0 ? [...harness.seeds] : [Buffer.alloc(0)];
  const behaviours = new Set<string>();
  const findings = new Map<string, Finding>();
  // Exceptions thrown outside the check (a timer, a rejected promise nobody awaited)
  // are still findings, blamed on the input being checked when they surfaced.
  let escaped: unknown[] = [];
  const onEscape = (err: unknown) => escaped.push(err);
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);

  const record = async (err: unknown, input: Buffer, inputSeed: number) => {
    const signature = signatureOf(err);
    const known = findings.get(signature);
    if (known) {
      known.count++;
      return;
    }
    const small = await minimize(harness, input, inputSeed, signature, options.minimizeMs ?? 3000);
    const finding: Finding = {
      target: target.name,
      signature,
      ...describeError(small.err ?? err),
      input: small.input,
      inputSeed,
      count: 1,
    };
    if (options.findingsDir) finding.file = saveFinding(options.findingsDir, finding);
    findings.set(signature, finding);
    options.log?.(`[${target.name}] finding: ${signature}`);
  };

  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  let inputs = 0;
  try {
    // Every seed is checked once whatever the time: the baseline of each run.
    while (inputs < harness.seeds.length || performance.now() < deadline) {
      // The seeds first as they are, then corpus entries: a seed a quarter of the time (so
      // a corpus of near-duplicates does not bury them), unmutated a fifth of the time
      // (the check's own randomness, splits or request variations, is then what is new).
      let input: Buffer;
      if (inputs < harness.seeds.length) input = harness.seeds[inputs] as Buffer;
      else {
        const base = rng.pick(harness.seeds.length > 0 && rng.chance(0.25) ? harness.seeds : corpus);
        input = rng.chance(0.2) ? base : mutator.mutate(base, rng, rng.pick(corpus));
      }
      const inputSeed = rng.u32();
      inputs++;
      try {
        const key = await harness.check(input, new Rng(inputSeed));
        if (key !== undefined && !behaviours.has(key)) {
          behaviours.add(key);
          if (corpus.length < MAX_CORPUS) corpus.push(input);
          else corpus[rng.int(MAX_CORPUS)] = input;
        }
      } catch (err) {
        await record(err, input, inputSeed);
      }
      if (escaped.length > 0) {
        const errors = escaped;
        escaped = [];
        for (const err of errors) await record(err, input, inputSeed);
      }
    }
  } finally {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
    await harness.close?.();
  }
  return {
    target: target.name,
    seed: options.seed,
    inputs,
    seconds: (performance.now() - started) / 1000,
    corpus: corpus.length,
    behaviours: behaviours.size,
    findings: [...findings.values()],
  };
}

/** Runs one saved input (`--replay`): the finding it reproduces, or undefined. */
export async function replay(target: FuzzTarget, input: Buffer, inputSeed: number): Promise<unknown> {
  const harness = await target.open();
  try {
    await harness.check(input, new Rng(inputSeed));
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await harness.close?.();
  }
}

/**
 * Shrinks an input while it still fails with the same signature: removes halves, then
 * quarters, … then single bytes (delta debugging, simplified), within a time budget.
 */
async function minimize(
  harness: FuzzHarness,
  input: Buffer,
  inputSeed: number,
  signature: string,
  budgetMs: number,
): Promise<{ input: Buffer; err?: unknown }> {
  const deadline = performance.now() + budgetMs;
  let best = input;
  let bestErr: unknown;
  const fails = async (candidate: Buffer): Promise<boolean> => {
    try {
      await harness.check(candidate, new Rng(inputSeed));
      return false;
    } catch (err) {
      if (signatureOf(err) !== signature) return false;
      bestErr = err;
      return true;
    }
  };
  for (let chunk = best.length >> 1; chunk >= 1 && performance.now() < deadline; chunk >>= 1) {
    let at = 0;
    while (at < best.length && performance.now() < deadline) {
      const candidate = Buffer.concat([best.subarray(0, at), best.subarray(at + chunk)]);
      if (await fails(candidate)) best = candidate;
      else at += chunk;
    }
  }
  return bestErr === undefined ? { input: best } : { input: best, err: bestErr };
}
