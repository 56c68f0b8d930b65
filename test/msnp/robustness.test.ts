import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';

describe('MSNP bad input', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await server.server.core.accounts.create({
      privacy: 'allow-all',
      handle: 'robust@localhost',
      password: 'robust-pw',
    });
  });
  after(() => server.stop());
  const signIn = (version: number) =>
    msnpSignIn(server, { version, handle: 'robust@localhost', password: 'robust-pw' });

  const attacks: Array<[string, Buffer]> = [
    ['binary garbage', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a])],
    ['a lower-case command', Buffer.from('ver 1 MSNP8\r\n')],
    ['an over-long line', Buffer.alloc(20_000, 0x41)],
    ['invalid UTF-8', Buffer.from([0x56, 0x45, 0x52, 0x20, 0x31, 0x20, 0xc3, 0x28, 0x0d, 0x0a])],
    ['a command before VER', Buffer.from('USR 1 MD5 I robust@localhost\r\n')],
    ['a VER without versions', Buffer.from('VER 1\r\n')],
  ];
  for (const [what, bytes] of attacks) {
    it(`${what}: the connection closes and the server keeps serving`, async () => {
      const client = await MsnpTestClient.connect(server.port('msnp'));
      client.sendRaw(bytes);
      await client.closed();
      const ok = await signIn(8);
      await ok.close();
    });
  }

  it('VER with no version in common is answered `VER trid 0` and closed', async () => {
    const client = await MsnpTestClient.connect(server.port('msnp'));
    client.send('VER 1 MSNP99 MSNP1 CVR0');
    assert.deepEqual((await client.expect('VER')).args, ['1', '0']);
    await client.closed();
  });

  it('CVR is answered with the client’s own version as current and minimum', async () => {
    const client = await MsnpTestClient.connect(server.port('msnp'));
    client.send('VER 1 MSNP9 MSNP8 CVR0');
    assert.deepEqual((await client.expect('VER')).args, ['1', 'MSNP9', 'CVR0']);
    client.send('CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 6.0.0602 MSMSGS robust@localhost');
    const cvr = await client.expect('CVR');
    assert.deepEqual(cvr.args.slice(0, 4), ['2', '6.0.0602', '6.0.0602', '6.0.0602']);
    await client.close();
  });

  it('an unknown command gets 715 and the session goes on', async () => {
    const client = await signIn(8);
    const trid = client.trid();
    client.send(`ZZZ ${trid} hello`);
    assert.deepEqual((await client.expect('715')).args, [String(trid)]);
    client.send('PNG');
    await client.expect('QNG');
    await client.close();
  });

  it('a command of another version ends the session (ADC in MSNP8)', async () => {
    const client = await signIn(8);
    client.send(`ADC ${client.trid()} FL N=x@localhost F=x`);
    await client.expect('715');
    await client.closed();
  });

  it('a payload longer than its declared length does not desynchronise: the rest is a command', async () => {
    const client = await signIn(11);
    await msnpSetStatus(client, 11, 'NLN', { first: true });
    const xml = '<Data><PSM>hi</PSM><CurrentMedia></CurrentMedia></Data>';
    client.sendRaw(Buffer.from(`UUX ${client.trid()} ${Buffer.byteLength(xml)}\r\n${xml}PNG\r\n`));
    await client.expect('UUX');
    await client.expect('QNG');
    await client.close();
  });

  it('invalid UUX XML and an XML bomb close the session', async () => {
    for (const xml of [
      '<Data><PSM>unclosed',
      '<!DOCTYPE x [<!ENTITY a "aaaa">]><Data><PSM>&a;</PSM></Data>',
    ]) {
      const client = await signIn(11);
      client.sendPayload('UUX', [client.trid()], xml);
      await client.expect('200');
      await client.closed();
    }
  });

  it('a second login of the same account signs the first out with OUT OTH', async () => {
    const first = await signIn(9);
    const second = await signIn(12);
    assert.deepEqual((await first.expect('OUT')).args, ['OTH']);
    await first.closed();
    second.send('PNG');
    await second.expect('QNG');
    await second.close();
  });

  it('a switchboard cookie works once; a forged one gets 911', async () => {
    const client = await signIn(8);
    await msnpSetStatus(client, 8, 'NLN', { first: true });
    client.send(`XFR ${client.trid()} SB`);
    const xfr = await client.expect('XFR');
    const [host, port] = (xfr.args[2] ?? '').split(':');
    const sb = await MsnpTestClient.connect(Number(port), host);
    sb.send(`USR 1 robust@localhost ${xfr.args[4]}`);
    await sb.expect('USR');
    const again = await MsnpTestClient.connect(Number(port), host);
    again.send(`USR 1 robust@localhost ${xfr.args[4]}`);
    await again.expect('911');
    await again.closed();
    const forged = await MsnpTestClient.connect(Number(port), host);
    forged.send('ANS 1 robust@localhost 1.2.3 12345');
    await forged.expect('911');
    await forged.closed();
    await sb.close();
    await client.close();
  });

  it('XFR SB is refused (913) while appearing offline', async () => {
    const client = await signIn(8);
    await msnpSetStatus(client, 8, 'HDN', { first: true });
    const trid = client.trid();
    client.send(`XFR ${trid} SB`);
    assert.deepEqual((await client.expect('913')).args, [String(trid)]);
    await client.close();
  });
});
