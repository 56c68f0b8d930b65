import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { expectWhere, goOnline, signInEmptyList } from '../support/msnp13.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { sync, textMessage } from '../transcripts/msnp-session.ts';

const PASSWORD = 'pw-pw-pw-pw';
const SAM_GUID = '{11111111-2222-3333-4444-555555555555}';
const UNA_DESKTOP = '{aaaaaaaa-0000-0000-0000-000000000001}';
const UNA_LAPTOP = '{aaaaaaaa-0000-0000-0000-000000000002}';

/** `XFR SB` on an MSNP18 connection and `USR handle;{guid} cookie` at the switchboard. */
async function openSb18(ns: MsnpTestClient, handle: string, guid: string): Promise<MsnpTestClient> {
  ns.send(`XFR ${ns.trid()} SB`);
  const xfr = await ns.expect('XFR');
  assert.deepEqual(xfr.args.slice(3), ['CKI', xfr.args[4] ?? '', 'U', 'messenger.msn.com', '1']);
  const [host, port] = (xfr.args[2] ?? '').split(':');
  const sb = await MsnpTestClient.connect(Number(port), host);
  sb.send(`USR ${sb.trid()} ${handle};${guid} ${xfr.args[4]}`);
  const usr = await sb.expect('USR');
  assert.deepEqual(usr.args.slice(1, 3), ['OK', `${handle};${guid}`]);
  return sb;
}

/** Answers an RNG: `ANS trid who cookie sessid`; returns the switchboard, its IRO lines and the session id. */
async function answer(
  ns: MsnpTestClient,
  who: string,
): Promise<{ sb: MsnpTestClient; iro: MsnpCommand[]; rng: MsnpCommand }> {
  const rng = await ns.expect('RNG');
  const [host, port] = (rng.args[1] ?? '').split(':');
  const sb = await MsnpTestClient.connect(Number(port), host);
  const trid = sb.trid();
  sb.send(`ANS ${trid} ${who} ${rng.args[3]} ${rng.args[0]}`);
  const iro: MsnpCommand[] = [];
  for (;;) {
    const next = await sb.next();
    if (next.name === 'ANS') break;
    iro.push(next);
  }
  return { sb, iro, rng };
}

