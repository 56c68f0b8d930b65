import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectWhere } from '../support/msnp13.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { textMessage, typingMessage } from '../transcripts/msnp-session.ts';
import {
  acceptAdd,
  addContact,
  addContactAsPidgin,
  addressBook,
  answerRing,
  endpointOf,
  expectAsked,
  expectOnline,
  expectPersonalMessage,
  expectTyping,
  findMembership,
  openSwitchboard,
  presenceHandle,
  setPersonalMessage,
  signOut,
  textOf,
  type WlmSession,
  type WlmUser,
  wlmSignIn,
  wlmStart,
} from './wlm-client.ts';
import {
  deleteOim,
  fetchOim,
  mailEntries,
  roamingProfile,
  sendOim,
  updateRoamingProfile,
} from './wlm-web.ts';

/**
 * Issue 8, end to end: two Windows Live Messenger users (2009 on MSNP18, 8.5 on MSNP15)
 * do what a person does on the first day, in the order the clients do it (Pidgin's
 * MSNP18 plugin, retro-prpl msn/*.c, and WLM): sign in with SSO, fetch the address
 * book, add each other (each is asked), see each other, chat, leave an offline
 * message, and (MSNP18) sign in from a second machine.
 */
for (const version of [18, 15]) {
  describe(`Windows Live Messenger ${version === 18 ? '2009 (MSNP18)' : '8.5 (MSNP15)'}, end to end`, () => {
    let server: TestServer;
    const ann: WlmUser = { handle: `ann${version}@localhost`, password: 'ann-secret-pw', name: 'Ann Arbor' };
    const ben: WlmUser = {
      handle: `ben${version}@localhost`,
      password: 'ben-secret-pw',
      name: 'Ben & Jerry',
    };
    let a: WlmSession;
    let b: WlmSession;
    const open: Array<{ close(): Promise<void> }> = [];

    before(async () => {
      server = await startTestServer();
      for (const u of [ann, ben]) {
        await server.server.core.accounts.create({
          privacy: 'allow-all',
          handle: u.handle,
          password: u.password,
          displayName: u.name,
        });
      }
    });
    after(async () => {
      for (const c of open) await c.close().catch(() => {});
      await server.stop();
    });

    it('1. both sign in with SSO, fetch an empty address book and go online', async () => {
      a = await wlmSignIn(server, version, ann);
      b = await wlmSignIn(server, version, ben);
      open.push(a.ns, b.ns);
      for (const s of [a, b]) {
        assert.deepEqual(mailEntries(s.mailData), [], 'no offline messages yet');
        const { memberships, book } = await wlmStart(s, server);
        assert.deepEqual(book.contacts, [], 'no contacts yet');
        assert.deepEqual(
          [memberships.names('Allow'), memberships.names('Pending'), memberships.names('Reverse')],
          [[], [], []],
        );
      }
    });

    it('2. Ann adds Ben; Ben is asked, accepts and adds her back; both lists agree', async () => {
      // MSNP18 as Pidgin adds (into its "Buddies" group), MSNP15 as WLM 8.5 (no group).
      if (version >= 16) await addContactAsPidgin(a, server, ben.handle, 'Buddies');
      else await addContact(a, server, ben.handle);
      // Ben is asked: ADL 0 naming Ann on his reverse list, and Ann pending in his memberships.
      await expectAsked(b, ann.handle);
      const asked = await findMembership(b, server, 'MessengerPendingList');
      assert.deepEqual(asked.names('Pending'), [ann.handle]);
      assert.equal(asked.roles.Pending?.[0]?.name, ann.name, '“Ann Arbor has added you”');
      assert.deepEqual(asked.names('Reverse'), [ann.handle]);
      // Ann's own view: Ben in her book and allowed; Ben has not added her yet.
      assert.deepEqual(
        (await addressBook(a, server)).contacts.map((c) => [c.handle, c.name, c.groups]),
        [[ben.handle, ben.name, version >= 16 ? ['Buddies'] : []]],
      );
      assert.deepEqual((await findMembership(a, server)).names('Allow'), [ben.handle]);

      await acceptAdd(b, server, ann.handle);
      // Ann hears that Ben added her (not a question: she added him first).
      await expectAsked(a, ben.handle);
      for (const [s, other] of [
        [a, ben],
        [b, ann],
      ] as const) {
        const m = await findMembership(s, server);
        assert.deepEqual(m.names('Allow'), [other.handle], `${s.user.handle} allows ${other.handle}`);
        assert.deepEqual(m.names('Reverse'), [other.handle], `${other.handle} has ${s.user.handle}`);
        assert.deepEqual(m.names('Pending'), [], 'nobody is pending any more');
        assert.deepEqual(m.names('Block'), []);
        const book = await addressBook(s, server);
        assert.deepEqual(
          book.contacts.map((c) => [c.handle, c.name]),
          [[other.handle, other.name]],
        );
      }
    });

    it('3. each sees the other online with name and personal message', async () => {
      assert.deepEqual(await expectOnline(a, ben.handle), { status: 'NLN', name: ben.name });
      assert.deepEqual(await expectOnline(b, ann.handle), { status: 'NLN', name: ann.name });
      await setPersonalMessage(a, 'at the lake &amp; happy');
      assert.equal((await expectPersonalMessage(b, ann.handle)).psm, 'at the lake &amp; happy');
      // "Now playing", in the \0-separated form Pidgin (msn/state.c) and WLM parse.
      const song = '\\0Music\\01\\0{0} - {1}\\0Ocean Eyes\\0Billie\\0\\0';
      await setPersonalMessage(b, 'cooking', song);
      assert.deepEqual((({ psm, media }) => ({ psm, media }))(await expectPersonalMessage(a, ben.handle)), {
        psm: 'cooking',
        media: song,
      });
      // WLM then saves the message to the roaming profile; Ann still sees the song.
      await updateRoamingProfile(b, server, 'cooking');
      await new Promise((r) => setTimeout(r, 200));
      for (const ubx of a.ns.drain().filter((c) => c.name === 'UBX')) {
        assert.ok((ubx.payload?.toString() ?? '').includes(song), `now playing is kept: ${ubx.payload}`);
      }
      b.ns.send(`CHG ${b.ns.trid()} AWY ${version >= 16 ? '2788999228:48' : '1342177280'}`);
      await b.ns.expect('CHG');
      assert.deepEqual(await expectOnline(a, ben.handle, 'AWY'), { status: 'AWY', name: ben.name });
    });

    it('4. they chat in a switchboard: ring, join, typing and messages both ways', async () => {
      const sb = await openSwitchboard(a);
      open.push(sb);
      sb.send(`CAL ${sb.trid()} ${ben.handle}`);
      assert.equal((await sb.expect('CAL')).args[1], 'RINGING');
      const { sb: bsb, roster, rng } = await answerRing(b, ann.handle);
      open.push(bsb);
      assert.equal(decodeURIComponent(rng.args[5] ?? ''), ann.name, 'the ring names Ann');
      assert.ok(roster.includes(ann.handle), `Ben sees Ann in the conversation: ${roster}`);
      const joi = await sb.expect('JOI');
      assert.equal(joi.args[0], endpointOf(b));
      assert.equal(decodeURIComponent(joi.args[1] ?? ''), ben.name);

      sb.sendPayload('MSG', [sb.trid(), 'U'], typingMessage(ann.handle));
      assert.equal(await expectTyping(bsb), ann.handle);
      const trid = sb.trid();
      sb.sendPayload('MSG', [trid, 'A'], textMessage('Hi Ben, dinner at 8? ☺'));
      assert.deepEqual((await sb.expect('ACK')).args, [String(trid)]);
      const got = await bsb.expect('MSG');
      assert.deepEqual([got.args[0], decodeURIComponent(got.args[1] ?? '')], [ann.handle, ann.name]);
      assert.equal(textOf(got), 'Hi Ben, dinner at 8? ☺');

      bsb.sendPayload('MSG', [bsb.trid(), 'U'], typingMessage(ben.handle));
      assert.equal(await expectTyping(sb), ben.handle);
      bsb.sendPayload('MSG', [bsb.trid(), 'N'], textMessage('Sure — see you'));
      const back = await sb.expect('MSG');
      assert.equal(back.args[0], ben.handle);
      assert.equal(textOf(back), 'Sure — see you');
      await bsb.close();
      assert.equal((await sb.expect('BYE')).args[0], endpointOf(b));
      await sb.close();
    });

    it('5. Ben signs out; Ann leaves an OIM; Ben gets it once at his next sign-in', async () => {
      await signOut(b);
      const fln = await a.ns.expect('FLN');
      assert.deepEqual(
        fln.args.slice(0, presenceHandle(version, ben.handle).length),
        presenceHandle(version, ben.handle),
      );
      const text = 'Missed you ☹\r\nCall me & tell <all>';
      const before = Date.now();
      await sendOim(a, server, ben.handle, text);
      const after = Date.now();

      b = await wlmSignIn(server, version, ben);
      open.push(b.ns);
      const listed = mailEntries(b.mailData);
      assert.deepEqual(
        listed.map((m) => m.E),
        [ann.handle],
        `Mail-Data lists Ann’s message: ${b.mailData}`,
      );
      const id = listed[0]?.I ?? '';
      const oim = await fetchOim(b, server, id);
      assert.equal(oim.text, text);
      assert.equal(oim.from, `${ann.name} <${ann.handle}>`, 'from Ann, by name');
      assert.ok(oim.sent >= Math.floor(before / 1000) * 1000 && oim.sent <= after, 'its original time');
      assert.deepEqual(await deleteOim(b, server, id), [], 'deleted, not listed any more');
      // The roaming profile has what Ben set last time, as his client shows it.
      assert.deepEqual((({ name, psm }) => ({ name, psm }))(await roamingProfile(b, server)), {
        name: ben.name,
        psm: 'cooking',
      });
      // Back online: Ben's burst shows Ann (with her message), and Ann sees Ben again.
      const { burst, book } = await wlmStart(b, server);
      assert.deepEqual(
        book.contacts.map((c) => c.handle),
        [ann.handle],
      );
      const seen = burst.find(
        (c) =>
          (c.name === 'ILN' || c.name === 'NLN') &&
          c.args.includes(presenceHandle(version, ann.handle)[0] ?? ''),
      );
      assert.ok(seen, `the sign-in burst shows Ann online: ${burst.map((c) => c.name).join(' ')}`);
      assert.ok(seen.args.includes(encodeURIComponent(ann.name)), 'with her name');
      const psm = burst.find((c) => c.name === 'UBX' && c.args[0] === presenceHandle(version, ann.handle)[0]);
      assert.match(psm?.payload?.toString() ?? '', /<PSM>at the lake &amp; happy<\/PSM>/);
      assert.deepEqual(await expectOnline(a, ben.handle), { status: 'NLN', name: ben.name });
      await signOut(b);
      b = await wlmSignIn(server, version, ben);
      open.push(b.ns);
      assert.deepEqual(mailEntries(b.mailData), [], 'not listed at the next sign-in either');
      await wlmStart(b, server);
    });

    if (version >= 16) {
      it('6. Ben signs in from a second machine: both stay online, a conversation reaches both', async () => {
        const laptop = await wlmSignIn(server, version, ben);
        open.push(laptop.ns);
        await wlmStart(laptop, server, 'Laptop');
        // The desktop lists the laptop among the places Ben is signed in, by name.
        const places = await expectWhere(b.ns, 'UBX', (c) =>
          (c.payload?.toString() ?? '').includes('<EpName>Laptop</EpName>'),
        );
        assert.equal(places.args[0], `1:${ben.handle}`);
        assert.ok(
          (places.payload?.toString() ?? '').includes(`<EndpointData id="${b.guid}">`),
          'and the desktop',
        );
        assert.ok(b.ns.isOpen && laptop.ns.isOpen, 'the first machine stays signed in');
        assert.ok(!b.ns.lines.some((l) => l.startsWith('OUT')));

        const sb = await openSwitchboard(a);
        open.push(sb);
        sb.send(`CAL ${sb.trid()} ${ben.handle}`);
        assert.equal((await sb.expect('CAL')).args[1], 'RINGING');
        const desk = await answerRing(b, ann.handle);
        const lap = await answerRing(laptop, ann.handle);
        open.push(desk.sb, lap.sb);
        const joined = new Set<string>();
        while (!joined.has(endpointOf(b)) || !joined.has(endpointOf(laptop))) {
          joined.add((await sb.expect('JOI')).args[0] ?? '');
        }
        sb.sendPayload('MSG', [sb.trid(), 'N'], textMessage('to both of your computers'));
        assert.equal(textOf(await desk.sb.expect('MSG')), 'to both of your computers');
        assert.equal(textOf(await lap.sb.expect('MSG')), 'to both of your computers');
        // What one machine answers, the other sees as well.
        desk.sb.sendPayload('MSG', [desk.sb.trid(), 'N'], textMessage('answered on the desktop'));
        assert.equal(textOf(await sb.expect('MSG')), 'answered on the desktop');
        assert.equal(textOf(await lap.sb.expect('MSG')), 'answered on the desktop');
        for (const c of [desk.sb, lap.sb, sb]) await c.close();
      });
    }
  });
}
