import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { is, RawXmppClient, targetOf } from '../support/xmpp-raw.ts';

// The operator controls the running server from the command line, as with prosodyctl:
// the CLI reaches it through a 0600 Unix socket in the data directory.

describe('papillon CLI against the running server (admin socket)', () => {
  let server: TestServer;
  let env: Record<string, string>;
  const open: Array<{ destroy?: () => void; close?: () => Promise<void> }> = [];

  const account = async (name: string) => {
    await server.server.core.accounts.create({
      handle: `${name}@localhost`,
      password: `${name}-secret-pw`,
      displayName: name,
    });
  };
  /**
   * The account signed in with MSNP `version` (MSN Messenger 7.5: 12; WLM 2009: 18, which
   * would sign a single-point MSNP12 session of the same account out) and an XMPP client.
   */
  const signInBoth = async (name: string, version: number) => {
    await account(name);
    const handle = `${name}@localhost`;
    const password = `${name}-secret-pw`;
    const msnp = await msnpSignIn(server, { version, handle, password });
    const xmpp = await RawXmppClient.login(targetOf(server), {
      username: name,
      password,
      resource: 'laptop',
    });
    open.push(msnp, xmpp);
    return { msnp, xmpp };
  };
  const outReason = async (client: MsnpTestClient) => {
    for (;;) {
      const cmd = await client.next(5000);
      if (cmd.name === 'OUT') {
        await client.closed();
        return cmd.args[0];
      }
    }
  };
  const cli = (args: string[], input = '') => runCli(args, env, input);

  before(async () => {
    server = await startTestServer();
    env = { PAPILLON_DATA_DIR: server.dataDir };
  });
  after(async () => {
    for (const c of open) c.destroy?.();
    await server.stop();
  });

  it('serves the admin socket in the data directory, readable by its owner only', () => {
    const stat = statSync(path.join(server.dataDir, 'papillon.sock'));
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o777, 0o600);
  });

  for (const version of [12, 18]) {
    it(`\`account delete\` of an account signed in with MSNP${version} and XMPP signs both out at once`, async () => {
      const name = `dora${version}`;
      const { msnp, xmpp } = await signInBoth(name, version);
      const result = await cli(['account', 'delete', `${name}@localhost`]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `deleted ${name}@localhost; signed out of 2 session(s)\n`);
      assert.equal(await outReason(msnp), 'OTH');
      const error = await xmpp.expectStreamError();
      assert.equal(error.condition, 'not-authorized');
      assert.equal(await server.server.core.accounts.find(`${name}@localhost`), undefined);
    });

    it(`\`account passwd\` signs MSNP${version} and XMPP out; the new password works, the old does not`, async () => {
      const name = `paul${version}`;
      const handle = `${name}@localhost`;
      const { msnp, xmpp } = await signInBoth(name, version);
      const result = await cli(['account', 'passwd', handle, '--password-stdin'], 'a brand new passphrase');
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        new RegExp(`password changed for ${name}@localhost; signed out of 2 session\\(s\\)`),
      );
      assert.equal(await outReason(msnp), 'SSD');
      assert.equal((await xmpp.expectStreamError()).condition, 'reset');
      open.push(await msnpSignIn(server, { version, handle, password: 'a brand new passphrase' }));
      await assert.rejects(msnpSignIn(server, { version, handle, password: `${name}-secret-pw` }));
    });
  }

  it('`status` and `sessions` show who is online, per protocol and MSNP version', async () => {
    await signInBoth('sue', 12);
    await signInBoth('sam', 18);
    const status = await cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^Papillon \d+\.\d+\.\d+, up /m);
    assert.match(status.stdout, /store: +sqlite/);
    assert.match(status.stdout, /bus: +local/);
    assert.match(status.stdout, /MSNP12: [1-9]/);
    assert.match(status.stdout, /MSNP18: [1-9]/);
    const json = JSON.parse((await cli(['status', '--json'])).stdout) as {
      sessions: { msnp: number; xmpp: number };
    };
    assert.ok(json.sessions.msnp >= 2);
    assert.ok(json.sessions.xmpp >= 1);

    const table = await cli(['sessions']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^HANDLE +PROTOCOL +VERSION\/RESOURCE +ADDRESS +SINCE$/m);
    assert.match(table.stdout, /^sam@localhost +MSNP +MSNP18 +127\.0\.0\.1 +\d{4}-\d\d-\d\d /m);
    assert.match(table.stdout, /^sue@localhost +XMPP +laptop +127\.0\.0\.1 /m);
    const rows = JSON.parse((await cli(['sessions', '--json'])).stdout) as Array<Record<string, string>>;
    const sue = rows.filter((r) => r.handle === 'sue@localhost');
    assert.deepEqual(sue.map((r) => `${r.protocol} ${r.detail}`).sort(), ['msnp MSNP12', 'xmpp laptop']);
    assert.ok(sue.every((r) => r.address === '127.0.0.1' && !Number.isNaN(Date.parse(r.since ?? ''))));
  });

  it('`kick` ends every session of the account; it may sign in again', async () => {
    const { msnp, xmpp } = await signInBoth('kim', 18);
    const result = await cli(['kick', 'kim@localhost']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /signed kim@localhost out of 2 sessions/);
    assert.equal(await outReason(msnp), 'OTH');
    assert.equal((await xmpp.expectStreamError()).condition, 'policy-violation');
    const sessions = await cli(['sessions', '--json']);
    assert.ok(
      !(JSON.parse(sessions.stdout) as Array<{ handle: string }>).some((r) => r.handle === 'kim@localhost'),
    );
    const unknown = await cli(['kick', 'nobody@localhost']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no account named nobody@localhost/);
  });

  it('`broadcast` reaches XMPP users as a headline from the server and MSN users as an alert', async () => {
    const { msnp: msnp18, xmpp } = await signInBoth('bea', 18);
    msnp18.drain();
    const result = await cli(['broadcast', 'Back up at 5 & <done>']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^sent to \d+ accounts? \(\d+ sessions?\)/);
    const headline = await xmpp.expect(is.message((m) => m.attrs.type === 'headline'));
    assert.equal(headline.attrs.from, 'localhost');
    assert.equal(headline.getChildText('body'), 'Back up at 5 & <done>');
    for (;;) {
      const cmd = await msnp18.next(3000);
      if (cmd.name !== 'NOT') continue;
      assert.match(cmd.payload?.toString() ?? '', /<TEXT>Back up at 5 &amp; &lt;done&gt;<\/TEXT>/);
      break;
    }
  });
});

