import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AccountPresence } from '../../src/core/presence-model.ts';
import {
  isMsnObject,
  msnObjectChecksum,
  msnObjectField,
  parseMsnObject,
  pictureMsnObject,
  sha1dFromHex,
} from '../../src/msnp/msn-object.ts';
import { msnObjectOf } from '../../src/msnp/ns/render-presence.ts';

const sha1 = (data: Buffer | string) => createHash('sha1').update(data);

describe('MSN objects', () => {
  it('SHA1C matches the worked example of the NINA wiki "MSN Object" page', () => {
    assert.equal(
      msnObjectChecksum({
        creator: 'buddy1@hotmail.com',
        size: 24539,
        type: 3,
        location: 'TFR2C.tmp',
        friendly: 'AAA=',
        sha1d: 'trC8SlFx2sWQxZMIBAWSEnXc8oQ=',
      }),
      'U32o6bosZzluJq82eAtMpx5dIEI=',
    );
  });

  it('describes a stored picture: type 3, Location 0, SHA1D of the data, SHA1C of the fields', () => {
    const data = Buffer.from('\x89PNG\r\n\x1a\n a picture of Bob', 'latin1');
    const hex = sha1(data).digest('hex');
    const text = pictureMsnObject('bob@example.com', { sha1: hex, size: data.length });
    // Worked out independently of the module.
    const sha1d = sha1(data).digest('base64');
    const sha1c = sha1(
      `Creatorbob@example.comSize${data.length}Type3Location0FriendlyAAA=SHA1D${sha1d}`,
    ).digest('base64');
    assert.equal(
      text,
      `<msnobj Creator="bob@example.com" Size="${data.length}" Type="3" Location="0" Friendly="AAA=" SHA1D="${sha1d}" SHA1C="${sha1c}"/>`,
    );
    assert.equal(sha1dFromHex(hex), sha1d);
    const parsed = parseMsnObject(text);
    assert.ok(parsed);
    assert.deepEqual(Object.fromEntries(parsed), {
      Creator: 'bob@example.com',
      Size: String(data.length),
      Type: '3',
      Location: '0',
      Friendly: 'AAA=',
      SHA1D: sha1d,
      SHA1C: sha1c,
    });
  });

  it('parses attributes in any order, either quote, XML-escaped, with a trailing NUL', () => {
    const parsed = parseMsnObject(
      '  <msnobj SHA1D=\'abc=\' Type="3"  Creator="a&amp;b@x.y" Friendly="&#65;&#x42;" Location=\'x&lt;&gt;&quot;&apos;\'/>\0',
    );
    assert.ok(parsed);
    assert.equal(msnObjectField(parsed, 'SHA1D'), 'abc=');
    assert.equal(msnObjectField(parsed, 'sha1d'), 'abc=', 'names match whatever their case');
    assert.equal(msnObjectField(parsed, 'Creator'), 'a&b@x.y');
    assert.equal(msnObjectField(parsed, 'Friendly'), 'AB');
    assert.equal(msnObjectField(parsed, 'Location'), 'x<>"\'');
    assert.equal(msnObjectField(parsed, 'Size'), undefined);
    assert.deepEqual(Object.fromEntries(parseMsnObject('<msnobj/>') ?? []), {});
    assert.deepEqual(Object.fromEntries(parseMsnObject('<msnobj Type="3"></msnobj>') ?? []), { Type: '3' });
  });

  it('refuses what is not a descriptor', () => {
    for (const text of [
      '',
      '0',
      'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      '<msnobject Type="3"/>',
      '<msnobj Type=3/>',
      '<msnobj Type="3"',
      '<msnobj Type="3" Creator="a&b"/>',
      '<msnobj Type="3" Creator="&#xD800;"/>',
      '<msnobj Type="3" Creator="&bogus;"/>',
      `<msnobj Creator="${'a'.repeat(5000)}"/>`,
    ]) {
      assert.equal(parseMsnObject(text), undefined, JSON.stringify(text.slice(0, 40)));
    }
    assert.equal(isMsnObject('<msnobj Creator="a@b.c"/>'), true);
    assert.equal(isMsnObject('da39a3ee5e6b4b0d3255bfef95601890afd80709'), false);
  });

  it('in NLN/ILN: the MSN client’s own object first, else the stored picture’s, else none', () => {
    const base: AccountPresence = {
      status: 'online',
      statusText: '',
      currentMedia: '',
      avatar: '',
      displayName: 'Bob',
      picture: null,
      capabilities: {},
    };
    const own = '<msnobj Creator="bob@x.y" Size="1" Type="3" Location="a.tmp" Friendly="AAA=" SHA1D="x"/>';
    const picture = { sha1: sha1('data').digest('hex'), size: 4 };
    assert.equal(msnObjectOf('bob@x.y', base), undefined);
    assert.equal(msnObjectOf('bob@x.y', { ...base, avatar: own, picture }), own);
    assert.equal(msnObjectOf('bob@x.y', { ...base, picture }), pictureMsnObject('bob@x.y', picture));
    assert.equal(
      msnObjectOf('bob@x.y', { ...base, avatar: '0', picture }),
      pictureMsnObject('bob@x.y', picture),
      'something that is not an MSN object is not shown as one',
    );
  });
});
