import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { sync } from '../transcripts/msnp-session.ts';

/** §8.7 GTC: the "ask me when someone adds me" preference outlives the session. */
describe('GTC is kept with the account', () => {
  let server: TestServer;
  const handle = 'gina@localhost';
  const password = 'gina-secret';

  before(async () => {
    server = await startTestServer();
    await server.server.core.accounts.create({ privacy: 'allow-all', handle, password });
  });
  after(() => server.stop());

  const gtcAtSignIn = async (version: number) => {
    const client = await msnpSignIn(server, { version, handle, password });
    try {
      const lines = await sync(version, client);
      const gtc = lines.find((l) => l.name === 'GTC');
      // MSNP2–9: `GTC trid version mode`; MSNP10–12: `GTC mode`.
      return gtc?.args[gtc.args.length - 1];
    } finally {
      await client.close();
    }
  };

  it('answers A by default, and N in every later SYN once set with GTC N', async () => {
    assert.equal(await gtcAtSignIn(8), 'A');
    const client = await msnpSignIn(server, { version: 8, handle, password });
    const trid = client.trid();
    client.send(`GTC ${trid} N`);
    const reply = await client.expect('GTC');
    assert.equal(reply.args[0], String(trid));
    assert.equal(reply.args[reply.args.length - 1], 'N');
    await client.close();
    assert.equal(await gtcAtSignIn(8), 'N');
    assert.equal(await gtcAtSignIn(12), 'N');
    const back = await msnpSignIn(server, { version: 12, handle, password });
    back.send(`GTC ${back.trid()} A`);
    await back.expect('GTC');
    await back.close();
    assert.equal(await gtcAtSignIn(10), 'A');
  });

  it('refuses a mode other than A or N', async () => {
    const client = await msnpSignIn(server, { version: 12, handle, password });
    try {
      const trid = client.trid();
      client.send(`GTC ${trid} X`);
      const error = await client.expect('201');
      assert.equal(error.args[0], String(trid));
    } finally {
      await client.close();
    }
  });
});
