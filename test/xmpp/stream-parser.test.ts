import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { XmlElement } from '../../src/xmpp/stream/element.ts';
import { type StreamParserOptions, XmppStreamParser } from '../../src/xmpp/stream/parser.ts';
import type { StreamErrorCondition } from '../../src/xmpp/stream/stream-errors.ts';

type Event =
  | ['open', Record<string, string>]
  | ['stanza', string]
  | ['close']
  | ['error', StreamErrorCondition, string];

interface Recorder {
  parser: XmppStreamParser;
  events: Event[];
  elements: XmlElement[];
}

function recorder(
  options?: StreamParserOptions,
  onStanza?: (el: XmlElement, p: XmppStreamParser) => void,
): Recorder {
  const events: Event[] = [];
  const elements: XmlElement[] = [];
  const parser: XmppStreamParser = new XmppStreamParser(
    {
      streamOpen: (attrs) => events.push(['open', attrs]),
      stanza: (el) => {
        events.push(['stanza', el.toString()]);
        elements.push(el);
        onStanza?.(el, parser);
      },
      streamClose: () => events.push(['close']),
      error: (condition, text) => events.push(['error', condition, text]),
    },
    options,
  );
  return { parser, events, elements };
}

function parse(chunks: Buffer[], options?: StreamParserOptions): Event[] {
  const r = recorder(options);
  for (const c of chunks) r.parser.write(c);
  return r.events;
}

function bytes(...parts: (string | Buffer)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

function byteByByte(input: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i++) out.push(input.subarray(i, i + 1));
  return out;
}

/** Same events whether fed whole, split in two at every byte boundary, or byte by byte. */
function parseEverySplit(input: Buffer, options?: StreamParserOptions): Event[] {
  const whole = parse([input], options);
  for (let i = 1; i < input.length; i++) {
    assert.deepEqual(parse([input.subarray(0, i), input.subarray(i)], options), whole, `split at byte ${i}`);
  }
  assert.deepEqual(parse(byteByByte(input), options), whole, 'byte by byte');
  return whole;
}

const HEADER =
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";
const OPEN: Event = ['open', { xmlns: 'jabber:client', to: 'localhost', version: '1.0' }];

const CLIENT_STREAM = bytes(
  "<?xml version='1.0' encoding='UTF-8'?>",
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0' xml:lang='en'>",
  '\n  ',
  "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
  ' ',
  '\n',
  "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>",
  '\r\n\t ',
  "<message to='bob@localhost' type='chat' id='m1' xml:lang='fr'>",
  '<body>Fish &amp; chips &lt;3 — café 😀 漢字</body>',
  "<cs:active xmlns:cs='http://jabber.org/protocol/chatstates'/>",
  "<html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>hi <b>there</b></p></body></html>",
  '</message>',
  ' ',
  '</stream:stream>',
);

const CLIENT_EVENTS: Event[] = [
  ['open', { xmlns: 'jabber:client', to: 'localhost', version: '1.0', 'xml:lang': 'en' }],
  ['stanza', '<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>'],
  ['stanza', '<iq xmlns="jabber:client" type="get" id="r1"><query xmlns="jabber:iq:roster"/></iq>'],
  [
    'stanza',
    '<message xmlns="jabber:client" to="bob@localhost" type="chat" id="m1" xml:lang="fr">' +
      '<body>Fish &amp; chips &lt;3 — café 😀 漢字</body>' +
      '<active xmlns="http://jabber.org/protocol/chatstates"/>' +
      '<html xmlns="http://jabber.org/protocol/xhtml-im"><body xmlns="http://www.w3.org/1999/xhtml"><p>hi <b>there</b></p></body></html>' +
      '</message>',
  ],
  ['close'],
];

/** Asserts the input ends in exactly one error (after the events in `before`), fed whole and byte by byte. */
function assertError(
  input: Buffer,
  condition: StreamErrorCondition,
  before: Event[] = [OPEN],
  options?: StreamParserOptions,
): void {
  for (const chunks of [[input], byteByByte(input)]) {
    const r = recorder(options);
    for (const c of chunks) r.parser.write(c);
    // More input, valid or not, changes nothing.
    r.parser.write(bytes('<message><body>more</body></message><presence/><!-- x --></stream:stream>'));
    assert.equal(r.events.length, before.length + 1, JSON.stringify(r.events));
    assert.deepEqual(r.events.slice(0, before.length), before);
    const last = r.events[before.length];
    assert.ok(last && last[0] === 'error', JSON.stringify(last));
    assert.equal(last[1], condition, last[2]);
  }
}

