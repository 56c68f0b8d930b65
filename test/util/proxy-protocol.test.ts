import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressMatcher } from '../../src/util/address-list.ts';
import { type ProxyHeader, parseProxyHeader } from '../../src/util/proxy-protocol.ts';
import { proxyV1, proxyV2, V2_SIGNATURE } from '../support/proxy-relay.ts';

// HAProxy's doc/proxy-protocol.txt: §2.1 (v1, text) and §2.2 (v2, binary).

const bytes = (text: string) => Buffer.from(text, 'latin1');
const after = bytes('VER 1 MSNP8 CVR0\r\n');

/** The header as the parser sees it when it arrives in pieces: every prefix is incomplete. */
function assertPrefixesIncomplete(header: Buffer): void {
  for (let i = 0; i < header.length; i++) {
    assert.deepEqual(parseProxyHeader(header.subarray(0, i)), { state: 'incomplete' }, `first ${i} bytes`);
  }
}

function complete(result: ProxyHeader) {
  assert.equal(result.state, 'complete', JSON.stringify(result));
  return result as Extract<ProxyHeader, { state: 'complete' }>;
}

function assertInvalid(input: Buffer, why?: RegExp): void {
  const result = parseProxyHeader(input);
  assert.equal(
    result.state,
    'invalid',
    `${JSON.stringify(input.toString('latin1'))} → ${JSON.stringify(result)}`,
  );
  if (why && result.state === 'invalid') assert.match(result.reason, why);
}

describe('PROXY protocol v1 (text)', () => {
  it('reads a TCP4 line and says how long it is, whatever follows', () => {
    const header = bytes('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n');
    const got = complete(parseProxyHeader(Buffer.concat([header, after])));
    assert.deepEqual(got, {
      state: 'complete',
      version: 1,
      length: header.length,
      peer: { address: '192.168.0.1', port: 56324, family: 'IPv4' },
    });
  });

  it('reads TCP6, writing the address as a socket would (RFC 5952)', () => {
    const header = bytes('PROXY TCP6 2001:DB8:0:0:0:0:0:7 2001:db8::1 65535 1863\r\n');
    const got = complete(parseProxyHeader(header));
    assert.deepEqual(got.peer, { address: '2001:db8::7', port: 65535, family: 'IPv6' });
    const mapped = complete(parseProxyHeader(bytes('PROXY TCP6 ::ffff:c000:207 ::1 1 2\r\n')));
    assert.equal(mapped.peer?.address, '::ffff:192.0.2.7');
  });

  it('keeps the socket address for UNKNOWN, short form or with addresses', () => {
    for (const line of ['PROXY UNKNOWN\r\n', 'PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n']) {
      const got = complete(parseProxyHeader(Buffer.concat([bytes(line), after])));
      assert.equal(got.length, line.length);
      assert.equal(got.peer, undefined);
    }
  });

  it('waits for the whole line when it arrives byte by byte, then reads it', () => {
    const header = proxyV1({ address: '203.0.113.9', port: 4000 });
    assertPrefixesIncomplete(header);
    assert.equal(complete(parseProxyHeader(header)).peer?.address, '203.0.113.9');
  });

  it('accepts the longest line the spec allows (107 bytes) and nothing longer', () => {
    const ffff = Array(8).fill('ffff').join(':');
    const longest = bytes(`PROXY UNKNOWN ${ffff} ${ffff} 65535 65535\r\n`);
    assert.equal(longest.length, 107);
    assert.equal(complete(parseProxyHeader(longest)).length, 107);
    assertInvalid(bytes(`PROXY UNKNOWN ${'x'.repeat(100)}\r\n`), /longer than 107/);
    // Refused at 107 bytes without a CRLF, without waiting for more.
    assertInvalid(bytes(`PROXY TCP4 ${'1'.repeat(96)}`), /longer than 107/);
    assert.equal(parseProxyHeader(bytes(`PROXY TCP4 ${'1'.repeat(95)}`)).state, 'incomplete');
  });

  it('refuses malformed lines', () => {
    const bad = [
      'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n', // LF alone
      'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\rX', // CR alone
      'PROXY TCP5 192.168.0.1 192.168.0.11 56324 443\r\n',
      'PROXY tcp4 192.168.0.1 192.168.0.11 56324 443\r\n',
      'PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n',
      'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 extra\r\n',
      'PROXY TCP4  192.168.0.1 192.168.0.11 56324 443\r\n', // two spaces
      'PROXY TCP4 192.168.0.01 192.168.0.11 56324 443\r\n', // heading zero
      'PROXY TCP4 256.1.1.1 192.168.0.11 56324 443\r\n',
      'PROXY TCP4 2001:db8::1 192.168.0.11 56324 443\r\n', // family mismatch
      'PROXY TCP6 192.168.0.1 2001:db8::1 56324 443\r\n',
      'PROXY TCP6 fe80::1%eth0 2001:db8::1 56324 443\r\n', // zone
      'PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n',
      'PROXY TCP4 192.168.0.1 192.168.0.11 0443 443\r\n',
      'PROXY TCP4 192.168.0.1 192.168.0.11 -1 443\r\n',
      'PROXY \r\n',
    ];
    for (const line of bad) assertInvalid(bytes(line));
  });
});