describe('papillon shutdown --in', () => {
  it("warns with MSN's maintenance message and an XMPP headline, then stops (OUT SSD, system-shutdown)", async () => {
    const server = await startTestServer();
    const env = { PAPILLON_DATA_DIR: server.dataDir };
    try {
      await server.server.core.accounts.create({
        handle: 'max@localhost',
        password: 'max-secret-pw',
        displayName: 'max',
      });
      const msnp = await msnpSignIn(server, {
        version: 12,
        handle: 'max@localhost',
        password: 'max-secret-pw',
      });
      const xmpp = await RawXmppClient.login(targetOf(server), {
        username: 'max',
        password: 'max-secret-pw',
        resource: 'pc',
      });
      const result = await runCli(['shutdown', '--in', '2s', 'Moving to a new machine'], env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /the server stops in 2s; warned 2 sessions/);

      let system: string | undefined;
      for (;;) {
        const cmd = await msnp.next(3000);
        if (cmd.name === 'MSG' && cmd.args[0] === 'Hotmail') {
          const payload = cmd.payload?.toString() ?? '';
          if (payload.includes('application/x-msmsgssystemmessage')) system = payload;
        }
        if (cmd.name === 'OUT') {
          assert.equal(cmd.args[0], 'SSD');
          break;
        }
      }
      assert.match(system ?? '', /Type: 1\r\nArg1: 1\r\n/);
      const headline = await xmpp.expect(is.message((m) => m.attrs.type === 'headline'));
      assert.match(
        headline.getChildText('body') ?? '',
        /stops for maintenance in 1 minute\. Moving to a new machine/,
      );
      assert.equal((await xmpp.expectStreamError()).condition, 'system-shutdown');
      const after = await runCli(['status'], env);
      assert.equal(after.code, 1);
      assert.equal(after.stderr, `papillon: no server is running on ${server.dataDir}\n`);
    } finally {
      await server.stop();
    }
  });
});
