import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { sync } from '../transcripts/msnp-session.ts';

/**
 * What msn-pecan (MSNP12) showed: re-sending the privacy mode already set, and the
 * pending list (docs/msnp-reference.md §8.1) with its acknowledgement `ADC RL` + `REM PL`.
 */
describe('MSNP10–12 privacy echo and pending list', () => {
  let server: TestServer;
  const password = 'pending-secret';
  let n = 0;
  const account = async (name: string) => {
    n++;
    const handle = `${name}${n}@localhost`;
    await server.server.core.accounts.create({
      privacy: 'allow-all',
      handle,
      password,
      displayName: `${name} ${n}`,
    });
    return handle;
  };
  const signIn = (version: number, handle: string) => msnpSignIn(server, { version, handle, password });
  /** The connection is still up: a PNG gets its QNG. */
  const alive = async (client: MsnpTestClient) => {
    client.send('PNG');
    assert.equal((await client.expect('QNG')).name, 'QNG');
  };
  const lstFor = (lines: MsnpCommand[], handle: string) =>
    lines.find((l) => l.name === 'LST' && l.args[0] === `N=${handle}`);
  /** §8.2 MSNP12 `LST N= [F= C=] bits network [groups]`: the bits. */
  const bitsOf = (lst: MsnpCommand | undefined) => Number(lst?.args.find((a) => /^\d+$/.test(a)));

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('echoes BLP for the mode already set instead of 218, and stays connected', async () => {
    const handle = await account('blp');
    for (const version of [8, 12]) {
      const client = await signIn(version, handle);
      const lines = await sync(version, client);
      const mode = lines.find((l) => l.name === 'BLP')?.args.at(-1);
      assert.ok(mode === 'AL' || mode === 'BL');
      client.drain();
      const trid = client.trid();
      client.send(`BLP ${trid} ${mode}`);
      const echo = await client.next();
      assert.equal(echo.name, 'BLP', `not an error: ${echo.name} ${echo.args.join(' ')}`);
      assert.equal(echo.args[0], String(trid));
      assert.equal(echo.args.at(-1), mode);
      // MSNP2–9 replies carry the list version (§8.7).
      assert.equal(echo.args.length, version >= 10 ? 2 : 3);
      await alive(client);
      await client.close();
    }
  });

  it('lists an add made while offline on PL until the client acknowledges it', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    const a = await signIn(12, alice);
    await sync(12, a);
    a.send(`ADC ${a.trid()} FL N=${bob} F=${bob}`);
    await a.expect('ADC');
    await a.close();

    // Bob was offline: his list shows Alice on RL and PL (8 + 16), not yet on AL/BL.
    const b = await signIn(12, bob);
    assert.equal(bitsOf(lstFor(await sync(12, b), alice)), 8 | 16);
    // What msn-pecan sends for every PL contact once the list is in (pn_contactlist.c).
    const adc = b.trid();
    b.send(`ADC ${adc} RL N=${alice}`);
    assert.deepEqual((await b.expect('ADC')).args, [String(adc), 'RL', `N=${alice}`]);
    const rem = b.trid();
    b.send(`REM ${rem} PL ${alice}`);
    assert.deepEqual((await b.expect('REM')).args, [String(rem), 'PL', alice]);
    await alive(b);
    await b.close();

    // Acknowledged: the next sign-in (any MSNP10+ client) asks no more.
    const again = await signIn(11, bob);
    assert.equal(bitsOf(lstFor(await sync(11, again), alice)), 8);
    await again.close();

    // Removed and added again: a new question.
    const a2 = await signIn(12, alice);
    const lines = await sync(12, a2);
    const guid = lstFor(lines, bob)
      ?.args.find((x) => x.startsWith('C='))
      ?.slice(2);
    a2.send(`REM ${a2.trid()} FL ${guid}`);
    await a2.expect('REM');
    a2.send(`ADC ${a2.trid()} FL N=${bob} F=${bob}`);
    await a2.expect('ADC');
    await a2.close();
    const b3 = await signIn(12, bob);
    assert.equal(bitsOf(lstFor(await sync(12, b3), alice)), 8 | 16);
    await b3.close();
  });

  it('drops PL once the user allows or blocks the adder', async () => {
    const [carol, dave] = [await account('carol'), await account('dave')];
    await server.server.core.relationships.addForward(
      (await server.server.core.accounts.find(carol))?.id ?? '',
      dave,
    );
    const d = await signIn(12, dave);
    assert.equal(bitsOf(lstFor(await sync(12, d), carol)), 8 | 16);
    d.send(`ADC ${d.trid()} AL N=${carol}`);
    await d.expect('ADC');
    await d.close();
    const again = await signIn(12, dave);
    assert.equal(bitsOf(lstFor(await sync(12, again), carol)), 8 | 2);
    await again.close();
  });

  it('echoes REM PL and ADC RL with nothing pending (msn-pecan treats errors as fatal)', async () => {
    const [erin, frank] = [await account('erin'), await account('frank')];
    const e = await signIn(12, erin);
    await sync(12, e);
    e.send(`REM ${e.trid()} PL ${frank}`);
    assert.deepEqual((await e.expect('REM')).args.slice(1), ['PL', frank]);
    e.send(`ADC ${e.trid()} RL N=${frank}`);
    assert.deepEqual((await e.expect('ADC')).args.slice(1), ['RL', `N=${frank}`]);
    await alive(e);
    // ADC PL and REM RL stay refused with a disconnect (§8.4, §8.5).
    e.send(`ADC ${e.trid()} PL N=${frank}`);
    await e.expect('201');
    await e.closed();
  });

  it('has no PL before MSNP10: REM PL ends an MSNP9 session', async () => {
    const gina = await account('gina');
    const g = await signIn(9, gina);
    await sync(9, g);
    g.send(`REM ${g.trid()} PL someone@localhost`);
    await g.expect('201');
    await g.closed();
  });
});
