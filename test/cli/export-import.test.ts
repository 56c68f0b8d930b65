import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hash as argon2Hash } from '@node-rs/argon2';
import pg from 'pg';
import { ARGON2_OPTIONS } from '../../src/core/credentials.ts';
import { deriveScramKeys } from '../../src/core/scram.ts';
import { applyAccounts } from '../../src/portable/apply.ts';
import { collectAccounts } from '../../src/portable/collect.ts';
import type { PortableAccount } from '../../src/portable/model.ts';
import { readXep0227, writeXep0227 } from '../../src/portable/xep0227.ts';
import { runCli } from '../support/cli.ts';
import { coreFixture } from '../support/core-fixture.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';

const pgUrl = process.env.PAPILLON_TEST_DATABASE_URL;
const PASSWORD = { alice: 'alice passphrase 1', bob: 'bob passphrase 22', carol: 'carol passphrase 333' };

async function roster(client: TestXmppClient) {
  const result = await client.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  return result
    .getChild('query')
    ?.getChildren('item')
    .map((i) => ({
      jid: i.attrs.jid as string,
      subscription: i.attrs.subscription as string,
      groups: i.getChildren('group').map((g) => g.text()),
    }));
}

async function offlineMessage(client: TestXmppClient) {
  await client.xmpp.send(xml('presence'));
  return client.waitFor((el) => el.is('message') && el.getChild('body') !== undefined, 5000);
}

