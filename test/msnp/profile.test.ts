import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { sync } from '../transcripts/msnp-session.ts';

describe('MSNP names and phone numbers', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    for (const name of ['pia', 'quin']) {
      await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-pw`,
        displayName: name,
      });
    }
    const pia = await core.accounts.get('pia@localhost');
    await core.relationships.addForward(pia.id, 'quin@localhost');
    const quin = await core.accounts.get('quin@localhost');
    await core.relationships.addForward(quin.id, 'pia@localhost');
  });
  after(() => server.stop());

  it('PRP phone numbers are kept, shown back in SYN, and shown to contacts (BPR)', async () => {
    const quin = await msnpSignIn(server, { version: 9, handle: 'quin@localhost', password: 'quin-pw' });
    const trid = quin.trid();
    quin.send(`PRP ${trid} PHH +1%20555%200100`);
    const prp = await quin.expect('PRP');
    assert.equal(prp.args[0], String(trid));
    assert.deepEqual(prp.args.slice(2), ['PHH', '+1%20555%200100']);
    const quinId = (await server.server.core.accounts.get('quin@localhost')).id;
    assert.deepEqual(await server.server.core.accounts.properties(quinId), { 'phone.home': '+1 555 0100' });
    const own = await sync(9, quin);
    assert.ok(own.some((l) => l.name === 'PRP' && l.args.join(' ') === 'PHH %2B1%20555%200100'));

    const pia = await msnpSignIn(server, { version: 12, handle: 'pia@localhost', password: 'pia-pw' });
    const lines = await sync(12, pia);
    const lst = lines.findIndex((l) => l.name === 'LST' && l.args[0] === 'N=quin@localhost');
    assert.ok(lst >= 0);
    // SYN's counts cover LST/LSG only; the BPR after the last LST is read separately.
    const bpr = lines[lst + 1] ?? (await pia.expect('BPR'));
    assert.deepEqual([bpr.name, ...bpr.args], ['BPR', 'PHH', '%2B1%20555%200100']);

    const old = await msnpSignIn(server, { version: 5, handle: 'quin@localhost', password: 'quin-pw' });
    const five = await sync(5, old);
    const prps = five.filter((l) => l.name === 'PRP').map((l) => l.args.slice(2).join(' '));
    assert.deepEqual(
      prps,
      ['PHH %2B1%20555%200100', 'PHW', 'PHM', 'MOB N'],
      'MSNP5 lists every key, unset ones empty',
    );
    for (const c of [quin, pia, old]) await c.close();
  });

  it('a name change (REA, PRP MFN) is the account display name and reaches watchers', async () => {
    const pia = await msnpSignIn(server, { version: 12, handle: 'pia@localhost', password: 'pia-pw' });
    await sync(12, pia);
    await msnpSetStatus(pia, 12, 'NLN', { first: true });
    const quin = await msnpSignIn(server, { version: 7, handle: 'quin@localhost', password: 'quin-pw' });
    await sync(7, quin);
    await msnpSetStatus(quin, 7, 'NLN', { first: true });
    await pia.expect('NLN');

    quin.send(`REA ${quin.trid()} quin@localhost Quin%20the%20Brave`);
    const rea = await quin.expect('REA');
    assert.deepEqual(rea.args.slice(2), ['quin@localhost', 'Quin%20the%20Brave']);
    const nln = await pia.expect('NLN');
    assert.deepEqual(nln.args.slice(0, 3), ['NLN', 'quin@localhost', 'Quin%20the%20Brave']);
    assert.equal((await server.server.core.accounts.get('quin@localhost')).displayName, 'Quin the Brave');

    pia.send(`PRP ${pia.trid()} MFN Pia%20%E2%98%BA`);
    assert.deepEqual((await pia.expect('PRP')).args.slice(1), ['MFN', 'Pia%20%E2%98%BA']);
    const seen = await quin.expect('NLN');
    assert.equal(seen.args[2], 'Pia%20%E2%98%BA');
    assert.equal((await server.server.core.accounts.get('pia@localhost')).displayName, 'Pia ☺');

    // A name with control characters or over 129 characters is refused with 209.
    const bad = pia.trid();
    pia.send(`PRP ${bad} MFN ${'x'.repeat(200)}`);
    assert.deepEqual((await pia.expect('209')).args, [String(bad)]);
    await pia.close();
    await quin.close();
  });
});
