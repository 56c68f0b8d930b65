import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeXml, escapeXmlText } from '../../src/util/xml.ts';

describe('XML escaping', () => {
  it('escapes markup, and turns what XML 1.0 cannot hold into U+FFFD', () => {
    const input = `a&b<c>d"e'f\u0001g\th\ni\r\ud83d\ude00j\ud800k\udc00l\uffff`;
    assert.equal(
      escapeXmlText(input),
      `a&amp;b&lt;c&gt;d"e'f\ufffdg\th\ni\r\ud83d\ude00j\ufffdk\ufffdl\ufffd`,
    );
    assert.equal(
      escapeXml(input),
      `a&amp;b&lt;c&gt;d&quot;e&apos;f\ufffdg\th\ni\r\ud83d\ude00j\ufffdk\ufffdl\ufffd`,
    );
    assert.equal(escapeXmlText('plain text ☺'), 'plain text ☺');
  });
});