describe('XMPP stream parser: a client stream', () => {
  it('reports the header, each stanza with namespaces resolved, and the close', () => {
    assert.deepEqual(parse([CLIENT_STREAM]), CLIENT_EVENTS);
  });

  it('gives identical events however the bytes are split (every two-chunk split, byte by byte)', () => {
    assert.deepEqual(parseEverySplit(CLIENT_STREAM), CLIENT_EVENTS);
  });

  it('builds the element tree element.ts describes', () => {
    const r = recorder();
    r.parser.write(CLIENT_STREAM);
    const message = r.elements[2];
    assert.ok(message);
    assert.equal(message.name, 'message');
    assert.equal(message.xmlns, 'jabber:client');
    assert.equal(message.attrs['xml:lang'], 'fr');
    assert.equal(message.getChildText('body'), 'Fish & chips <3 — café 😀 漢字');
    assert.equal(message.getChild('body')?.xmlns, undefined, 'same namespace as the parent: no xmlns');
    assert.ok(message.getChild('active', 'http://jabber.org/protocol/chatstates'));
    const p = message.getChild('html')?.getChild('body', 'http://www.w3.org/1999/xhtml')?.getChild('p');
    assert.deepEqual(p?.children.length, 2);
    assert.equal(p?.text(), 'hi ');
  });

  it('merges CDATA with neighbouring text and allows character references', () => {
    const events = parseEverySplit(
      bytes(HEADER, '<message><body>a<![CDATA[<b> & ]]>c&#x1F600;&#233;</body></message>'),
    );
    assert.deepEqual(events, [
      OPEN,
      ['stanza', '<message xmlns="jabber:client"><body>a&lt;b&gt; &amp; c😀é</body></message>'],
    ]);
  });

  it('keeps the declaration of a prefix used by an attribute, so the element serializes alone', () => {
    const events = parse([bytes(HEADER, "<iq xmlns:e='urn:example' e:flag='1' xml:lang='de'><e:q/></iq>")]);
    assert.deepEqual(events, [
      OPEN,
      [
        'stanza',
        '<iq xmlns="jabber:client" xmlns:e="urn:example" e:flag="1" xml:lang="de"><q xmlns="urn:example"/></iq>',
      ],
    ]);
  });

  it('sets xmlns="" on an element in no namespace under one in a namespace', () => {
    const events = parse([bytes(HEADER, "<iq><x xmlns=''><y/></x></iq>")]);
    assert.deepEqual(events, [OPEN, ['stanza', '<iq xmlns="jabber:client"><x xmlns=""><y/></x></iq>']]);
  });

  it('round-trips: a parsed stanza serializes to XML that parses to the same tree', () => {
    const first = recorder();
    first.parser.write(CLIENT_STREAM);
    first.parser.write(Buffer.alloc(0));
    const extra = recorder();
    extra.parser.write(
      bytes(
        HEADER,
        "<iq xmlns:e='urn:example' e:flag='a&quot;b&apos;c' type='set'><e:q>x<![CDATA[]]>&gt;</e:q></iq>",
      ),
    );
    for (const element of [...first.elements, ...extra.elements]) {
      const again = recorder();
      again.parser.write(bytes(HEADER, element.toString()));
      assert.equal(again.elements.length, 1, JSON.stringify(again.events));
      assert.deepEqual(again.elements[0], element);
      assert.equal(again.elements[0]?.toString(), element.toString());
    }
  });

  it('accepts a byte-order mark and whitespace keepalives before and between stanzas', () => {
    const keepalives = Array.from({ length: 2000 }, () => Buffer.from(' '));
    const r = recorder({ maxStanzaBytes: 1024 });
    r.parser.write(bytes(Buffer.from([0xef, 0xbb, 0xbf]), HEADER));
    for (const k of keepalives) r.parser.write(k);
    r.parser.write(bytes('<presence/>\n'));
    for (const k of keepalives) r.parser.write(k);
    r.parser.write(bytes('<presence/>'));
    assert.deepEqual(r.events, [
      OPEN,
      ['stanza', '<presence xmlns="jabber:client"/>'],
      ['stanza', '<presence xmlns="jabber:client"/>'],
    ]);
  });

  it('reports nothing for a stream that just stops, unclosed (the idle timeout handles it)', () => {
    const input = bytes(HEADER, '<presence/><message><body>half');
    assert.deepEqual(parseEverySplit(input), [OPEN, ['stanza', '<presence xmlns="jabber:client"/>']]);
    assert.deepEqual(parse([bytes(HEADER, '<message><body>caf\xc3')]), [OPEN]);
  });

  it('ignores input after </stream:stream>', () => {
    assert.deepEqual(parse([bytes(HEADER, '</stream:stream>'), bytes('<presence/>junk')]), [OPEN, ['close']]);
  });

  it('accepts a self-closed stream element as open then close', () => {
    const events = parse([
      bytes("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'/>"),
    ]);
    assert.deepEqual(events, [['open', { xmlns: 'jabber:client' }], ['close']]);
  });
});

