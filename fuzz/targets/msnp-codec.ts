import { type MsnpCommand, MsnpDecoder, MsnpProtocolError } from '../../src/msnp/codec/index.ts';
import { ANY_NS_PAYLOAD, allDialects } from '../../src/msnp/dialects/table.ts';
import type { FuzzTarget } from '../engine.ts';
import { PropertyViolation } from '../findings.ts';
import type { Rng } from '../rng.ts';
import { MSNP_DICTIONARY, MSNP_SEEDS } from '../seeds/msnp.ts';
import { fineSplit, randomSplit } from './split.ts';

/**
 * The MSNP decoder (src/msnp/codec/decoder.ts). Properties, for every split of the
 * same bytes (ARCHITECTURE.md: "tested by feeding input split at every byte boundary"):
 * - the commands are those of a byte-by-byte feed, and the protocol error (if any) has
 *   the same reason; commands completed in the chunk that fails are lost with it, so
 *   after an error one list is a prefix of the other;
 * - nothing but `MsnpProtocolError` is thrown, and after one every push rethrows it;
 * - buffered bytes never exceed the line or payload limit (no unbounded growth);
 * - each command is well-formed: a 3-character name, non-empty tokens without
 *   whitespace, a payload exactly as long as its last argument says.
 */

/** Which commands carry a payload: the NS set of each dialect, the set before VER, the SB's. */
const PAYLOAD_SETS: ReadonlyArray<ReadonlySet<string>> = [
  ANY_NS_PAYLOAD,
  new Set(['MSG']),
  ...allDialects().map((d) => d.nsPayloadCommands),
];

interface Outcome {
  commands: string[];
  error: MsnpProtocolError | undefined;
}

function keyOf(c: MsnpCommand): string {
  return `${c.name} ${c.args.join(' ')}${c.payload ? ` +${c.payload.toString('hex')}` : ''}`;
}

function checkCommand(c: MsnpCommand, hasPayload: (name: string) => boolean): void {
  if (!/^([A-Z]{3}|[0-9]{3})$/.test(c.name)) throw new PropertyViolation('bad-name', `name ${c.name}`);
  for (const arg of c.args) {
    if (arg === '' || /[ \t\r\n]/.test(arg)) throw new PropertyViolation('bad-token', JSON.stringify(arg));
  }
  if (hasPayload(c.name) !== (c.payload !== undefined)) {
    throw new PropertyViolation('payload-presence', `${c.name} payload ${c.payload !== undefined}`);
  }
  if (c.payload && c.payload.length !== Number(c.args.at(-1))) {
    throw new PropertyViolation(
      'payload-length',
      `${c.name}: ${c.payload.length} bytes, line says ${c.args.at(-1)}`,
    );
  }
}

function decodeAll(
  chunks: Buffer[],
  options: { maxLineBytes: number; maxPayloadBytes: number },
  payloadSet: ReadonlySet<string>,
): Outcome {
  const hasPayload = (name: string) => payloadSet.has(name);
  const decoder = new MsnpDecoder({ ...options, hasPayload });
  const bound = Math.max(options.maxLineBytes + 1, options.maxPayloadBytes);
  const commands: string[] = [];
  for (const chunk of chunks) {
    let got: MsnpCommand[];
    try {
      got = decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof MsnpProtocolError)) throw err;
      // The decoder stays failed: the same error again, for any input.
      try {
        decoder.push(Buffer.from('PNG\r\n'));
      } catch (again) {
        if (again === err) return { commands, error: err };
      }
      throw new PropertyViolation('not-sticky', 'a push after a protocol error did not rethrow it');
    }
    for (const c of got) {
      checkCommand(c, hasPayload);
      commands.push(keyOf(c));
    }
    if (decoder.bufferedBytes > bound) {
      throw new PropertyViolation('unbounded', `${decoder.bufferedBytes} bytes buffered, limit ${bound}`);
    }
  }
  return { commands, error: undefined };
}

function compare(what: string, reference: Outcome, other: Outcome, input: Buffer): void {
  const why = (message: string) =>
    new PropertyViolation(
      `split-mismatch`,
      `${what}: ${message}`,
      `byte by byte: ${JSON.stringify(reference.commands.slice(-5))} ${reference.error?.reason ?? ''}\n` +
        `${what}: ${JSON.stringify(other.commands.slice(-5))} ${other.error?.reason ?? ''}\n` +
        `input length ${input.length}`,
    );
  if (reference.error?.reason !== other.error?.reason) {
    throw why(`error ${other.error?.reason ?? 'none'} instead of ${reference.error?.reason ?? 'none'}`);
  }
  // After an error, one list is a prefix of the other (the failing chunk's commands are lost).
  const n = Math.min(other.commands.length, reference.commands.length);
  if (reference.error === undefined && other.commands.length !== reference.commands.length) {
    throw why(`${other.commands.length} commands instead of ${reference.commands.length}`);
  }
  for (let i = 0; i < n; i++) {
    if (other.commands[i] !== reference.commands[i]) throw why(`command ${i} differs`);
  }
}

function options(rng: Rng): { maxLineBytes: number; maxPayloadBytes: number } {
  return {
    maxLineBytes: rng.chance(0.5) ? 8192 : rng.range(1, 600),
    maxPayloadBytes: rng.chance(0.5) ? 65536 : rng.range(0, 2000),
  };
}

export const msnpCodec: FuzzTarget = {
  name: 'msnp-codec',
  async open() {
    return {
      seeds: [...MSNP_SEEDS],
      dictionary: [...MSNP_DICTIONARY],
      maxBytes: 96 * 1024,
      check(input: Buffer, rng: Rng) {
        const opts = options(rng);
        const payloadSet = rng.pick(PAYLOAD_SETS);
        const reference = decodeAll(fineSplit(input, rng), opts, payloadSet);
        compare('whole', reference, decodeAll([input], opts, payloadSet), input);
        compare('random split', reference, decodeAll(randomSplit(input, rng), opts, payloadSet), input);
        const names = reference.commands.map((c) => c.slice(0, 3));
        return `${[...new Set(names)].sort().join()}|${reference.error?.reason ?? ''}`;
      },
    };
  },
};
