import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cidOf } from '../../src/msnp/cid.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { expectWhere, goOnline, ml, signInEmptyList } from '../support/msnp13.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';

const PASSWORD = 'pw-pw-pw-pw';
const DESKTOP = '{bbbbbbbb-0000-0000-0000-000000000001}';
const LAPTOP = '{bbbbbbbb-0000-0000-0000-000000000002}';
const VIC_GUID = '{cccccccc-0000-0000-0000-000000000001}';

async function signIn(server: TestServer, handle: string, version: number, machineGuid?: string) {
  const client = await signInEmptyList(server, {
    version,
    handle,
    password: PASSWORD,
    ...(machineGuid ? { machineGuid } : {}),
  });
  await goOnline(client, version);
  return client;
}

describe('MPOP: one account at several places, and UUN between accounts', () => {
  let server: TestServer;
  let desktop: MsnpTestClient;
  let laptop: MsnpTestClient;
  let vic: MsnpTestClient;
  let wes: MsnpTestClient;
  let kimId = '';
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    for (const name of ['kim', 'vic', 'wes', 'zed']) {
      const account = await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: PASSWORD,
        displayName: name.toUpperCase(),
      });
      if (name === 'kim') kimId = account.id;
    }
    desktop = await signIn(server, 'kim@localhost', 18, DESKTOP);
    laptop = await signIn(server, 'kim@localhost', 18, LAPTOP);
    vic = await signIn(server, 'vic@localhost', 18, VIC_GUID);
    wes = await signIn(server, 'wes@localhost', 13);
  });
  after(async () => {
    for (const client of [desktop, laptop, vic, wes]) await client?.close();
    await server.stop();
  });

  it('a contact added at one location: the other hears the ABCH notification (NOT) and the contact’s presence', async () => {
    desktop.drain();
    laptop.drain();
    const trid = String(laptop.trid());
    laptop.sendPayload('ADL', [trid], ml(['vic@localhost'], 3));
    assert.deepEqual((await laptop.expect('ADL')).args, [trid, 'OK']);
    const not = await desktop.expect('NOT');
    const xml = not.payload?.toString() ?? '';
    assert.match(xml, /^<NOTIFICATION id="0" siteid="45705" siteurl="http:\/\/contacts\.msn\.com">/, xml);
    assert.match(xml, /<TO pid="0x[0-9a-f]{8}:0x[0-9a-f]{8}" name="kim@localhost">/, xml);
    assert.match(xml, /&lt;Service&gt;ABCHInternal&lt;\/Service&gt;/, xml);
    assert.ok(xml.includes(`&lt;CID&gt;${cidOf(kimId)}&lt;/CID&gt;`), xml);
    // The desktop (which made no change) sees the new contact come online.
    const nln = await expectWhere(desktop, 'NLN', (c) => c.args[1] === '1:vic@localhost');
    assert.equal(nln.args[0], 'NLN');
  });

  it('a status set at one location is the account’s own NLN at the other', async () => {
    desktop.send(`CHG ${desktop.trid()} BSY 2788999228:48`);
    await desktop.expect('CHG');
    const own = await expectWhere(laptop, 'NLN', (c) => c.args[1] === '1:kim@localhost');
    assert.deepEqual(own.args.slice(0, 4), ['BSY', '1:kim@localhost', 'KIM', '2788999228:48']);
  });

  it('UUN to another account is relayed as UBN with the sender’s endpoint (MSNP18) and plain handle (MSNP13)', async () => {
    const payload = '<sip e="base64" fid="1" i="abc"><msg>SU5WSVRF</msg></sip>';
    const trid = String(desktop.trid());
    desktop.sendPayload('UUN', [trid, 'vic@localhost', 3], payload);
    assert.deepEqual((await desktop.expect('UUN')).args, [trid, 'OK']);
    const ubn = await vic.expect('UBN');
    assert.deepEqual(ubn.args.slice(0, 2), [`kim@localhost;${DESKTOP}`, '3']);
    assert.equal(ubn.payload?.toString(), payload);

    // Wes lets everyone see him (the default): an MSNP18 network prefix on the target is understood.
    const again = String(vic.trid());
    vic.sendPayload('UUN', [again, '1:wes@localhost', 1], 'hello');
    assert.deepEqual((await vic.expect('UUN')).args, [again, 'OK']);
    const plain = await wes.expect('UBN');
    assert.deepEqual(plain.args.slice(0, 2), ['vic@localhost', '1']);
    assert.equal(plain.payload?.toString(), 'hello');
  });

  it('UUN to one endpoint of one’s own account reaches only that endpoint', async () => {
    laptop.drain();
    desktop.drain();
    const trid = String(desktop.trid());
    desktop.sendPayload('UUN', [trid, `kim@localhost;${LAPTOP}`, 3], 'for the laptop');
    assert.deepEqual((await desktop.expect('UUN')).args, [trid, 'OK']);
    const ubn = await laptop.expect('UBN');
    assert.deepEqual(ubn.args.slice(0, 2), [`kim@localhost;${DESKTOP}`, '3']);
    assert.equal(ubn.payload?.toString(), 'for the laptop');
    await assert.rejects(desktop.expect('UBN', 300), 'the sender does not hear its own notification');
  });

  it('UUN to someone offline or blocking is 217, to no account 208', async () => {
    const offline = String(desktop.trid());
    desktop.sendPayload('UUN', [offline, 'zed@localhost', 3], 'x');
    assert.deepEqual((await desktop.expect('217')).args, [offline]);
    // Vic blocks Kim: Kim cannot tell that from offline.
    const block = String(vic.trid());
    vic.sendPayload('ADL', [block], ml(['kim@localhost'], 4));
    await vic.expect('ADL');
    const blocked = String(desktop.trid());
    desktop.sendPayload('UUN', [blocked, 'vic@localhost', 3], 'x');
    assert.deepEqual((await desktop.expect('217')).args, [blocked]);
    await assert.rejects(vic.expect('UBN', 300), 'nothing reaches the one who blocks');
    const unknown = String(desktop.trid());
    desktop.sendPayload('UUN', [unknown, 'nobody@localhost', 3], 'x');
    assert.deepEqual((await desktop.expect('208')).args, [unknown]);
  });
});
