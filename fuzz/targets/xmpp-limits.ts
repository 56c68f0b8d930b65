import { PropertyViolation } from '../findings.ts';

/**
 * The XMPP parser's size limit, whatever the split (RFC 6120 §13.12; parser.ts: "the size
 * limit counts a top-level element's bytes plus any non-keepalive text before it; the
 * stream header (with anything before it) has the same limit").
 *
 * `unlimited` is the byte-by-byte run without a size limit: each event's `at` is the
 * exact input offset where it completed. `limited` is a run of the same input, split
 * some way, with `maxStanzaBytes`. It must be the same events until it stops with a
 * `policy-violation`, and:
 * - no header longer than the limit and no stanza whose own bytes exceed it is accepted;
 * - it is not refused where everything from the end of the previous event to the end of
 *   the refused one (keepalives included) fits the limit: the parser cannot have counted
 *   more than that.
 */

export interface ParserEvent {
  kind: 'open' | 'stanza' | 'close' | 'error';
  text: string;
  detail?: string;
  /** Input bytes fed when the event was reported. */
  at: number;
}

const same = (a: ParserEvent | undefined, b: ParserEvent | undefined) =>
  a !== undefined && b !== undefined && a.kind === b.kind && a.text === b.text;

function leadingWhitespace(input: Buffer, from: number): number {
  let i = from;
  while (i < input.length && [0x20, 0x09, 0x0d, 0x0a].includes(input[i] as number)) i++;
  return i - from;
}

export function checkLimits(
  input: Buffer,
  unlimited: ParserEvent[],
  limited: ParserEvent[],
  limit: number,
): void {
  const details = () =>
    `limit ${limit}\nunlimited: ${unlimited.map((e) => `${e.kind}@${e.at}`).join(' ')}\n` +
    `limited:   ${limited.map((e) => `${e.kind}${e.kind === 'error' ? `(${e.text})` : ''}`).join(' ')}`;
  for (let k = 0; k < limited.length; k++) {
    const event = limited[k] as ParserEvent;
    const reference = unlimited[k];
    const start = k === 0 ? 0 : (unlimited[k - 1] as ParserEvent).at;
    if (same(event, reference)) {
      const ref = reference as ParserEvent;
      if (ref.kind === 'open' && ref.at > limit) {
        throw new PropertyViolation(
          'limit-header',
          `a ${ref.at}-byte stream header accepted with a ${limit}-byte limit`,
          details(),
        );
      }
      if (ref.kind === 'stanza') {
        const own = ref.at - start - leadingWhitespace(input, start);
        if (own > limit) {
          throw new PropertyViolation(
            'limit-stanza',
            `a ${own}-byte stanza accepted with a ${limit}-byte limit`,
            details(),
          );
        }
      }
      continue;
    }
    if (event.kind !== 'error' || event.text !== 'policy-violation' || k !== limited.length - 1) {
      throw new PropertyViolation(
        'limit-divergence',
        `event ${k}: ${event.kind} ${event.text} where the unlimited run has ${reference?.kind ?? 'nothing'}`,
        details(),
      );
    }
    // A refusal: the segment it refused must be longer than the limit.
    const end = reference === undefined ? input.length : reference.at;
    if (end - start <= limit) {
      throw new PropertyViolation(
        'limit-refused',
        `refused (${event.detail}) though bytes ${start}–${end} (${end - start}) fit the ${limit}-byte limit`,
        details(),
      );
    }
    return;
  }
  if (limited.length !== unlimited.length) {
    throw new PropertyViolation(
      'limit-divergence',
      `${limited.length} events, not ${unlimited.length}`,
      details(),
    );
  }
}