describe('PROXY protocol v2 (binary)', () => {
  it('reads TCP over IPv4 and says how long the header is', () => {
    const header = proxyV2({ address: '198.51.100.23', port: 61000 }, { address: '10.0.0.2', port: 5222 });
    assert.equal(header.length, 16 + 12);
    const got = complete(parseProxyHeader(Buffer.concat([header, after])));
    assert.deepEqual(got, {
      state: 'complete',
      version: 2,
      length: 28,
      peer: { address: '198.51.100.23', port: 61000, family: 'IPv4' },
    });
  });

  it('reads TCP over IPv6', () => {
    const header = proxyV2(
      { address: '2001:db8:0:0:1::7', port: 443 },
      { address: '2001:db8::1', port: 5223 },
    );
    assert.equal(header.length, 16 + 36);
    assert.deepEqual(complete(parseProxyHeader(header)).peer, {
      address: '2001:db8::1:0:0:7',
      port: 443,
      family: 'IPv6',
    });
  });

  it('skips TLVs after the addresses (the length covers them)', () => {
    const tlvs = Buffer.from([0x05, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef]); // PP2_TYPE_UNIQUE_ID
    const header = proxyV2({ address: '192.0.2.1', port: 1 }, undefined, tlvs);
    const got = complete(parseProxyHeader(Buffer.concat([header, after])));
    assert.equal(got.length, header.length);
    assert.equal(got.peer?.address, '192.0.2.1');
  });

  it('keeps the socket address for LOCAL (health checks), whatever block it carries', () => {
    assert.deepEqual(complete(parseProxyHeader(proxyV2(undefined))), {
      state: 'complete',
      version: 2,
      length: 16,
      peer: undefined,
    });
    // §2.2: "must not assume zero is presented for LOCAL connections".
    const local = proxyV2({ address: '192.0.2.1', port: 1 });
    local[12] = 0x20;
    assert.equal(complete(parseProxyHeader(local)).peer, undefined);
    assert.equal(complete(parseProxyHeader(local)).length, 28);
  });

  it('keeps the socket address for UNSPEC and AF_UNIX', () => {
    const unspec = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x00, 0x00, 0x00])]);
    assert.equal(complete(parseProxyHeader(unspec)).peer, undefined);
    const unix = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x31, 0x00, 216]), Buffer.alloc(216)]);
    assert.deepEqual(complete(parseProxyHeader(unix)), {
      state: 'complete',
      version: 2,
      length: 232,
      peer: undefined,
    });
  });

  it('waits for the whole header when it arrives byte by byte', () => {
    for (const header of [
      proxyV2({ address: '203.0.113.5', port: 9 }),
      proxyV2({ address: '2001:db8::5', port: 9 }),
    ]) {
      assertPrefixesIncomplete(header);
      assert.equal(complete(parseProxyHeader(header)).length, header.length);
    }
  });

  it('refuses bad versions, commands, families and short address blocks as soon as it sees them', () => {
    const v2 = (b12: number, b13: number, body: number[] = []) =>
      Buffer.concat([V2_SIGNATURE, Buffer.from([b12, b13, 0, body.length, ...body])]);
    assertInvalid(v2(0x11, 0x11).subarray(0, 13), /version 1/);
    assertInvalid(v2(0x22, 0x11).subarray(0, 13), /command 2/);
    assertInvalid(v2(0x21, 0x41).subarray(0, 14), /family/);
    assertInvalid(v2(0x21, 0x13).subarray(0, 14), /family/);
    assertInvalid(v2(0x21, 0x11, [1, 2, 3, 4, 5, 6, 7, 8]), /too short/);
    assertInvalid(v2(0x21, 0x21, Array(12).fill(0)), /too short/);
  });

  it('reads the largest header there can be (64 KB of TLVs)', () => {
    const header = proxyV2({ address: '192.0.2.9', port: 7 }, undefined, Buffer.alloc(0xffff - 12));
    assert.equal(header.length, 16 + 0xffff);
    assert.equal(parseProxyHeader(header.subarray(0, header.length - 1)).state, 'incomplete');
    assert.equal(complete(parseProxyHeader(header)).peer?.address, '192.0.2.9');
  });
});

describe('not a PROXY header', () => {
  it('is refused at the first byte that differs from both signatures', () => {
    for (const text of ['VER 1 MSNP8 CVR0\r\n', '<?xml version="1.0"?>', 'GET / HTTP/1.1\r\n', 'PROXX']) {
      assertInvalid(bytes(text), /not a PROXY/);
    }
    // A TLS ClientHello (direct TLS sent without the balancer's header).
    assertInvalid(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
    assertInvalid(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01]));
    assert.equal(parseProxyHeader(bytes('P')).state, 'incomplete');
    assert.equal(parseProxyHeader(bytes('PROXY')).state, 'incomplete');
    assert.equal(parseProxyHeader(Buffer.alloc(0)).state, 'incomplete');
  });

  it('never throws on random bytes', () => {
    for (let n = 0; n < 2000; n++) {
      const length = Math.floor(Math.random() * 120);
      const prefix = [bytes('PROXY '), V2_SIGNATURE, Buffer.alloc(0)][n % 3] ?? Buffer.alloc(0);
      const random = Buffer.from(Array.from({ length }, () => Math.floor(Math.random() * 256)));
      const state = parseProxyHeader(Buffer.concat([prefix, random])).state;
      assert.ok(['incomplete', 'invalid', 'complete'].includes(state));
    }
  });
});

describe('addressMatcher (who may send a header)', () => {
  it('matches addresses, CIDR blocks and named ranges, IPv4-mapped clients as IPv4', () => {
    const is = addressMatcher(['192.0.2.10', '10.0.0.0/8', 'fd00::/8', 'loopback']);
    assert.ok(is('192.0.2.10'));
    assert.ok(is('::ffff:192.0.2.10'));
    assert.ok(is('10.200.3.4'));
    assert.ok(is('fd12::1'));
    assert.ok(is('127.0.0.1'));
    assert.ok(is('::1'));
    assert.ok(!is('192.0.2.11'));
    assert.ok(!is('11.0.0.1'));
    assert.ok(!is('2001:db8::1'));
    assert.ok(!is(undefined));
    assert.ok(!addressMatcher([])('127.0.0.1'));
  });
});
