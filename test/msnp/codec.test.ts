import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeParam,
  encodeCommand,
  encodeParam,
  encodePayloadCommand,
  type MsnpCommand,
  MsnpDecoder,
  MsnpProtocolError,
  type MsnpProtocolErrorReason,
} from '../../src/msnp/codec/index.ts';

// Client→server payload commands of the sample (docs/msnp-reference.md §2.2).
const clientPayload = (name: string) => name === 'MSG' || name === 'QRY' || name === 'UUX';
const decoder = (options: { maxLineBytes?: number; maxPayloadBytes?: number } = {}) =>
  new MsnpDecoder({ hasPayload: clientPayload, ...options });

const p2pPayload = Buffer.concat([
  Buffer.from('MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: a@b.c\r\n\r\n'),
  Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x00, 0x00, 0x0d, 0x0a, 0x0d, 0x0a, 0xfe, 0x80, 0x0a]),
  Buffer.from([0x00, 0x00, 0x00, 0x01]),
]);
const friendlyLine = 'REA 6 a@b.c Zoë\u00a0☕日本語😀';

const sample = Buffer.concat([
  Buffer.from('VER 1 MSNP8 CVR0\r\n'),
  Buffer.from('CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 6.0.0602 MSMSGS a@b.c\r\n'),
  Buffer.from('MSG 3 A 12\r\nhello\r\nworld'),
  Buffer.from('QRY 4 msmsgs@msnmsgr.com 32\r\n3b6666b60157322b6fc6e41a115968f5'),
  Buffer.from(`MSG 5 D ${p2pPayload.length}\r\n`),
  p2pPayload,
  Buffer.from(`${friendlyLine}\r\n`, 'utf8'),
  Buffer.from('PNG\r\n'),
]);

const expected: MsnpCommand[] = [
  { name: 'VER', args: ['1', 'MSNP8', 'CVR0'] },
  { name: 'CVR', args: ['2', '0x0409', 'winnt', '5.1', 'i386', 'MSNMSGR', '6.0.0602', 'MSMSGS', 'a@b.c'] },
  { name: 'MSG', args: ['3', 'A', '12'], payload: Buffer.from('hello\r\nworld') },
  {
    name: 'QRY',
    args: ['4', 'msmsgs@msnmsgr.com', '32'],
    payload: Buffer.from('3b6666b60157322b6fc6e41a115968f5'),
  },
  { name: 'MSG', args: ['5', 'D', String(p2pPayload.length)], payload: p2pPayload },
  { name: 'REA', args: ['6', 'a@b.c', 'Zoë\u00a0☕日本語😀'] },
  { name: 'PNG', args: [] },
];

function decodeChunks(chunks: Buffer[], d = decoder()): MsnpCommand[] {
  const out: MsnpCommand[] = [];
  for (const chunk of chunks) out.push(...d.push(chunk));
  return out;
}

