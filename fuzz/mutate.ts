import type { Rng } from './rng.ts';

/**
 * Byte-level mutations of a seed input: bit flips, interesting bytes and tokens,
 * deletion, repetition, splicing with another corpus entry, truncation and number
 * replacement. Stacked a few at a time, they turn real protocol inputs into the
 * near-misses parsers get wrong.
 */

/** Tokens every text protocol here trips on: line ends, markup, escapes, numbers, odd UTF-8. */
const COMMON_TOKENS: readonly string[] = [
  '\r\n',
  '\n',
  '\r',
  '\r\n\r\n',
  '\0',
  ' ',
  '\t',
  '<',
  '>',
  '/>',
  '</',
  '&',
  '&amp;',
  '&lt;',
  '&#0;',
  '&#x110000;',
  '&#xD800;',
  '&#65;',
  '&foo;',
  '"',
  "'",
  '=',
  ';',
  ',',
  ':',
  '%',
  '%00',
  '%0D%0A',
  '%ff',
  '%C3',
  '%C3%A9',
  '%ED%A0%80',
  '%F4%90%80%80',
  '%zz',
  '+',
  '/',
  '//',
  '/../',
  '?',
  '#',
  '0',
  '-1',
  '-0',
  '+1',
  '1e9',
  '0x10',
  'NaN',
  '2147483647',
  '2147483648',
  '4294967296',
  '9007199254740993',
  '99999999999999999999999',
  'é',
  '日本語',
  '😀',
  '\u202e',
  '\ufeff',
  '\u0085',
  '\u2028',
  '<![CDATA[x]]>',
  ']]>',
  '<!--x-->',
  '<?pi x?>',
  '<!DOCTYPE x [<!ENTITY e "ee">]>',
  '&e;',
  'xmlns="urn:x"',
  'xmlns:p="urn:p"',
  'p:',
];

/** Raw bytes that are not valid UTF-8 on their own (RFC 3629 §3, §10). */
const BAD_UTF8: readonly Buffer[] = [
  Buffer.from([0xff]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0x80]),
];

const INTERESTING_BYTES = [
  0x00, 0x01, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x25, 0x26, 0x3c, 0x3e, 0x7f, 0x80, 0xff,
];

export interface MutatorOptions {
  /** Target-specific tokens (command names, element names, header names) used like the common ones. */
  dictionary?: readonly string[];
  /** Inputs are cut to this length. */
  maxBytes: number;
}

type Mutation = (input: Buffer, rng: Rng, other: Buffer) => Buffer;

export class Mutator {
  private readonly tokens: Buffer[];
  private readonly maxBytes: number;
  private readonly mutations: Mutation[];

  constructor(options: MutatorOptions) {
    this.tokens = [...COMMON_TOKENS, ...(options.dictionary ?? [])].map((t) => Buffer.from(t, 'utf8'));
    this.tokens.push(...BAD_UTF8);
    this.maxBytes = options.maxBytes;
    this.mutations = [
      flipBit,
      setByte,
      (input, rng) => insertAt(input, rng, rng.pick(this.tokens)),
      (input, rng) => insertAt(input, rng, rng.pick(this.tokens)),
      (input, rng) => replaceRange(input, rng, rng.pick(this.tokens)),
      deleteRange,
      repeatRange,
      splice,
      crossover,
      truncate,
      replaceNumber,
      replaceNumber,
      swapRanges,
    ];
  }

  /** 1 to a dozen stacked mutations of `input`; `other` feeds splicing. */
  mutate(input: Buffer, rng: Rng, other: Buffer): Buffer {
    let out = input;
    const count = rng.skewed(12) || 1;
    for (let i = 0; i < count; i++) {
      out = rng.pick(this.mutations)(out, rng, other);
      if (out.length > this.maxBytes) out = out.subarray(0, this.maxBytes);
    }
    return out;
  }
}

/** A position in [0, length], biased towards the interesting places: starts and ends of lines. */
function position(input: Buffer, rng: Rng): number {
  if (input.length > 0 && rng.chance(0.3)) {
    const nl = input.indexOf(0x0a, rng.int(input.length));
    if (nl !== -1) return rng.chance(0.5) ? nl + 1 : Math.max(0, nl - 1);
  }
  return rng.int(input.length + 1);
}

