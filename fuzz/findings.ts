import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What a fuzz run found: a property violation (`PropertyViolation`, thrown by a target's
 * check) or any other exception. Findings are grouped by signature, so one bug hit a
 * thousand times is one finding with its smallest input.
 */

/** A target's property does not hold; `kind` groups findings of one cause. */
export class PropertyViolation extends Error {
  override name = 'PropertyViolation';
  constructor(
    readonly kind: string,
    message: string,
    /** Extra evidence (the server's stack for an HTTP 500, both event lists for a split mismatch). */
    readonly details = '',
  ) {
    super(`${kind}: ${message}`);
  }
}

export interface Finding {
  target: string;
  signature: string;
  message: string;
  stack: string;
  details: string;
  input: Buffer;
  /** Seed of the per-input random source the check used (splits, random choices). */
  inputSeed: number;
  /** How many inputs hit this signature. */
  count: number;
  file?: string;
}

/** The grouping key: a violation's kind, or an exception's type, message shape and first frame of ours. */
export function signatureOf(err: unknown): string {
  if (err instanceof PropertyViolation) return err.kind;
  if (!(err instanceof Error)) return `thrown ${typeof err}`;
  const frame =
    (err.stack ?? '')
      .split('\n')
      .slice(1)
      .find((l) => /\/(src|fuzz)\//.test(l))
      ?.trim()
      .replace(/^at /, '')
      .replace(/:\d+\)?$/, '') ?? '';
  const shape = err.message.split('\n')[0]?.replace(/\d+/g, 'N').slice(0, 120) ?? '';
  return `${err.name}: ${shape} @ ${frame}`;
}

export function describeError(err: unknown): { message: string; stack: string; details: string } {
  if (err instanceof Error) {
    return {
      message: err.message,
      stack: err.stack ?? '',
      details: err instanceof PropertyViolation ? err.details : '',
    };
  }
  return { message: String(err), stack: '', details: '' };
}

/** Printable ASCII as is, `\r \n \t \\` escaped, every other byte as `\xNN`. */
export function escapeBytes(input: Buffer, max = Number.POSITIVE_INFINITY): string {
  let out = '';
  const n = Math.min(input.length, max);
  for (let i = 0; i < n; i++) {
    const c = input[i] as number;
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return n < input.length ? `${out}… (${input.length - n} more bytes)` : out;
}

function hexDump(input: Buffer): string {
  const lines: string[] = [];
  for (let i = 0; i < input.length; i += 16) {
    const row = input.subarray(i, i + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${escapeBytes(row)}`);
  }
  return lines.join('\n');
}

/** Writes `<target>-<hash>.txt` (readable report) and `.bin` (the raw input, for --replay). */
export function saveFinding(dir: string, finding: Finding): string {
  mkdirSync(dir, { recursive: true });
  const hash = createHash('sha1').update(finding.signature).digest('hex').slice(0, 10);
  const base = path.join(dir, `${finding.target}-${hash}`);
  writeFileSync(`${base}.bin`, finding.input);
  const report = [
    `target: ${finding.target}`,
    `signature: ${finding.signature}`,
    `hits: ${finding.count}`,
    `replay: npm run fuzz -- ${finding.target} --replay ${base}.bin --input-seed ${finding.inputSeed}`,
    '',
    `message: ${finding.message}`,
    '',
    finding.stack,
    '',
    ...(finding.details ? [finding.details, ''] : []),
    `input (${finding.input.length} bytes, escaped):`,
    escapeBytes(finding.input),
    '',
    'hex:',
    hexDump(finding.input),
    '',
  ].join('\n');
  writeFileSync(`${base}.txt`, report);
  return `${base}.txt`;
}