/** A throwaway PostgreSQL schema, as a database URL every pooled connection uses. */
async function freshPostgres(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `papillon_import_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema "${schema}"`);
  await admin.end();
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: scoped.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop schema if exists "${schema}" cascade`);
      await c.end();
    },
  };
}

describe('papillon export / import (XEP-0227)', () => {
  it('export from SQLite, import into a fresh PostgreSQL server: accounts, lists, offline messages', {
    skip: pgUrl ? false : 'PAPILLON_TEST_DATABASE_URL not set',
  }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-export-'));
    const file = path.join(dir, 'export.xml');
    const source = await startTestServer();
    const { core } = source.server;
    try {
      const alice = await core.accounts.create({
        handle: 'alice@localhost',
        password: PASSWORD.alice,
        displayName: 'Alice A.',
      });
      const bob = await core.accounts.create({ handle: 'bob@localhost', password: PASSWORD.bob });
      const carol = await core.accounts.create({ handle: 'carol@localhost', password: PASSWORD.carol });
      await core.relationships.addForward(alice.id, bob.handle, 'Bobby');
      await core.relationships.addForward(bob.id, alice.handle);
      await core.relationships.allow(bob.id, alice.handle);
      await core.relationships.allow(alice.id, bob.handle);
      const { group } = await core.relationships.createGroup(alice.id, 'Friends');
      await core.relationships.addToGroup(alice.id, bob.id, group.id);
      await core.relationships.block(alice.id, carol.handle);
      await core.offline.save(bob.id, alice.handle, { kind: 'chat', text: 'hello while you were away' });

      const exported = await runCli(['export', file], { PAPILLON_DATA_DIR: source.dataDir });
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stderr, /exported 3 accounts, \d+ contacts, 1 offline messages/);
      assert.equal(statSync(file).mode & 0o777, 0o600);
    } finally {
      await source.stop();
    }
    const text = readFileSync(file, 'utf8');
    assert.match(text, /<server-data xmlns="urn:xmpp:pie:0"><host jid="localhost">/);
    assert.match(text, /mechanism="SCRAM-SHA-1"/);
    assert.match(text, /<delay xmlns="urn:xmpp:delay"/);

    const target = await freshPostgres(pgUrl ?? '');
    let server: TestServer | undefined;
    try {
      const imported = await runCli(['import', file], {
        PAPILLON_DATABASE_URL: target.url,
        PAPILLON_DATA_DIR: dir,
      });
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(imported.stdout, /imported 3 accounts, \d+ contacts, 1 offline messages/);
      // Re-running it changes nothing and says so.
      const again = await runCli(['import', file], {
        PAPILLON_DATABASE_URL: target.url,
        PAPILLON_DATA_DIR: dir,
      });
      assert.match(again.stdout, /imported 0 accounts[\s\S]*left 3 existing accounts/);

      server = await startTestServer({ PAPILLON_DATABASE_URL: target.url });
      // argon2 (RST over HTTPS, MSNP12), MD5 (MSNP7) and SCRAM (XMPP) all came across.
      const msn = await msnpSignIn(server, { version: 12, handle: 'bob@localhost', password: PASSWORD.bob });
      await msn.close();
      const old = await msnpSignIn(server, {
        version: 7,
        handle: 'carol@localhost',
        password: PASSWORD.carol,
      });
      await old.close();

      const alice = await connectXmpp(server, {
        username: 'alice',
        password: PASSWORD.alice,
        mechanism: 'SCRAM-SHA-1',
      });
      try {
        const items = await roster(alice);
        assert.deepEqual(
          items?.find((i) => i.jid === 'bob@localhost'),
          { jid: 'bob@localhost', subscription: 'both', groups: ['Friends'] },
        );
        const blocked = await alice.iq(
          xml('iq', { type: 'get' }, xml('blocklist', { xmlns: 'urn:xmpp:blocking' })),
        );
        assert.deepEqual(
          blocked
            .getChild('blocklist')
            ?.getChildren('item')
            .map((i) => i.attrs.jid),
          ['carol@localhost'],
        );
      } finally {
        await alice.stop();
      }
      const bob = await connectXmpp(server, { username: 'bob', password: PASSWORD.bob });
      try {
        const message = await offlineMessage(bob);
        assert.equal(message.getChildText('body'), 'hello while you were away');
        assert.match(String(message.attrs.from), /^alice@localhost/);
        assert.ok(message.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp);
      } finally {
        await bob.stop();
      }
    } finally {
      await server?.stop();
      await target.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('imports a Prosody XEP-0227 file: SCRAM-only accounts sign in over XMPP, and PLAIN upgrades them for MSN', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-prosody-'));
    const file = path.join(dir, 'prosody.xml');
    const scram = (password: string) => deriveScramKeys('sha1', password, randomBytes(16), 4096);
    const juliet = scram('juliet secret 1');
    const romeo = scram('romeo secret 22');
    const credentials = (k: ReturnType<typeof scram>) =>
      `<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'>` +
      `<server-key>${k.serverKey}</server-key><stored-key>${k.storedKey}</stored-key>` +
      `<iter-count>${k.iterations}</iter-count><salt>${k.salt}</salt></scram-credentials>`;
    // As Prosody's mod_storage_xep0227 writes it (XEP-0227 §3 examples).
    writeFileSync(
      file,
      `<?xml version='1.0' encoding='UTF-8'?>
<server-data xmlns='urn:xmpp:pie:0'>
  <host jid='localhost'>
    <user name='juliet'>
      ${credentials(juliet)}
      <query xmlns='jabber:iq:roster'>
        <item jid='romeo@localhost' name='Romeo' subscription='both'><group>Montagues</group></item>
        <item jid='nurse@capulet.example' subscription='to'/>
      </query>
      <vCard xmlns='vcard-temp'><FN>Juliet Capulet</FN><NICKNAME>Jules</NICKNAME></vCard>
      <offline-messages>
        <message xmlns='jabber:client' from='romeo@localhost/orchard' to='juliet@localhost' type='chat'>
          <body>Wherefore art thou?</body>
          <delay xmlns='urn:xmpp:delay' from='localhost' stamp='2010-07-10T23:08:25Z'/>
        </message>
      </offline-messages>
    </user>
    <user name='romeo'>
      ${credentials(romeo)}
      <query xmlns='jabber:iq:roster'>
        <item jid='juliet@localhost' name='Juliet' subscription='both'/>
      </query>
    </user>
  </host>
</server-data>
`,
    );
    let server: TestServer | undefined;
    try {
      // The test server keeps its own data directory (its certificates: PLAIN needs TLS).
      const env = {
        PAPILLON_DATABASE_URL: `sqlite:${path.join(dir, 'papillon.sqlite')}`,
        PAPILLON_DATA_DIR: dir,
      };
      const imported = await runCli(['import', file], env);
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(imported.stdout, /imported 2 accounts, 2 contacts, 1 offline messages/);
      assert.match(imported.stdout, /skipped 1 contacts that are no account on this server/);

      server = await startTestServer({ PAPILLON_DATABASE_URL: env.PAPILLON_DATABASE_URL });
      const juliet1 = await connectXmpp(server, {
        username: 'juliet',
        password: 'juliet secret 1',
        mechanism: 'SCRAM-SHA-1',
      });
      try {
        const items = await roster(juliet1);
        assert.deepEqual(
          items?.find((i) => i.jid === 'romeo@localhost'),
          {
            jid: 'romeo@localhost',
            subscription: 'both',
            groups: ['Montagues'],
          },
        );
        const message = await offlineMessage(juliet1);
        assert.equal(message.getChildText('body'), 'Wherefore art thou?');
        assert.equal(message.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp, '2010-07-10T23:08:25.000Z');
      } finally {
        await juliet1.stop();
      }
      // Forms Prosody never had: a plaintext sign-in is checked against the SCRAM keys
      // (a wrong password fails) and stores them; MSN Messenger 4.x's MD5 works from then on.
      await assert.rejects(
        connectXmpp(server, { username: 'romeo', password: 'wrong', mechanism: 'PLAIN' }),
        /not-authorized/,
      );
      await assert.rejects(
        msnpSignIn(server, { version: 7, handle: 'romeo@localhost', password: 'romeo secret 22' }),
      );
      const romeo1 = await connectXmpp(server, {
        username: 'romeo',
        password: 'romeo secret 22',
        mechanism: 'PLAIN',
      });
      await romeo1.stop();
      const old = await msnpSignIn(server, {
        version: 7,
        handle: 'romeo@localhost',
        password: 'romeo secret 22',
      });
      await old.close();
      // Juliet's first plaintext sign-in is MSN Messenger 7.5's (RST over HTTPS).
      const msn = await msnpSignIn(server, {
        version: 12,
        handle: 'juliet@localhost',
        password: 'juliet secret 1',
      });
      await msn.close();
      const juliet2 = await connectXmpp(server, {
        username: 'juliet',
        password: 'juliet secret 1',
        mechanism: 'SCRAM-SHA-1',
      });
      await juliet2.stop();
    } finally {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads an older Papillon export's argon2 hash: dropped beside SCRAM-SHA-256 keys, alone checked once then replaced; exports carry none", async () => {
    const fx = await coreFixture();
    try {
      const account = (handle: string, credentials: PortableAccount['credentials']): PortableAccount => ({
        handle,
        credentials,
        groups: [],
        contacts: [],
        offline: [],
      });
      // As an older Papillon wrote them: argon2 with every other form, or argon2 alone.
      const older = writeXep0227(
        [
          account('full@localhost', {
            argon2: await argon2Hash('full password', ARGON2_OPTIONS),
            scramSha1: deriveScramKeys('sha1', 'full password'),
            scramSha256: deriveScramKeys('sha256', 'full password'),
          }),
          account('only@localhost', { argon2: await argon2Hash('only password', ARGON2_OPTIONS) }),
        ],
        'localhost',
      );
      assert.equal(older.match(/<argon2>/g)?.length, 2);
      const report = await applyAccounts(fx.core.store, readXep0227(older, 'older.xml'));
      assert.deepEqual(report.created, ['full@localhost', 'only@localhost']);
      const { store, credentials } = fx.core;
      const formsOf = async (handle: string) =>
        store.getCredentials((await store.getAccountByHandle(handle))?.id ?? '');

      assert.equal((await formsOf('full@localhost'))?.argon2, '');
      assert.ok(await credentials.verifyPassword('full@localhost', 'full password'));
      assert.equal(await credentials.verifyPassword('full@localhost', 'wrong'), undefined);

      assert.notEqual((await formsOf('only@localhost'))?.argon2, '');
      assert.equal(await credentials.verifyPassword('only@localhost', 'wrong'), undefined);
      assert.ok(await credentials.verifyPassword('only@localhost', 'only password'));
      const upgraded = await formsOf('only@localhost');
      assert.equal(upgraded?.argon2, '');
      const keys = upgraded?.scramSha256;
      assert.ok(keys);
      assert.deepEqual(
        deriveScramKeys('sha256', 'only password', Buffer.from(keys.salt, 'base64'), keys.iterations),
        keys,
      );

      // Today's accounts and the upgraded ones: an export holds no argon2 hash.
      await fx.core.accounts.create({ handle: 'new@localhost', password: 'new password' });
      const exported = writeXep0227(await collectAccounts(store), 'localhost');
      assert.match(exported, /new@localhost|name="new"/);
      assert.doesNotMatch(exported, /<argon2>/);
    } finally {
      await fx.close();
    }
  });

  it('says what is wrong with a file that is not XEP-0227', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-badimport-'));
    const env = { PAPILLON_DATA_DIR: path.join(dir, 'data') };
    writeFileSync(path.join(dir, 'a.xml'), '<server-data xmlns="urn:xmpp:pie:0"><host');
    const broken = await runCli(['import', path.join(dir, 'a.xml')], env);
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /a\.xml is not well-formed XML/);
    writeFileSync(path.join(dir, 'b.xml'), '<roster/>');
    const other = await runCli(['import', path.join(dir, 'b.xml')], env);
    assert.match(other.stderr, /b\.xml is not an XEP-0227 file/);
    rmSync(dir, { recursive: true, force: true });
  });
});