describe('MSNP18 switchboards, MPOP and other protocols', () => {
  let server: TestServer;
  let sam: MsnpTestClient;
  let tom: MsnpTestClient;
  let desktop: MsnpTestClient;
  let laptop: MsnpTestClient;
  let xan: TestXmppClient;
  /** An MSNP18 endpoint with its machine GUID and the empty initial ADL, before its first CHG. */
  const signIn18 = (handle: string, machineGuid: string) =>
    signInEmptyList(server, { version: 18, handle, password: PASSWORD, machineGuid });
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    for (const name of ['sam', 'tom', 'una', 'xan']) {
      await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: PASSWORD,
        displayName: name.toUpperCase(),
      });
    }
    sam = await signIn18('sam@localhost', SAM_GUID);
    await goOnline(sam, 18);
    tom = await msnpSignIn(server, { version: 12, handle: 'tom@localhost', password: PASSWORD });
    await sync(12, tom);
    await msnpSetStatus(tom, 12, 'NLN', { first: true, clientId: '1342177280' });
  });
  after(async () => {
    await xan?.stop();
    for (const c of [sam, tom, desktop, laptop]) await c?.close();
    await server.stop();
  });

  it('an MSNP18 user and an MSNP12 user add each other and see each other’s presence', async () => {
    sam.sendPayload('ADL', [sam.trid()], '<ml><d n="localhost"><c n="tom" l="3" t="1"/></d></ml>');
    await sam.expect('ADL');
    const added = await tom.expect('ADC');
    assert.deepEqual(added.args.slice(0, 3), ['0', 'RL', 'N=sam@localhost']);
    const nln = await sam.expect('NLN');
    assert.deepEqual(nln.args.slice(0, 4), ['NLN', '1:tom@localhost', 'TOM', '1342177280:0']);
    tom.send(`ADC ${tom.trid()} FL N=sam@localhost F=sam`);
    await tom.expect('ADC');
    const seen = await tom.expect('NLN');
    assert.deepEqual(seen.args.slice(0, 4), ['NLN', 'sam@localhost', 'SAM', '2788999228']);
    const added18 = await sam.expect('ADL');
    assert.match(added18.payload?.toString() ?? '', /<c n="tom" t="1" l="8" f="TOM"\/>/);
  });

  it('an MSNP18 user and an MSNP12 user chat both ways in a switchboard', async () => {
    const sb = await openSb18(sam, 'sam@localhost', SAM_GUID);
    const trid = sb.trid();
    sb.send(`CAL ${trid} tom@localhost`);
    const cal = await sb.expect('CAL');
    assert.equal(cal.args[1], 'RINGING');
    const { sb: tomSb, iro, rng } = await answer(tom, 'tom@localhost');
    assert.equal(rng.args.length, 6, 'MSNP12 RNG has no MSNP13+ tail');
    assert.deepEqual(
      iro.map((c) => c.args.slice(1)),
      [['1', '1', 'sam@localhost', 'SAM', '2788999228']],
      'MSNP12 sees one plain participant',
    );
    const joi = await sb.expect('JOI');
    assert.deepEqual(joi.args, ['tom@localhost', 'TOM', '1342177280:0']);
    sb.sendPayload('MSG', [sb.trid(), 'A'], textMessage('hi from WLM 2009'));
    await sb.expect('ACK');
    assert.match((await tomSb.expect('MSG')).payload?.toString() ?? '', /hi from WLM 2009$/);
    tomSb.sendPayload('MSG', [tomSb.trid(), 'N'], textMessage('hi from MSN 7.5'));
    const back = await sb.expect('MSG');
    assert.deepEqual(back.args.slice(0, 2), ['tom@localhost', 'TOM']);
    await tomSb.close();
    assert.deepEqual((await sb.expect('BYE')).args, ['tom@localhost']);
    await sb.close();
  });

  it('two MSNP18 endpoints of one account stay signed in and know each other', async () => {
    desktop = await signIn18('una@localhost', UNA_DESKTOP);
    await goOnline(desktop, 18);
    laptop = await signIn18('una@localhost', UNA_LAPTOP);
    const burst = await goOnline(laptop, 18);
    const own = burst.find((c) => c.name === 'UBX' && c.args[0] === '1:una@localhost');
    const ownXml = own?.payload?.toString() ?? '';
    assert.match(ownXml, new RegExp(`<EndpointData id="${UNA_DESKTOP}">`), ownXml);
    assert.match(ownXml, new RegExp(`<EndpointData id="${UNA_LAPTOP}">`), ownXml);
    // The desktop hears of the laptop too, and neither was signed out.
    const ubx = await expectWhere(desktop, 'UBX', (c) => (c.payload?.toString() ?? '').includes(UNA_LAPTOP));
    assert.equal(ubx.args[0], '1:una@localhost');
    const name = String(desktop.trid());
    desktop.sendPayload(
      'UUX',
      [name],
      '<PrivateEndpointData><EpName>Desktop</EpName><Idle>false</Idle><ClientType>1</ClientType><State>NLN</State></PrivateEndpointData>',
    );
    await desktop.expect('UUX');
    const named = await expectWhere(laptop, 'UBX', (c) =>
      (c.payload?.toString() ?? '').includes('<EpName>Desktop</EpName>'),
    );
    assert.match(
      named.payload?.toString() ?? '',
      new RegExp(`<PrivateEndpointData id="${UNA_DESKTOP}"><EpName>Desktop</EpName>`),
    );
    assert.ok(desktop.isOpen && laptop.isOpen);
    assert.ok(
      !desktop.lines.some((l) => l.startsWith('OUT')) && !laptop.lines.some((l) => l.startsWith('OUT')),
    );
  });

  it('a message to the account rings every endpoint; both join and both get it', async () => {
    const core = server.server.core;
    const samId = (await core.accounts.find('sam@localhost'))?.id ?? '';
    await core.relationships.addForward(samId, 'una@localhost');
    const sb = await openSb18(sam, 'sam@localhost', SAM_GUID);
    sb.send(`CAL ${sb.trid()} una@localhost`);
    await sb.expect('CAL');
    const first = await answer(desktop, `una@localhost;${UNA_DESKTOP}`);
    const second = await answer(laptop, `una@localhost;${UNA_LAPTOP}`);
    assert.deepEqual(
      first.iro.map((c) => c.args[3]),
      [`sam@localhost;${SAM_GUID}`, 'sam@localhost'],
      'MSNP18 IRO names the endpoint, then the account',
    );
    assert.ok(
      second.iro.some((c) => c.args[3] === `una@localhost;${UNA_DESKTOP}`),
      'the laptop sees the desktop',
    );
    const jois = [await sb.expect('JOI'), await sb.expect('JOI'), await sb.expect('JOI')].map(
      (c) => c.args[0],
    );
    assert.deepEqual(jois, [`una@localhost;${UNA_DESKTOP}`, 'una@localhost', `una@localhost;${UNA_LAPTOP}`]);
    sb.sendPayload('MSG', [sb.trid(), 'U'], textMessage('to all of you'));
    for (const endpoint of [first.sb, second.sb]) {
      assert.match((await endpoint.expect('MSG')).payload?.toString() ?? '', /to all of you$/);
    }
    // What the desktop sends, the laptop sees too (the same conversation on every endpoint).
    first.sb.sendPayload('MSG', [first.sb.trid(), 'U'], textMessage('from the desktop'));
    assert.match((await second.sb.expect('MSG')).payload?.toString() ?? '', /from the desktop$/);
    assert.match((await sb.expect('MSG')).payload?.toString() ?? '', /from the desktop$/);
    await first.sb.close();
    assert.deepEqual((await sb.expect('BYE')).args, [`una@localhost;${UNA_DESKTOP}`]);
    for (const c of [sb, second.sb]) await c.close();
  });

  it('WLM 2009 calling its own handle rings its other endpoints, not itself', async () => {
    const sb = await openSb18(desktop, 'una@localhost', UNA_DESKTOP);
    const trid = sb.trid();
    sb.send(`CAL ${trid} una@localhost`);
    assert.equal((await sb.expect('CAL')).args[1], 'RINGING');
    assert.equal((await sb.expect('JOI')).args[0], `una@localhost;${UNA_DESKTOP}`);
    const other = await answer(laptop, `una@localhost;${UNA_LAPTOP}`);
    assert.equal(other.iro[0]?.args[3], `una@localhost;${UNA_DESKTOP}`);
    assert.deepEqual((await sb.expect('JOI')).args[0], `una@localhost;${UNA_LAPTOP}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(!desktop.drain().some((c) => c.name === 'RNG'), 'the calling endpoint is not rung');
    for (const c of [sb, other.sb]) await c.close();
  });

  it('UUN 4 goawyplzthxbye to one of its own endpoints signs only that one out', async () => {
    const third = '{aaaaaaaa-0000-0000-0000-000000000003}';
    const extra = await msnpSignIn(server, {
      version: 18,
      handle: 'una@localhost',
      password: PASSWORD,
      machineGuid: third,
    });
    await goOnline(extra, 18);
    const trid = String(desktop.trid());
    desktop.sendPayload('UUN', [trid, `una@localhost;${third}`, 4], 'goawyplzthxbye');
    assert.deepEqual((await desktop.expect('UUN')).args, [trid, 'OK']);
    assert.deepEqual((await extra.expect('OUT')).args, ['OTH']);
    await extra.closed();
    assert.ok(desktop.isOpen && laptop.isOpen);
  });

  it('signing in again from the same machine replaces that endpoint only; MSNP15 signs every endpoint out', async () => {
    const again = await msnpSignIn(server, {
      version: 18,
      handle: 'una@localhost',
      password: PASSWORD,
      machineGuid: UNA_LAPTOP,
    });
    assert.deepEqual((await laptop.expect('OUT')).args, ['OTH']);
    await laptop.closed();
    assert.ok(desktop.isOpen, 'the other machine stays signed in');
    const old = await msnpSignIn(server, { version: 15, handle: 'una@localhost', password: PASSWORD });
    for (const c of [desktop, again]) {
      assert.deepEqual((await c.expect('OUT')).args, ['OTH']);
      await c.closed();
    }
    await old.close();
  });

  it('an MSNP18 user and an XMPP user chat both ways', async () => {
    const core = server.server.core;
    const xanId = (await core.accounts.find('xan@localhost'))?.id ?? '';
    const samId = (await core.accounts.find('sam@localhost'))?.id ?? '';
    await core.relationships.addForward(xanId, 'sam@localhost');
    await core.relationships.addForward(samId, 'xan@localhost');
    xan = await connectXmpp(server, { username: 'xan', password: PASSWORD, resource: 'gajim' });
    await xan.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    await xan.xmpp.send(xml('presence'));
    await xan.waitFor((el) => el.is('presence') && el.attrs.from?.startsWith('sam@localhost/') === true);
    await xan.xmpp.send(xml('message', { to: 'sam@localhost', type: 'chat' }, xml('body', {}, 'hello WLM')));
    const { sb, iro } = await answer(sam, `sam@localhost;${SAM_GUID}`);
    assert.deepEqual(
      iro.map((c) => c.args[3]),
      ['xan@localhost'],
    );
    assert.match((await sb.expect('MSG')).payload?.toString() ?? '', /hello WLM$/);
    sb.sendPayload('MSG', [sb.trid(), 'A'], textMessage('hello Gajim'));
    await sb.expect('ACK');
    await xan.waitFor((el) => el.is('message') && el.getChildText('body') === 'hello Gajim');
    await sb.close();
  });
});
