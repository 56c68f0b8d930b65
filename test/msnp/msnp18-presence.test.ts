import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import { expectWhere, goOnline, ml } from '../support/msnp13.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';

/** The handle as presence commands of `version` write it, and the arguments after it. */
function presenceHandle(version: number, handle: string): string[] {
  if (version >= 18) return [`1:${handle}`];
  if (version >= 14) return [handle, '1'];
  return [handle];
}

async function sendMl(client: MsnpTestClient, command: string, payload: string): Promise<string> {
  const trid = String(client.trid());
  client.sendPayload(command, [trid], payload);
  return trid;
}

for (const version of [13, 14, 15, 16, 18]) {
  describe(`MSNP${version} presence and lists`, () => {
    let server: TestServer;
    const amy = `amy${version}@localhost`;
    const bob = `bob${version}@localhost`;
    let a: MsnpTestClient;
    let b: MsnpTestClient;
    before(async () => {
      server = await startTestServer();
      for (const handle of [amy, bob]) {
        await server.server.core.accounts.create({
          privacy: 'allow-all',
          handle,
          password: 'pw-pw-pw-pw',
          displayName: handle.slice(0, 3),
        });
      }
      a = await msnpSignIn(server, { version, handle: amy, password: 'pw-pw-pw-pw' });
      b = await msnpSignIn(server, { version, handle: bob, password: 'pw-pw-pw-pw' });
      for (const client of [a, b]) {
        const trid = await sendMl(client, 'ADL', '<ml l="1"></ml>');
        assert.deepEqual(
          (await client.expect('ADL')).args,
          [trid, 'OK'],
          'the empty initial ADL is answered OK',
        );
        await goOnline(client, version);
      }
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await server.stop();
    });

    it('ADL adds a contact: ADL OK, the other side hears ADL 0 with RL, and presence follows in this version’s shape', async () => {
      const trid = await sendMl(a, 'ADL', ml([bob], 3));
      assert.deepEqual((await a.expect('ADL')).args, [trid, 'OK']);
      const notice = await b.expect('ADL');
      assert.equal(notice.args[0], '0');
      const xml = notice.payload?.toString() ?? '';
      assert.match(xml, /<d n="localhost"><c n="amy\d+" t="1" l="8" f="amy"\/><\/d>/, xml);
      // Bob is online and lets everyone see him: Amy sees him at once.
      const nln = await a.expect('NLN');
      assert.deepEqual(nln.args.slice(0, 1 + presenceHandle(version, bob).length), [
        'NLN',
        ...presenceHandle(version, bob),
      ]);
      const caps = nln.args[presenceHandle(version, bob).length + 2];
      assert.equal(caps, version >= 16 ? '2788999228:48' : '1342177280');
      const [contacts] = await Promise.all([
        server.server.core.relationships.snapshot((await server.server.core.accounts.find(amy))?.id ?? ''),
      ]);
      const view = contacts.contacts.find((c) => c.contact.handle === bob);
      assert.ok(view?.mine.forward && view.mine.allow, 'bob is on amy’s FL and AL in the core');
    });

    it('a personal message reaches the contact as UBX in this version’s shape', async () => {
      const trid = String(b.trid());
      b.sendPayload('UUX', [trid], '<Data><PSM>out &amp; about</PSM><CurrentMedia></CurrentMedia></Data>');
      assert.deepEqual((await b.expect('UUX')).args, [trid, '0']);
      const ubx = await expectWhere(a, 'UBX', (c) => (c.payload?.toString() ?? '').includes('about'));
      assert.deepEqual(ubx.args.slice(0, -1), presenceHandle(version, bob));
      assert.match(ubx.payload?.toString() ?? '', /<PSM>out &amp; about<\/PSM>/);
    });

    it('a status change does not repeat an unchanged personal message; a changed one is sent', async () => {
      const caps = version >= 16 ? '2788999228:48' : '1342177280';
      const ubxOfBob = (cmds: { name: string; args: string[] }[]) =>
        cmds.filter((c) => c.name === 'UBX' && (c.args[0] ?? '').includes(bob));
      a.drain();
      b.send(`CHG ${b.trid()} AWY ${caps}`);
      await b.expect('CHG');
      await expectWhere(a, 'NLN', (c) => c.args[0] === 'AWY');
      // The UBX would have come with the NLN; a PNG round trip shows nothing followed it.
      a.send('PNG');
      await a.expect('QNG');
      assert.deepEqual(ubxOfBob(a.drain()), [], 'no UBX: the personal message did not change');
      const trid = String(b.trid());
      b.sendPayload('UUX', [trid], '<Data><PSM>back soon</PSM><CurrentMedia></CurrentMedia></Data>');
      assert.deepEqual((await b.expect('UUX')).args, [trid, '0']);
      await expectWhere(a, 'UBX', (c) => (c.payload?.toString() ?? '').includes('back soon'));
      b.send(`CHG ${b.trid()} NLN ${caps}`);
      await b.expect('CHG');
      await expectWhere(a, 'NLN', (c) => c.args[0] === 'NLN');
    });

    it('a status change is NLN, appearing offline is FLN', async () => {
      b.send(`CHG ${b.trid()} BSY ${version >= 16 ? '2788999228:48' : '1342177280'}`);
      await b.expect('CHG');
      await expectWhere(a, 'NLN', (c) => c.args[0] === 'BSY');
      b.send(`CHG ${b.trid()} HDN ${version >= 16 ? '2788999228:48' : '1342177280'}`);
      await b.expect('CHG');
      const fln = await a.expect('FLN');
      assert.deepEqual(fln.args.slice(0, presenceHandle(version, bob).length), presenceHandle(version, bob));
      b.send(`CHG ${b.trid()} NLN ${version >= 16 ? '2788999228:48' : '1342177280'}`);
      await b.expect('CHG');
      await a.expect('NLN');
    });

    it('RML removes the contact and the other side hears RML 0', async () => {
      const trid = await sendMl(a, 'RML', ml([bob], 1));
      assert.deepEqual((await a.expect('RML')).args, [trid, 'OK']);
      const notice = await b.expect('RML');
      assert.match(notice.payload?.toString() ?? '', /<c n="amy\d+" t="1" l="8"\/>/);
      const amyId = (await server.server.core.accounts.find(amy))?.id ?? '';
      const snapshot = await server.server.core.relationships.snapshot(amyId);
      assert.equal(snapshot.contacts.find((c) => c.contact.handle === bob)?.mine.forward, false);
    });

    it('FQY answers t="1" for an account and 208 with the address for an unknown one', async () => {
      const trid = await sendMl(a, 'FQY', ml([bob, `nobody${version}@localhost`]));
      const fqy = await a.expect('FQY');
      assert.equal(fqy.args[0], trid);
      assert.match(fqy.payload?.toString() ?? '', /<c n="bob\d+" t="1"\/>/);
      const unknown = await a.expect('208');
      assert.equal(unknown.args[0], trid);
      assert.match(unknown.payload?.toString() ?? '', /<c n="nobody\d+"\/>/);
    });

    it('ADL of an unknown account is 208; RL bits or bad XML end the connection with 241', async () => {
      const trid = await sendMl(a, 'ADL', ml([`ghost${version}@localhost`], 1));
      assert.deepEqual((await a.expect('208')).args, [trid]);
      for (const payload of [
        ml([bob], 8),
        '<ml><d n="localhost"><c n="bob"',
        '<ml><d n="localhost"></d></ml>',
      ]) {
        const c = await msnpSignIn(server, { version, handle: bob, password: 'pw-pw-pw-pw' }).catch(
          () => undefined,
        );
        if (!c) continue;
        const t = await sendMl(c, 'ADL', payload);
        const code = payload.includes('</d>') && !payload.includes('<c') ? '240' : '241';
        assert.deepEqual((await c.expect(code)).args, [t], payload);
        await c.closed();
      }
    });
  });
}