describe('XMPP stream parser: reset', () => {
  it('parses a second stream after reset(), XML declaration included', () => {
    const r = recorder();
    r.parser.write(
      bytes("<?xml version='1.0'?>", HEADER, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
    );
    r.parser.reset();
    r.parser.write(bytes("<?xml version='1.0'?>", HEADER, "<iq type='get' id='2'/></stream:stream>"));
    assert.deepEqual(r.events, [
      OPEN,
      ['stanza', '<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>'],
      OPEN,
      ['stanza', '<iq xmlns="jabber:client" type="get" id="2"/>'],
      ['close'],
    ]);
  });

  it('reset() from a handler discards the rest of the chunk (no STARTTLS injection)', () => {
    const r = recorder(undefined, (el, parser) => {
      if (el.name === 'starttls') parser.reset();
    });
    r.parser.write(
      bytes(
        HEADER,
        "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message><body>injected</body></message>",
      ),
    );
    r.parser.write(bytes(HEADER, '<presence/>'));
    assert.deepEqual(r.events, [
      OPEN,
      ['stanza', '<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>'],
      OPEN,
      ['stanza', '<presence xmlns="jabber:client"/>'],
    ]);
  });

  it('reset() after an error makes the parser usable again', () => {
    const r = recorder();
    r.parser.write(bytes(HEADER, '<!-- no -->'));
    r.parser.reset();
    r.parser.write(bytes(HEADER, '<presence/>'));
    assert.deepEqual(
      r.events.map((e) => e[0]),
      ['open', 'error', 'open', 'stanza'],
    );
  });

  it('stops, and lets the exception through, when a handler throws', () => {
    const r = recorder(undefined, () => {
      throw new Error('handler bug');
    });
    assert.throws(() => r.parser.write(bytes(HEADER, '<presence/><presence/>')), /handler bug/);
    r.parser.write(bytes('<presence/>'));
    assert.equal(r.events.length, 2);
  });
});

describe('XMPP stream parser: restricted XML (RFC 6120 §11.1)', () => {
  const lol = ['<!ENTITY lol "lol">'];
  for (let i = 1; i <= 9; i++) lol.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);

  it('rejects billion laughs (a DTD with nested entities) without expanding anything', () => {
    const input = bytes(
      `<?xml version="1.0"?><!DOCTYPE lolz [${lol.join('')}]>`,
      HEADER,
      '<message><body>&lol9;</body></message>',
    );
    assertError(input, 'restricted-xml', []);
  });

  it('rejects a DTD inside the stream', () => {
    assertError(
      bytes(HEADER, `<!DOCTYPE lolz [${lol.join('')}]><message><body>&lol9;</body></message>`),
      'restricted-xml',
    );
  });

  it('rejects an external entity without fetching it', () => {
    const input = bytes(
      '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
      HEADER,
      '<message><body>&x;</body></message>',
    );
    assertError(input, 'restricted-xml', []);
  });

  it('rejects a comment, at stream level, in a stanza and before the stream', () => {
    assertError(bytes(HEADER, '<!-- hello -->'), 'restricted-xml');
    assertError(bytes(HEADER, '<message><!-- hello --></message>'), 'restricted-xml');
    assertError(bytes('<!-- hello -->', HEADER), 'restricted-xml', []);
  });

  it('rejects a processing instruction', () => {
    assertError(bytes(HEADER, '<?foo bar?>'), 'restricted-xml');
    assertError(bytes(HEADER, '<message><?foo bar?></message>'), 'restricted-xml');
    assertError(bytes('<?foo bar?>', HEADER), 'restricted-xml', []);
    assertError(bytes(HEADER, "<?xml version='1.0'?>"), 'restricted-xml');
    assertError(bytes(' ', "<?xml version='1.0'?>", HEADER), 'restricted-xml', []);
  });

  it('rejects an undefined entity, in text or an attribute', () => {
    assertError(bytes(HEADER, '<message><body>&foo;</body></message>'), 'restricted-xml');
    assertError(bytes(HEADER, "<message to='&foo;'/>"), 'restricted-xml');
  });

  it('rejects an XML declaration naming another encoding', () => {
    assertError(bytes("<?xml version='1.0' encoding='ISO-8859-1'?>", HEADER), 'unsupported-encoding', []);
  });
});

