import type { FuzzTarget } from '../engine.ts';

/**
 * Every fuzz target, by name, loaded on demand (the HTTP target opens a database, the
 * others are pure). `npm run fuzz -- <name>` runs one; test/fuzz.test.ts runs each briefly.
 */
export const TARGETS: Record<string, { describe: string; load: () => Promise<FuzzTarget> }> = {
  'msnp-codec': {
    describe:
      'MSNP decoder: whole vs split input give the same commands/errors; only protocol errors; bounded',
    load: async () => (await import('./msnp-codec.ts')).msnpCodec,
  },
  url: {
    describe: 'MSNP URL decoding (decodeParam/encodeParam, Passport percentDecode): never throws',
    load: async () => (await import('./url.ts')).url,
  },
  'xmpp-parser': {
    describe: 'XMPP stream parser: whole vs split give the same events; size/depth/attribute limits hold',
    load: async () => (await import('./xmpp-parser.ts')).xmppParser,
  },
  soap: {
    describe: 'SOAP/Passport/ABCH/OIM/storage readers and MSNP XML payloads: only their own rejections',
    load: async () => (await import('./soap.ts')).soap,
  },
  http: {
    describe: 'every HTTP route through app.inject (real SQLite store): never a 500, nothing escapes',
    load: async () => (await import('./http.ts')).http,
  },
};
