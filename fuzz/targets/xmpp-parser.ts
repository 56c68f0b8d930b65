import { type StreamParserOptions, XmppStreamParser } from '../../src/xmpp/stream/parser.ts';
import type { FuzzTarget } from '../engine.ts';
import { PropertyViolation } from '../findings.ts';
import type { Rng } from '../rng.ts';
import { XMPP_DICTIONARY, XMPP_SEEDS } from '../seeds/xmpp.ts';
import { byteByByte, fineSplit, randomSplit } from './split.ts';
import { checkLimits, type ParserEvent } from './xmpp-limits.ts';

/**
 * The XMPP stream parser (src/xmpp/stream/parser.ts). Properties:
 * - whole, split and fine-grained feeds give the same events (open, stanzas, close,
 *   at most one error), except as the parser documents for invalid UTF-8: the chunk
 *   holding it is rejected whole, so the events are those of the input before that
 *   chunk, then `unsupported-encoding`;
 * - `write` never throws (the handlers here do not), and after an error or the close
 *   nothing more is reported;
 * - no stanza nests deeper than `maxDepth`;
 * - the size limit (xmpp-limits.ts): whatever the split, no header or stanza over the
 *   limit is accepted, and none within it is refused.
 */

function parse(chunks: Buffer[], options: StreamParserOptions): ParserEvent[] {
  const events: ParserEvent[] = [];
  let at = 0;
  let finished = false;
  const maxDepth = options.maxDepth ?? 64;
  const parser = new XmppStreamParser(
    {
      streamOpen: (attrs) => events.push({ kind: 'open', text: JSON.stringify(attrs), at }),
      stanza: (element) => {
        if (depthOf(element) > maxDepth) {
          throw new PropertyViolation('depth', `a stanza ${depthOf(element)} deep, limit ${maxDepth}`);
        }
        events.push({ kind: 'stanza', text: element.toString(), at });
      },
      streamClose: () => {
        finished = true;
        events.push({ kind: 'close', text: '', at });
      },
      error: (condition, text) => {
        if (finished) throw new PropertyViolation('event-after-end', `error ${condition} after the end`);
        finished = true;
        events.push({ kind: 'error', text: condition, detail: text, at });
      },
    },
    options,
  );
  for (const chunk of chunks) {
    at += chunk.length;
    const before = events.length;
    parser.write(chunk);
    if (finished && events.length > before && events.at(-1)?.kind === 'stanza') {
      throw new PropertyViolation('event-after-end', 'a stanza after the error or close');
    }
  }
  if (finished) {
    const count = events.length;
    parser.write(Buffer.from('<message><body>more</body></message>'));
    if (events.length !== count) throw new PropertyViolation('event-after-end', 'input parsed after the end');
  }
  return events;
}

function depthOf(element: { children: unknown[] }): number {
  let deepest = 0;
  for (const c of element.children) {
    if (typeof c === 'object' && c !== null && 'children' in c) {
      deepest = Math.max(deepest, depthOf(c as { children: unknown[] }));
    }
  }
  return deepest + 1;
}

/** Index of the first chunk the parser's UTF-8 decoder rejects, or -1. */
function rejectedChunk(chunks: Buffer[]): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < chunks.length; i++) {
    try {
      decoder.decode(chunks[i], { stream: true });
    } catch {
      return i;
    }
  }
  return -1;
}

/**
 * Events as compared: an error by its condition only. saxes words the same fault
 * differently depending on where a chunk ended (`n\x1d` whole is "disallowed character",
 * byte by byte "text data outside of root node"), and prefixes the position.
 */
const render = (events: ParserEvent[]) => events.map((e) => `${e.kind} ${e.text}`);

/**
 * What a split of an input holding invalid UTF-8 must give: the events of the bytes
 * before the rejected chunk, then the encoding error (unless the stream ended before).
 * Cached by the accepted length: splits often reject at the same point.
 */
function expectedFor(
  chunks: Buffer[],
  rng: Rng,
  options: StreamParserOptions,
  cache: Map<number, string[]>,
): string[] {
  const rejected = rejectedChunk(chunks);
  const accepted = Buffer.concat(chunks.slice(0, rejected === -1 ? chunks.length : rejected));
  const known = cache.get(accepted.length);
  if (known) return known;
  const events = render(parse(fineSplit(accepted, rng, 256), options));
  const ended = events.length > 0 && /^(close|error)/.test(events.at(-1) as string);
  if (rejected !== -1 && !ended) events.push('error unsupported-encoding');
  cache.set(accepted.length, events);
  return events;
}

function compare(what: string, expected: string[], actual: string[]): void {
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    if (expected[i] !== actual[i]) {
      throw new PropertyViolation(
        'split-mismatch',
        `${what}: event ${i} is ${JSON.stringify(actual[i]?.slice(0, 200))}, expected ${JSON.stringify(expected[i]?.slice(0, 200))}`,
        `expected:\n  ${expected.join('\n  ')}\n${what}:\n  ${actual.join('\n  ')}`,
      );
    }
  }
}

export const xmppParser: FuzzTarget = {
  name: 'xmpp-parser',
  async open() {
    return {
      seeds: [...XMPP_SEEDS],
      dictionary: [...XMPP_DICTIONARY],
      maxBytes: 48 * 1024,
      check(input: Buffer, rng: Rng) {
        // Sizes stay at the default (inputs are smaller), so these runs see no size limit.
        const options: StreamParserOptions = {
          ...(rng.chance(0.5) ? { maxDepth: rng.range(1, 12) } : {}),
          ...(rng.chance(0.5) ? { maxAttributes: rng.range(1, 12) } : {}),
        };
        const splits: Array<[string, Buffer[]]> = [
          ['whole', [input]],
          ['random split', randomSplit(input, rng)],
        ];
        let reference: string[];
        if (rejectedChunk([input]) === -1) {
          // Valid UTF-8: every split gives the events of a fine-grained feed; byte by byte
          // also gives each event's exact offset, for the size limit.
          const exact = input.length <= 4096 && rng.chance(0.3);
          const fine = parse(exact ? byteByByte(input) : fineSplit(input, rng, 256), options);
          reference = render(fine);
          for (const [what, chunks] of splits) compare(what, reference, render(parse(chunks, options)));
          if (exact) {
            const maxStanzaBytes = rng.range(16, 2048);
            const chunks = rng.pick([...splits.map(([, c]) => c), byteByByte(input)]);
            checkLimits(input, fine, parse(chunks, { ...options, maxStanzaBytes }), maxStanzaBytes);
          }
        } else {
          const cache = new Map<number, string[]>();
          splits.push(['fine split', fineSplit(input, rng, 256)]);
          reference = [];
          for (const [what, chunks] of splits) {
            reference = expectedFor(chunks, rng, options, cache);
            compare(what, reference, render(parse(chunks, options)));
          }
        }
        // Behaviour: how many events (up to 9) and how the stream ended (which error).
        const [kind = '', condition = ''] = (reference.at(-1) ?? '').split(' ');
        return `${Math.min(reference.length, 9)}|${kind}${kind === 'error' ? ` ${condition}` : ''}`;
      },
    };
  },
};
