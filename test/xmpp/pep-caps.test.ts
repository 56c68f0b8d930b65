/** XEP-0115 §5 verification strings: the server caches a client's features only under a `ver` it checked. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verificationHash } from '../../src/xmpp/modules/caps.ts';
import { xml } from '../../src/xmpp/stream/element.ts';

const DISCO = 'http://jabber.org/protocol/disco#info';
const features = (...vars: string[]) => vars.map((v) => xml('feature', { var: v }));
const BASE = [
  'http://jabber.org/protocol/caps',
  'http://jabber.org/protocol/disco#info',
  'http://jabber.org/protocol/disco#items',
  'http://jabber.org/protocol/muc',
];

describe('XEP-0115 caps verification', () => {
  it('hashes the §5.2 simple example', () => {
    const query = xml(
      'query',
      { xmlns: DISCO },
      xml('identity', { category: 'client', type: 'pc', name: 'Exodus 0.9.1' }),
      ...features(...[...BASE].reverse()),
    );
    assert.equal(verificationHash(query, 'sha-1'), 'QgayPKawpkPSDYmwT/WM94uAlu0=');
  });

  it('hashes the §5.3 complex example (languages, an extended form)', () => {
    const field = (name: string, ...values: string[]) =>
      xml('field', { var: name }, ...values.map((v) => xml('value', {}, v)));
    const query = xml(
      'query',
      { xmlns: DISCO },
      xml('identity', { 'xml:lang': 'en', category: 'client', name: 'Psi 0.11', type: 'pc' }),
      xml('identity', { 'xml:lang': 'el', category: 'client', name: 'Ψ 0.11', type: 'pc' }),
      ...features(...BASE),
      xml(
        'x',
        { xmlns: 'jabber:x:data', type: 'result' },
        xml(
          'field',
          { var: 'FORM_TYPE', type: 'hidden' },
          xml('value', {}, 'urn:xmpp:dataforms:softwareinfo'),
        ),
        field('ip_version', 'ipv6', 'ipv4'),
        field('os', 'Mac'),
        field('os_version', '10.5.1'),
        field('software', 'Psi'),
        field('software_version', '0.11'),
      ),
    );
    assert.equal(verificationHash(query, 'sha-1'), 'q07IKJEyjvHSyhy//CH0CxmKi8w=');
  });

  it('refuses answers §5.4 says not to trust, and unknown hashes', () => {
    const duplicate = xml('query', { xmlns: DISCO }, ...features(...BASE, BASE[0] as string));
    assert.equal(verificationHash(duplicate, 'sha-1'), undefined);
    assert.equal(verificationHash(xml('query', { xmlns: DISCO }), 'md4'), undefined);
  });
});