function assertProtocolError(fn: () => unknown, reason: MsnpProtocolErrorReason): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MsnpProtocolError, `expected MsnpProtocolError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    return true;
  });
}

describe('MsnpDecoder framing', () => {
  it('decodes the sample in one chunk', () => {
    assert.deepEqual(decodeChunks([sample]), expected);
  });

  it('decodes the sample split into two chunks at every byte boundary', () => {
    for (let i = 0; i <= sample.length; i++) {
      const got = decodeChunks([sample.subarray(0, i), sample.subarray(i)]);
      assert.deepEqual(got, expected, `split at byte ${i}`);
    }
  });

  it('decodes the sample fed byte by byte', () => {
    const chunks = Array.from({ length: sample.length }, (_, i) => sample.subarray(i, i + 1));
    assert.deepEqual(decodeChunks(chunks), expected);
  });

  it('returns each command as soon as it is complete', () => {
    const d = decoder();
    assert.deepEqual(d.push(Buffer.from('VER 1 MSNP8 CVR0\r\nMSG 2 U 5\r\nab')), [
      { name: 'VER', args: ['1', 'MSNP8', 'CVR0'] },
    ]);
    assert.equal(d.bufferedBytes, 2);
    assert.deepEqual(d.push(Buffer.from('c')), []);
    assert.deepEqual(d.push(Buffer.from('de\r\nOUT')), [
      { name: 'MSG', args: ['2', 'U', '5'], payload: Buffer.from('abcde') },
    ]);
    assert.deepEqual(d.push(Buffer.from('\r\n')), [{ name: 'OUT', args: [] }]);
    assert.equal(d.bufferedBytes, 0);
  });

  it('accepts bare LF line ends and ignores empty lines', () => {
    const got = decodeChunks([Buffer.from('VER 1 MSNP8\n\r\n\nCVR 2 x\nMSG 3 U 2\n\r\nPNG\n')]);
    assert.deepEqual(got, [
      { name: 'VER', args: ['1', 'MSNP8'] },
      { name: 'CVR', args: ['2', 'x'] },
      { name: 'MSG', args: ['3', 'U', '2'], payload: Buffer.from('\r\n') },
      { name: 'PNG', args: [] },
    ]);
  });

  it('splits on runs of spaces and tabs, ignoring leading and trailing ones', () => {
    const got = decodeChunks([Buffer.from(' VER\t1  MSNP8 \t CVR0 \t\r\n  \t \r\nMSG 2\tN\t 3 \r\nabc')]);
    assert.deepEqual(got, [
      { name: 'VER', args: ['1', 'MSNP8', 'CVR0'] },
      { name: 'MSG', args: ['2', 'N', '3'], payload: Buffer.from('abc') },
    ]);
  });

  it('accepts 3-digit error codes as names', () => {
    assert.deepEqual(decodeChunks([Buffer.from('540 7\r\n911 8\r\n')]), [
      { name: '540', args: ['7'] },
      { name: '911', args: ['8'] },
    ]);
  });

  it('decodes a zero-length payload without waiting for more bytes', () => {
    const d = decoder();
    assert.deepEqual(d.push(Buffer.from('UUX 9 0\r\n')), [
      { name: 'UUX', args: ['9', '0'], payload: Buffer.alloc(0) },
    ]);
    assert.deepEqual(d.push(Buffer.from('PNG\r\n')), [{ name: 'PNG', args: [] }]);
  });

  it('passes the arguments (length included) to the payload predicate', () => {
    const seen: string[][] = [];
    const d = new MsnpDecoder({
      hasPayload: (name, args) => {
        seen.push([name, ...args]);
        return name === 'UUX' && args[1] !== '0';
      },
    });
    assert.deepEqual(d.push(Buffer.from('UUX 1 0\r\nUUX 2 3\r\nabc')), [
      { name: 'UUX', args: ['1', '0'] },
      { name: 'UUX', args: ['2', '3'], payload: Buffer.from('abc') },
    ]);
    assert.deepEqual(seen, [
      ['UUX', '1', '0'],
      ['UUX', '2', '3'],
    ]);
  });

  it('copies payloads out of the pushed chunk', () => {
    const chunk = Buffer.from('MSG 1 U 3\r\nabc');
    const [cmd] = decoder().push(chunk);
    chunk.fill(0x21);
    assert.equal(cmd?.payload?.toString(), 'abc');
  });

  it('accepts lines and payloads exactly at the limits', () => {
    const line = `CHG 1 NLN ${'x'.repeat(90)}`; // 100 bytes
    assert.equal(line.length, 100);
    const d = decoder({ maxLineBytes: 100, maxPayloadBytes: 5 });
    const bytes = Buffer.from(`${line}\r\n${line}\nMSG 2 U 5\r\n12345`);
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    assert.deepEqual(decodeChunks(chunks, d), [
      { name: 'CHG', args: ['1', 'NLN', 'x'.repeat(90)] },
      { name: 'CHG', args: ['1', 'NLN', 'x'.repeat(90)] },
      { name: 'MSG', args: ['2', 'U', '5'], payload: Buffer.from('12345') },
    ]);
  });
});

describe('MsnpDecoder errors', () => {
  it('throws line-too-long as soon as a partial line passes the limit', () => {
    const d = decoder({ maxLineBytes: 64 });
    const piece = Buffer.from('ABCDEFGH');
    for (let i = 0; i < 8; i++) assert.deepEqual(d.push(piece), []); // 64 bytes: still fine
    assertProtocolError(() => d.push(Buffer.from('X')), 'line-too-long');
  });

  it('allows the CR of the CRLF one byte past the limit, and nothing else', () => {
    const d = decoder({ maxLineBytes: 8 });
    assert.deepEqual(d.push(Buffer.from('PNG 1234\r')), []);
    assert.deepEqual(d.push(Buffer.from('\n')), [{ name: 'PNG', args: ['1234'] }]);
    assert.deepEqual(d.push(Buffer.from('PNG 1234')), []);
    assertProtocolError(() => d.push(Buffer.from('5')), 'line-too-long');
  });

  it('throws line-too-long on a long line even without a newline, across many small chunks', () => {
    const d = decoder();
    let pushed = 0;
    assertProtocolError(() => {
      for (;;) {
        d.push(Buffer.from('AAAAAAA'));
        pushed += 7;
        assert.ok(pushed < 9000, 'should have thrown by now');
      }
    }, 'line-too-long');
    assert.ok(pushed <= 8192 && pushed > 8192 - 7, `threw after ${pushed} bytes`);
  });

  it('throws line-too-long on a complete line over the limit', () => {
    assertProtocolError(
      () => decoder({ maxLineBytes: 10 }).push(Buffer.from('CHG 1 NLN 12\r\n')),
      'line-too-long',
    );
  });

  it('rejects payload lengths over the limit', () => {
    assertProtocolError(() => decoder().push(Buffer.from('MSG 1 U 65537\r\n')), 'payload-too-long');
    assertProtocolError(
      () => decoder({ maxPayloadBytes: 1664 }).push(Buffer.from('MSG 1 U 1665\r\n')),
      'payload-too-long',
    );
    assertProtocolError(
      () => decoder().push(Buffer.from(`MSG 1 U ${'9'.repeat(400)}\r\n`)),
      'payload-too-long',
    );
  });

  it('rejects negative, non-numeric and missing payload lengths', () => {
    for (const line of ['MSG 1 U -1', 'MSG 1 U abc', 'MSG 1 U 1.5', 'MSG 1 U +5', 'MSG 1 U 0x10', 'MSG']) {
      assertProtocolError(() => decoder().push(Buffer.from(`${line}\r\n`)), 'bad-length');
    }
  });

  it('rejects malformed command names', () => {
    for (const line of [
      'ver 1 MSNP8',
      'Ver 1',
      'VERS 1',
      'VE 1',
      '12 1',
      '1234 1',
      'V3R 1',
      'ÄÖÜ 1',
      '\u0000\u0001\u0002',
    ]) {
      assertProtocolError(() => decoder().push(Buffer.from(`${line}\r\n`)), 'bad-command');
    }
  });

  it('rejects a stray CR inside a line', () => {
    assertProtocolError(() => decoder().push(Buffer.from('VER 1\rCVR 2\r\n')), 'bad-command');
  });

  it('rejects lines that are not valid UTF-8', () => {
    for (const bytes of [[0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      const line = Buffer.concat([Buffer.from('REA 1 a@b.c x'), Buffer.from(bytes), Buffer.from('\r\n')]);
      assertProtocolError(() => decoder().push(line), 'bad-utf8');
    }
  });

  it('does not check payload bytes for UTF-8', () => {
    const [cmd] = decoder().push(Buffer.from([...Buffer.from('MSG 1 D 2\r\n'), 0xff, 0xc3]));
    assert.deepEqual(cmd?.payload, Buffer.from([0xff, 0xc3]));
  });

  it('stays failed after an error', () => {
    const d = decoder();
    assertProtocolError(() => d.push(Buffer.from('bad\r\n')), 'bad-command');
    assertProtocolError(() => d.push(Buffer.from('PNG\r\n')), 'bad-command');
  });
});

describe('encoder', () => {
  it('encodes command lines with CRLF', () => {
    assert.equal(encodeCommand('VER', [1, 'MSNP8', 'CVR0']).toString(), 'VER 1 MSNP8 CVR0\r\n');
    assert.equal(encodeCommand('OUT', []).toString(), 'OUT\r\n');
    assert.equal(encodeCommand('540', [7]).toString(), '540 7\r\n');
  });

  it('appends the payload byte length, counting UTF-8 bytes', () => {
    const out = encodePayloadCommand('MSG', ['a@b.c', 'A%20B'], 'héllo☕');
    assert.equal(out.toString(), 'MSG a@b.c A%20B 9\r\nhéllo☕');
    const bin = encodePayloadCommand('UBX', ['a@b.c'], Buffer.from([0, 13, 10, 255]));
    assert.deepEqual(bin, Buffer.concat([Buffer.from('UBX a@b.c 4\r\n'), Buffer.from([0, 13, 10, 255])]));
    assert.equal(encodePayloadCommand('NOT', [], '').toString(), 'NOT 0\r\n');
  });

  it('rejects arguments that would break the framing', () => {
    for (const bad of ['a b', 'a\r', 'a\nb', '', 'a\tb']) {
      assert.throws(() => encodeCommand('PRP', [1, 'MFN', bad]), /argument/);
      assert.throws(() => encodePayloadCommand('MSG', [bad], 'x'), /argument/);
    }
    assert.throws(() => encodeCommand('CHG', [1.5]), /integer/);
    assert.throws(() => encodeCommand('CHG', [Number.NaN]), /integer/);
    assert.throws(() => encodeCommand('chg', []), /command name/);
  });

  it('round-trips through the decoder', () => {
    const commands: [string, (string | number)[], (Buffer | string)?][] = [
      ['VER', [1, 'MSNP12', 'MSNP11', 'CVR0']],
      ['MSG', [2, 'D'], p2pPayload],
      ['MSG', [3, 'N'], 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhé☕😀'],
      ['PRP', [4, 'MFN', encodeParam('Zoë ☕ 100%')]],
      ['UUX', [5], ''],
      ['QRY', [6, 'PROD0090YUAUV{2B'], '85ecb0db8f32113df79ce0892b9a102c'],
    ];
    const wire = Buffer.concat(
      commands.map(([name, args, payload]) =>
        payload === undefined ? encodeCommand(name, args) : encodePayloadCommand(name, args, payload),
      ),
    );
    const want: MsnpCommand[] = commands.map(([name, args, payload]) => {
      if (payload === undefined) return { name, args: args.map(String) };
      const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
      return { name, args: [...args.map(String), String(body.length)], payload: body };
    });
    for (let i = 0; i <= wire.length; i += 7) {
      assert.deepEqual(decodeChunks([wire.subarray(0, i), wire.subarray(i)]), want);
    }
    assert.equal(decodeParam(want[3]?.args[2] ?? ''), 'Zoë ☕ 100%');
  });
});

describe('URL-encoded parameters', () => {
  const names = [
    'plain',
    'with spaces',
    '100% sure',
    '%20 literally',
    'emoji 😀🎉 and ☕',
    '日本語の名前',
    'Zoë — naïve',
    'a+b=c&d',
    '',
    'line\r\nbreak\ttab',
  ];

  it('round-trips names', () => {
    for (const name of names) {
      const encoded = encodeParam(name);
      assert.doesNotMatch(encoded, /[ \t\r\n%](?![0-9A-F]{2})/, `${name} -> ${encoded}`);
      assert.equal(decodeParam(encoded), name);
    }
  });

  it('encodes like encodeURIComponent', () => {
    assert.equal(encodeParam('My Name 100%'), 'My%20Name%20100%25');
    assert.equal(encodeParam('日'), '%E6%97%A5');
  });

  it('does not throw on lone surrogates', () => {
    assert.equal(encodeParam('a\uD800b'), 'a%EF%BF%BDb');
    assert.equal(encodeParam('\uDC00'), '%EF%BF%BD');
  });

  it('decodes lower- and upper-case escapes and leaves + alone', () => {
    assert.equal(decodeParam('caf%c3%a9%2B+x'), 'café++x');
  });

  it('leaves malformed escapes as literal text', () => {
    const cases: [string, string][] = [
      ['%', '%'],
      ['abc%', 'abc%'],
      ['%Z', '%Z'],
      ['%ZZ', '%ZZ'],
      ['%4', '%4'],
      ['100%%20', '100% '],
      ['%%41', '%A'],
      ['%C3', '%C3'], // truncated sequence
      ['%C3x', '%C3x'],
      ['%FF%41', '%FFA'], // invalid lead byte, then a valid escape
      ['%C0%AF', '%C0%AF'], // overlong
      ['%ED%A0%80', '%ED%A0%80'], // UTF-16 surrogate
      ['%F4%90%80%80', '%F4%90%80%80'], // above U+10FFFF
      ['%E6%97%A5%E6%97', '日%E6%97'],
      ['a%80b%C3%A9', 'a%80bé'],
    ];
    for (const [input, want] of cases) assert.equal(decodeParam(input), want, input);
  });

  it('passes through raw (unencoded) UTF-8 text', () => {
    assert.equal(decodeParam('日本%20語'), '日本 語');
  });
});