function flipBit(input: Buffer, rng: Rng): Buffer {
  if (input.length === 0) return input;
  const out = Buffer.from(input);
  const i = rng.int(out.length);
  out[i] = (out[i] as number) ^ (1 << rng.int(8));
  return out;
}

function setByte(input: Buffer, rng: Rng): Buffer {
  if (input.length === 0) return Buffer.from([rng.pick(INTERESTING_BYTES)]);
  const out = Buffer.from(input);
  out[rng.int(out.length)] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
  return out;
}

function insertAt(input: Buffer, rng: Rng, token: Buffer): Buffer {
  const at = position(input, rng);
  return Buffer.concat([input.subarray(0, at), token, input.subarray(at)]);
}

function replaceRange(input: Buffer, rng: Rng, token: Buffer): Buffer {
  const at = position(input, rng);
  const len = rng.skewed(16);
  return Buffer.concat([input.subarray(0, at), token, input.subarray(at + len)]);
}

function deleteRange(input: Buffer, rng: Rng): Buffer {
  if (input.length === 0) return input;
  const at = rng.int(input.length);
  const len = rng.skewed(Math.max(1, input.length - at));
  return Buffer.concat([input.subarray(0, at), input.subarray(at + len)]);
}

/** Repeats a range: long lines, deep nesting, many attributes, many commands in one chunk. */
function repeatRange(input: Buffer, rng: Rng): Buffer {
  if (input.length === 0) return input;
  const at = rng.int(input.length);
  const len = rng.skewed(Math.min(256, input.length - at)) || 1;
  const times = rng.skewed(rng.chance(0.1) ? 4096 : 64) || 1;
  const piece = input.subarray(at, at + len);
  const parts: Buffer[] = [input.subarray(0, at + len)];
  for (let i = 0; i < times; i++) parts.push(piece);
  parts.push(input.subarray(at + len));
  return Buffer.concat(parts);
}

/** Inserts a piece of another input (two commands from two dialects, two stanzas, two bodies). */
function splice(input: Buffer, rng: Rng, other: Buffer): Buffer {
  if (other.length === 0) return input;
  const from = rng.int(other.length);
  const len = rng.skewed(other.length - from) || 1;
  const at = position(input, rng);
  return Buffer.concat([input.subarray(0, at), other.subarray(from, from + len), input.subarray(at)]);
}

/** The head of this input and the tail of the other. */
function crossover(input: Buffer, rng: Rng, other: Buffer): Buffer {
  return Buffer.concat([input.subarray(0, position(input, rng)), other.subarray(position(other, rng))]);
}

function truncate(input: Buffer, rng: Rng): Buffer {
  return input.subarray(0, rng.int(input.length + 1));
}

const NUMBERS = ['0', '1', '-1', '255', '256', '65535', '65536', '1664', '8192', '2147483648', '1e3', ''];

/** Replaces a run of digits: MSNP payload lengths, TrIDs, content lengths, list bits. */
function replaceNumber(input: Buffer, rng: Rng): Buffer {
  const start = rng.int(input.length);
  let i = start;
  while (i < input.length && !isDigit(input[i] as number)) i++;
  if (i === input.length) return input;
  let j = i;
  while (j < input.length && isDigit(input[j] as number)) j++;
  const value = Number(input.subarray(i, j).toString('latin1'));
  const choices = [...NUMBERS, String(value + 1), String(value - 1), String(value * 2), String(value + 4096)];
  return Buffer.concat([input.subarray(0, i), Buffer.from(rng.pick(choices)), input.subarray(j)]);
}

function swapRanges(input: Buffer, rng: Rng): Buffer {
  if (input.length < 4) return input;
  const cuts = [rng.int(input.length), rng.int(input.length), rng.int(input.length)].sort((a, b) => a - b);
  const [a, b, c] = cuts as [number, number, number];
  return Buffer.concat([input.subarray(0, a), input.subarray(b, c), input.subarray(a, b), input.subarray(c)]);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
