import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { personalMessageXml } from '../../src/msnp/ns/personal-message.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpLogin, msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import {
  addContact,
  expectAddedBy,
  newSwitchboard,
  openSwitchboard,
  type Person,
  signIn,
  sync,
  textMessage,
  typingMessage,
} from './msnp-session.ts';

// The versions the issue names; each runs the whole scripted session against one server.
const VERSIONS = [2, 5, 7, 8, 9, 10, 11, 12];

describe('MSNP transcripts', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  for (const version of VERSIONS) {
    describe(`MSNP${version}`, () => {
      const people: Person[] = [];
      const h = (name: string) => `${name}${version}@localhost`;
      before(async () => {
        for (const [name, display] of [
          ['alice', 'Alice A'],
          ['bob', 'Bob B'],
          ['carol', 'Carol C'],
        ] as const) {
          await server.server.core.accounts.create({
            privacy: 'allow-all',
            handle: h(name),
            password: `${name}-secret`,
            displayName: display,
          });
        }
      });
      after(async () => {
        for (const p of people) await p.client.close();
      });

      it('signs in, syncs an empty list, goes online', async () => {
        const alice = await signIn(server, version, h('alice'), 'alice-secret', 'Alice A');
        const bob = await signIn(server, version, h('bob'), 'bob-secret', 'Bob B');
        people.push(alice, bob);
        for (const p of [alice, bob]) {
          const lines = await sync(version, p.client);
          assert.equal(
            lines.filter((l) => l.name === 'LST' && l.args.length > 5).length,
            0,
            'no contacts yet',
          );
          const blp = lines.find((l) => l.name === 'BLP');
          assert.ok(blp?.args.includes('AL'), 'privacy defaults to allow-all (BLP AL)');
          const ilns = await msnpSetStatus(p.client, version, 'NLN', { first: true });
          assert.deepEqual(ilns, []);
        }
      });

      it('adding a contact tells them, and both see each other online', async () => {
        const [alice, bob] = people as [Person, Person];
        await addContact(version, alice, bob);
        await expectAddedBy(version, bob.client, alice.handle);
        const nln = await alice.client.expect('NLN');
        assert.deepEqual(nln.args.slice(0, 3), ['NLN', bob.handle, 'Bob%20B']);
        await addContact(version, bob, alice);
        await expectAddedBy(version, alice.client, bob.handle);
        const back = await bob.client.expect('NLN');
        assert.deepEqual(back.args.slice(0, 2), ['NLN', alice.handle]);
        // The same relationship the XMPP side reads: a mutual subscription.
        const core = server.server.core;
        const [a, b] = [await core.accounts.get(alice.handle), await core.accounts.get(bob.handle)];
        assert.equal((await core.relationships.contact(a.id, b.id)).derived.subscription, 'both');
      });

      it('the synced list shows forward and reverse list membership', async () => {
        const [alice, bob] = people as [Person, Person];
        const lines = await sync(version, alice.client);
        const lst = lines.filter((l) => l.name === 'LST');
        if (version <= 7) {
          const fl = lst.find((l) => l.args[1] === 'FL' && l.args[5] === bob.handle);
          const rl = lst.find((l) => l.args[1] === 'RL' && l.args[5] === bob.handle);
          assert.ok(fl && rl, `bob on FL and RL: ${lst.map((l) => l.args.join(' ')).join(' | ')}`);
          assert.equal(fl.args[6], 'Bob%20B');
        } else if (version <= 9) {
          const row = lst.find((l) => l.args[0] === bob.handle);
          assert.ok(row);
          assert.equal(row.args[2], '9', 'FL (1) + RL (8)');
          assert.equal(row.args[3], '0', 'in the default group');
        } else {
          const row = lst.find((l) => l.args[0] === `N=${bob.handle}`);
          assert.ok(row);
          assert.equal(row.args[1], 'F=Bob%20B');
          assert.match(row.args[2] ?? '', /^C=[0-9a-f-]{36}$/);
          // FL (1) + RL (8) + PL (16): Alice's client has not acknowledged Bob's add (§8.1).
          assert.equal(row.args[3], '25');
          if (version >= 12) assert.equal(row.args[4], '1', 'network id: Messenger');
        }
      });

      it('status and personal message changes reach the watcher', async () => {
        const [alice, bob] = people as [Person, Person];
        await msnpSetStatus(bob.client, version, 'BSY');
        const busy = await alice.client.expect('NLN');
        assert.deepEqual(busy.args.slice(0, 2), ['BSY', bob.handle]);
        if (version >= 11) {
          bob.client.sendPayload(
            'UUX',
            [bob.client.trid()],
            personalMessageXml({ statusText: 'at work & busy', currentMedia: '' }),
          );
          const uux = await bob.client.expect('UUX');
          assert.equal(uux.args[1], '0');
          const ubx = await alice.client.expect('UBX');
          assert.equal(ubx.args[0], bob.handle);
          assert.match(ubx.payload?.toString() ?? '', /<PSM>at work &amp; busy<\/PSM>/);
        }
      });

      it('chat in a switchboard both ways, with typing; a third person joins', async () => {
        const [alice, bob] = people as [Person, Person];
        const { callerSb, calleeSb, sessionId } = await openSwitchboard(alice, bob, version);

        callerSb.sendPayload('MSG', [callerSb.trid(), 'U'], typingMessage(alice.handle));
        const typing = await calleeSb.expect('MSG');
        assert.deepEqual(typing.args.slice(0, 2), [alice.handle, 'Alice%20A']);
        assert.match(typing.payload?.toString() ?? '', /TypingUser: alice/);

        const msgTrid = callerSb.trid();
        const hello = textMessage('Hello Bob! ☺ é');
        callerSb.sendPayload('MSG', [msgTrid, 'A'], hello);
        const got = await calleeSb.expect('MSG');
        assert.equal(got.payload?.toString(), hello, 'relayed byte for byte');
        assert.deepEqual((await callerSb.expect('ACK')).args, [String(msgTrid)]);

        calleeSb.sendPayload('MSG', [calleeSb.trid(), 'N'], textMessage('Hi Alice'));
        assert.match((await callerSb.expect('MSG')).payload?.toString() ?? '', /Hi Alice$/);

        const carol = await signIn(server, version, h('carol'), 'carol-secret', 'Carol C');
        people.push(carol);
        await sync(version, carol.client);
        await msnpSetStatus(carol.client, version, 'NLN', { first: true });
        calleeSb.send(`CAL ${calleeSb.trid()} ${carol.handle}`);
        assert.equal((await calleeSb.expect('CAL')).args[1], 'RINGING');
        const rng = await carol.client.expect('RNG');
        assert.equal(rng.args[0], sessionId);
        const [host, port] = (rng.args[1] ?? '').split(':');
        const carolSb = await MsnpTestClient.connect(Number(port), host);
        const ans = carolSb.trid();
        carolSb.send(`ANS ${ans} ${carol.handle} ${rng.args[3]} ${sessionId}`);
        const iro1 = await carolSb.expect('IRO');
        const iro2 = await carolSb.expect('IRO');
        assert.deepEqual(
          [iro1.args[3], iro2.args[3]].sort(),
          [alice.handle, bob.handle].sort(),
          'IRO lists everyone already there',
        );
        assert.equal(iro1.args[2], '2');
        await carolSb.expect('ANS');
        assert.equal((await callerSb.expect('JOI')).args[0], carol.handle);
        assert.equal((await calleeSb.expect('JOI')).args[0], carol.handle);

        const nudge = 'MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n';
        carolSb.sendPayload('MSG', [carolSb.trid(), 'U'], nudge);
        assert.equal((await callerSb.expect('MSG')).payload?.toString(), nudge);
        assert.equal((await calleeSb.expect('MSG')).payload?.toString(), nudge);

        carolSb.send('OUT');
        assert.deepEqual((await callerSb.expect('BYE')).args, [carol.handle]);
        assert.deepEqual((await calleeSb.expect('BYE')).args, [carol.handle]);
        await Promise.all([callerSb.close(), calleeSb.close(), carolSb.close()]);
      });

      it('P2P data is relayed byte-exact (binary payload with a D or U mode)', async () => {
        const [alice, bob] = people as [Person, Person];
        const { callerSb, calleeSb } = await openSwitchboard(alice, bob, version);
        const header = Buffer.from(
          `MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: ${bob.handle}\r\n\r\n`,
        );
        const binary = Buffer.alloc(48 + 100 + 4);
        for (let i = 0; i < binary.length; i++) binary[i] = (i * 37) & 0xff;
        const payload = Buffer.concat([header, binary]);
        callerSb.sendPayload('MSG', [callerSb.trid(), version >= 9 ? 'D' : 'U'], payload);
        const got = await calleeSb.expect('MSG');
        assert.ok(got.payload?.equals(payload), 'P2P bytes unchanged');
        await Promise.all([callerSb.close(), calleeSb.close()]);
      });

      it('blocking: the blocked contact sees the blocker go offline and cannot call them', async () => {
        const [alice, bob] = people as [Person, Person];
        const trid = bob.client.trid();
        bob.client.send(
          version >= 10
            ? `ADC ${trid} BL N=${alice.handle}`
            : `ADD ${trid} BL ${alice.handle} ${alice.handle}`,
        );
        await bob.client.expect(version >= 10 ? 'ADC' : 'ADD');
        assert.deepEqual((await alice.client.expect('FLN')).args, [bob.handle]);
        const sb = await newSwitchboard(alice.client, alice.handle);
        const cal = sb.trid();
        sb.send(`CAL ${cal} ${bob.handle}`);
        assert.deepEqual((await sb.expect('217')).args, [String(cal)]);
        await sb.close();
        // Unblock: alice sees bob again.
        const un = bob.client.trid();
        bob.client.send(`REM ${un} BL ${alice.handle}`);
        await bob.client.expect('REM');
        assert.deepEqual((await alice.client.expect('NLN')).args.slice(0, 2), ['BSY', bob.handle]);
      });

      it('removing a contact takes them off the other side’s reverse list', async () => {
        const [alice, bob] = people as [Person, Person];
        const trid = alice.client.trid();
        const id = version >= 10 ? `C=${bob.handle}` : bob.handle;
        if (version >= 10) {
          const lines = await sync(version, alice.client);
          const guid = lines
            .find((l) => l.name === 'LST' && l.args[0] === `N=${bob.handle}`)
            ?.args[2]?.slice(2);
          alice.client.send(`REM ${trid} FL ${guid}`);
        } else {
          alice.client.send(`REM ${trid} FL ${id}`);
        }
        const rem = await alice.client.expect('REM');
        assert.equal(rem.args[1], 'FL');
        const notice = await bob.client.expect('REM');
        assert.deepEqual(notice.args.slice(0, 2), ['0', 'RL']);
        assert.equal(notice.args.at(-1), alice.handle);
      });

      it('a wrong password gets 911 and the connection closes', async () => {
        const client = await msnpLogin(server, { version, handle: h('alice'), password: 'wrong' });
        await client.expect('911');
        await client.closed();
      });

      if (version >= 6) {
        it('a wrong QRY answer gets 540 and the connection closes', async () => {
          const client = await msnpSignIn(server, { version, handle: h('carol'), password: 'carol-secret' });
          const trid = client.trid();
          client.send(`CHG ${trid} NLN${version >= 8 ? ' 0' : ''}`);
          await client.expect('CHG');
          await client.expect('CHL');
          const qry = client.trid();
          client.sendPayload('QRY', [qry, 'msmsgs@msnmsgr.com'], '0123456789abcdef0123456789abcdef');
          assert.deepEqual((await client.expect('540')).args, [String(qry)]);
          await client.closed();
        });
      }
    });
  }
});
