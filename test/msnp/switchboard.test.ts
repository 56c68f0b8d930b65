import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { newSwitchboard, openSwitchboard, type Person, textMessage } from '../transcripts/msnp-session.ts';

describe('switchboard rules', () => {
  let server: TestServer;
  const people: Person[] = [];
  before(async () => {
    server = await startTestServer({ PAPILLON_SB_IDLE_SECONDS: '1' });
    for (const name of ['sam', 'tom', 'una']) {
      await server.server.core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-pw`,
      });
    }
    for (const name of ['sam', 'tom']) {
      const client = await msnpSignIn(server, {
        version: 9,
        handle: `${name}@localhost`,
        password: `${name}-pw`,
      });
      await msnpSetStatus(client, 9, 'NLN', { first: true });
      people.push({ handle: `${name}@localhost`, password: `${name}-pw`, name, client });
    }
  });
  after(async () => {
    for (const p of people) await p.client.close();
    await server.stop();
  });

  const soloSwitchboard = (owner: Person) => newSwitchboard(owner.client, owner.handle);

  it('CAL to an offline user gets 217, to an unknown or malformed handle 208', async () => {
    const sb = await soloSwitchboard(people[0] as Person);
    for (const [handle, code] of [
      ['una@localhost', '217'],
      ['nobody@localhost', '208'],
      ['not-a-handle', '208'],
    ]) {
      const trid = sb.trid();
      sb.send(`CAL ${trid} ${handle}`);
      assert.deepEqual((await sb.expect(code as string)).args, [String(trid)], handle);
    }
    await sb.close();
  });

  it('CAL of someone already in the conversation gets 215', async () => {
    const [sam, tom] = people as [Person, Person];
    const { callerSb, calleeSb } = await openSwitchboard(sam, tom, 9);
    const trid = callerSb.trid();
    callerSb.send(`CAL ${trid} ${tom.handle}`);
    assert.deepEqual((await callerSb.expect('215')).args, [String(trid)]);
    await Promise.all([callerSb.close(), calleeSb.close()]);
  });

  it('a message with no one else there is NAKed in A mode', async () => {
    const sb = await soloSwitchboard(people[0] as Person);
    const trid = sb.trid();
    sb.sendPayload('MSG', [trid, 'A'], textMessage('anyone?'));
    assert.deepEqual((await sb.expect('NAK')).args, [String(trid)]);
    await sb.close();
  });

  it('a message over 1664 bytes or with a bad ack mode closes the connection', async () => {
    for (const [mode, size] of [
      ['A', 1700],
      ['a', 10],
      ['X', 10],
    ] as const) {
      const sb = await soloSwitchboard(people[0] as Person);
      sb.sendPayload('MSG', [sb.trid(), mode], 'x'.repeat(size));
      await sb.closed();
    }
  });

  it('an idle switchboard closes; the others hear BYE … 1 first', async () => {
    const [sam, tom] = people as [Person, Person];
    const { callerSb, calleeSb } = await openSwitchboard(sam, tom, 9);
    await Promise.all([callerSb.closed(5_000), calleeSb.closed(5_000)]);
    const byes = [...callerSb.lines, ...calleeSb.lines].filter((l) => l.startsWith('BYE'));
    assert.ok(byes.length >= 1, 'someone heard the other leave');
    for (const bye of byes) assert.match(bye, / 1$/);
  });
});