describe('XMPP stream parser: limits', () => {
  it('rejects a 10 MB stanza as soon as it passes the limit, without buffering it', () => {
    const piece = Buffer.alloc(64 * 1024, 'a');
    const r = recorder();
    r.parser.write(bytes(HEADER, '<message><body>'));
    let errorAt = -1;
    const start = process.hrtime.bigint();
    for (let i = 0; i < 160; i++) {
      r.parser.write(piece);
      if (errorAt < 0 && r.events.length > 1) errorAt = i;
    }
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.deepEqual(r.events.slice(0, 1), [OPEN]);
    assert.equal(r.events.length, 2);
    assert.equal(r.events[1]?.[1], 'policy-violation');
    // With `<message><body>` the fourth 64 KiB piece passes 262144 bytes; later pieces are not parsed.
    assert.equal(errorAt, 3);
    assert.ok(ms < 2000, `${ms} ms`);
  });

  it('checks a stanza fed in one large chunk piece by piece', () => {
    const r = recorder();
    r.parser.write(
      bytes(HEADER, '<message><body>', Buffer.alloc(10 * 1024 * 1024, 'a'), '</body></message>'),
    );
    assert.deepEqual(
      r.events.map((e) => e[1]),
      [OPEN[1], 'policy-violation'],
    );
  });

  it('counts bytes, not characters, exactly at the limit whatever the split', () => {
    const stanza = (n: number) => `<message><body>${'é'.repeat(n)}</body></message>`;
    const ok = stanza(80); // 25 + 160 bytes
    const max = Buffer.byteLength(ok);
    assert.deepEqual(parseEverySplit(bytes(HEADER, ok, ok), { maxStanzaBytes: max }), [
      OPEN,
      ['stanza', `<message xmlns="jabber:client"><body>${'é'.repeat(80)}</body></message>`],
      ['stanza', `<message xmlns="jabber:client"><body>${'é'.repeat(80)}</body></message>`],
    ]);
    const tooBig = `<message><body>${'é'.repeat(80)}a</body></message>`;
    const events = parseEverySplit(bytes(HEADER, ok, tooBig), { maxStanzaBytes: max });
    assert.deepEqual(events.slice(0, 2), parse([bytes(HEADER, ok)]));
    assert.equal(events.length, 3);
    assert.equal(events[2]?.[1], 'policy-violation');
  });

  it('limits the stream header too', () => {
    assertError(
      bytes(`<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='${'a'.repeat(2000)}'>`),
      'policy-violation',
      [],
      { maxStanzaBytes: 1000 },
    );
  });

  it('limits the stream header however its bytes are split (issue 13: 6,119 bytes passed a 4,096 limit in one write)', () => {
    const max = 4096;
    const header = (length: number) => {
      const head =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='";
      return bytes(head, 'a'.repeat(length - head.length - 2), "'>");
    };
    const tooBig = header(6119);
    assert.equal(tooBig.length, 6119);
    const splits = [[tooBig], byteByByte(tooBig)];
    for (const at of [1, 100, max - 1, max, max + 1, 6000, 6118])
      splits.push([tooBig.subarray(0, at), tooBig.subarray(at)]);
    for (const chunks of splits) {
      const events = parse(chunks, { maxStanzaBytes: max });
      assert.deepEqual(
        events.map((e) => e.slice(0, 2)),
        [['error', 'policy-violation']],
        `${chunks.length} chunks, first ${chunks[0]?.length} bytes`,
      );
    }
    // Exactly at the limit is accepted, split or not.
    const atLimit = header(max);
    for (const chunks of [
      [atLimit],
      byteByByte(atLimit),
      [atLimit.subarray(0, 2000), atLimit.subarray(2000)],
    ]) {
      assert.deepEqual(
        parse(chunks, { maxStanzaBytes: max }).map((e) => e[0]),
        ['open'],
      );
    }
    // An XML declaration before the header counts with it.
    const declared = bytes("<?xml version='1.0'?>", header(max));
    assert.deepEqual(
      parse([declared], { maxStanzaBytes: max }).map((e) => e.slice(0, 2)),
      [['error', 'policy-violation']],
    );
  });

  it('rejects nesting 1000 deep', () => {
    assertError(bytes(HEADER, '<message>', '<a>'.repeat(1000)), 'policy-violation');
  });

  it('allows exactly maxDepth levels', () => {
    const ok = bytes(HEADER, '<a><b><c/></b></a>');
    assert.deepEqual(parse([ok], { maxDepth: 3 }).length, 2);
    assertError(bytes(HEADER, '<a><b><c><d/></c></b></a>'), 'policy-violation', [OPEN], { maxDepth: 3 });
  });

  it('rejects too many attributes', () => {
    const attrs = Array.from({ length: 65 }, (_, i) => ` a${i}='x'`).join('');
    assertError(bytes(HEADER, `<message${attrs}/>`), 'policy-violation');
    assert.equal(parse([bytes(HEADER, `<message${attrs}/>`)], { maxAttributes: 65 }).length, 2);
  });
});

