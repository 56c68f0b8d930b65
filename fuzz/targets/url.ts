import { decodeParam, encodeParam } from '../../src/msnp/codec/index.ts';
import {
  parsePassportAuthorization,
  percentDecode,
} from '../../src/msnp/services/passport/authorization-header.ts';
import type { FuzzTarget } from '../engine.ts';
import { PropertyViolation } from '../findings.ts';
import type { Rng } from '../rng.ts';

/**
 * URL (percent) decoding as MSNP uses it: `decodeParam`/`encodeParam` for friendly
 * names, group names, MSNObjects and PRP values (src/msnp/codec/url-encoding.ts), and
 * the Passport 1.4 `Authorization` header's `percentDecode` (MSN 5–7.0 sign-in).
 * Both are documented never to throw. Properties:
 * - neither decoder throws, and where `decodeURIComponent` accepts the text (every
 *   escape well-formed UTF-8) both agree with it;
 * - `encodeParam` never throws, gives a single MSNP token (printable ASCII, no space)
 *   and `decodeParam` inverts it (a lone surrogate comes back as U+FFFD);
 * - `parsePassportAuthorization` never throws.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const SEEDS = [
  'Alice%20%E2%98%95%20%F0%9F%98%80',
  'Friends%20%26%20Family',
  '%3Cmsnobj%20Creator%3D%22alice%40example.com%22%20Size%3D%2224539%22%20Type%3D%223%22%20SHA1D%3D%22trC8SlFx2sWQxZMIBAWSEnXc8oQ%3D%22%2F%3E',
  'Zo%C3%AB%C2%A0%E6%97%A5%E6%9C%AC%E8%AA%9E',
  '100%25%20sure%20%2B%20plus+sign',
  '%ZZ%2%%%C3%28%E0%80%AF%ED%A0%80%F4%90%80%80%C0%AF%FF',
  'N=bob@example.com',
  'Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=alice%40example.com,pwd=p%2Cw%25d,lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1062764229,kpp=1,kv=5,ver=2.1.0173.1,tpf=43f8a4c8ed940c04e3740be46c4d1619',
  'passport1.4  sign-in=alice@example.com ,pwd=secret,',
].map((s) => Buffer.from(s, 'utf8'));

function safeDecodeURIComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function check(text: string): void {
  const standard = LONE_SURROGATE.test(text) ? undefined : safeDecodeURIComponent(text);

  const decoded = decodeParam(text);
  if (typeof decoded !== 'string') throw new PropertyViolation('decodeParam-type', typeof decoded);
  if (standard !== undefined && decoded !== standard) {
    throw new PropertyViolation(
      'decodeParam-differs',
      `${JSON.stringify(decoded)} vs ${JSON.stringify(standard)}`,
    );
  }

  const passport = percentDecode(text);
  if (standard !== undefined && passport !== standard) {
    throw new PropertyViolation(
      'percentDecode-differs',
      `${JSON.stringify(passport)} vs ${JSON.stringify(standard)}`,
    );
  }

  for (const original of [text, decoded]) {
    const encoded = encodeParam(original);
    if (!/^[\x21-\x7e]*$/.test(encoded)) {
      throw new PropertyViolation('encodeParam-token', `not one printable token: ${JSON.stringify(encoded)}`);
    }
    const expected = original.replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD');
    const back = decodeParam(encoded);
    if (back !== expected) {
      throw new PropertyViolation(
        'round-trip',
        `${JSON.stringify(original)} came back as ${JSON.stringify(back)}`,
      );
    }
  }

  parsePassportAuthorization(text);
  parsePassportAuthorization(`Passport1.4 OrgVerb=GET,sign-in=${text},pwd=${text}`);
}

export const url: FuzzTarget = {
  name: 'url',
  async open() {
    return {
      seeds: SEEDS,
      dictionary: [
        '%',
        '%2',
        '%20',
        '%25',
        '%C3',
        '%A9',
        '%E2%98',
        '%F0%9F%98',
        '%80',
        '%D8%00',
        'sign-in=',
        'pwd=',
        ',',
      ],
      maxBytes: 8192,
      check(input: Buffer, rng: Rng) {
        // Text from a socket is UTF-8 (MSNP lines); HTTP headers arrive as latin1.
        const text = input.toString(rng.chance(0.8) ? 'utf8' : 'latin1');
        check(text);
        // A string no byte sequence decodes to: lone surrogates, from a JavaScript caller.
        if (rng.chance(0.1)) check(`${text}\uD800${text.slice(0, 3)}\uDC00`);
        const escapes = (text.match(/%[0-9a-f]{2}/gi) ?? []).length;
        return `${Math.min(escapes, 8)}|${safeDecodeURIComponent(text) === undefined}`;
      },
    };
  },
};