describe('XMPP stream parser: other errors', () => {
  it('rejects a stream element in the wrong namespace', () => {
    assertError(
      bytes("<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong' to='localhost'>"),
      'invalid-namespace',
      [],
    );
    assertError(bytes("<stream xmlns='jabber:client'>"), 'invalid-namespace', []);
    assertError(bytes("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"), 'bad-format', []);
  });

  it('rejects an unbound prefix', () => {
    assertError(bytes("<stream:stream xmlns='jabber:client' to='localhost'>"), 'bad-namespace-prefix', []);
    assertError(bytes(HEADER, '<message><x:y/></message>'), 'bad-namespace-prefix');
    assertError(bytes(HEADER, "<message x:y='1'/>"), 'bad-namespace-prefix');
  });

  it('rejects malformed XML', () => {
    assertError(bytes(HEADER, '<message><body></message>'), 'not-well-formed');
    assertError(bytes(HEADER, '<message></body>'), 'not-well-formed');
    assertError(bytes(HEADER, '<presence/></foo>'), 'not-well-formed', [
      OPEN,
      ['stanza', '<presence xmlns="jabber:client"/>'],
    ]);
    assertError(bytes(HEADER, '<message to=bob/>'), 'not-well-formed');
    assertError(bytes(HEADER, "<message a='1' a='2'/>"), 'not-well-formed');
    assertError(bytes(HEADER, '<message><body>&#0;</body></message>'), 'not-well-formed');
    assertError(bytes(HEADER, '<message><body>\u0001</body></message>'), 'not-well-formed');
    assertError(bytes('junk', HEADER), 'not-well-formed', []);
  });

  it('rejects text at stream level', () => {
    assertError(bytes(HEADER, ' hello <presence/>'), 'not-well-formed');
    assertError(bytes(HEADER, '<presence/>&amp;<presence/>'), 'not-well-formed', [
      OPEN,
      ['stanza', '<presence xmlns="jabber:client"/>'],
    ]);
  });

  it('rejects invalid UTF-8', () => {
    const bad = [
      [0xff, 0xfe],
      [0xc0, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // a surrogate
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xc3, 0x28], // truncated sequence
    ];
    for (const sequence of bad) {
      const input = bytes('<message><body>caf', Buffer.from(sequence), '</body></message>');
      // The piece holding invalid bytes is rejected whole, so the header goes first.
      for (const chunks of [[input], byteByByte(input)]) {
        const events = parse([bytes(HEADER), ...chunks, bytes('<presence/>')]);
        assert.deepEqual(
          events,
          [OPEN, ['error', 'unsupported-encoding', 'invalid UTF-8']],
          JSON.stringify(sequence),
        );
      }
    }
    // UTF-16 is not UTF-8 (RFC 6120 §11.6).
    assertError(Buffer.from(`\ufeff${HEADER}`, 'utf16le'), 'unsupported-encoding', []);
  });
});
