/**
 * Issue 13 item 6 / issue 14: `legacyMd5Login`. On (the default), MSN 1.0–4.7 sign in
 * with MSNP2–7's MD5 answer; off, they are refused with 911, no MD5 form is stored for
 * new passwords, and the forms already stored are dropped when the server starts.
 * Real server restarts on one SQLite data directory; real MSNP and Passport sign-ins.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalBus } from '../../src/bus/local.ts';
import { createCertificates } from '../../src/cli/certs.ts';
import { createCore } from '../../src/core/core.ts';
import { Credentials } from '../../src/core/credentials.ts';
import { loadConfig } from '../../src/server/config.ts';
import { createLogger } from '../../src/server/logger.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { ANY_PORTS } from '../support/cli.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpLogin, msnpSignIn } from '../support/msnp-login.ts';
import type { TestServer } from '../support/papillon-server.ts';

const HANDLE = 'olga@localhost';
const PASSWORD = 'olga-Secret-pw';

/** The real server on `dataDir`, as `startTestServer` makes it but kept across restarts. */
async function serve(dataDir: string, legacyMd5Login: boolean): Promise<TestServer> {
  const config = loadConfig({
    env: {
      PAPILLON_DATA_DIR: dataDir,
      ...ANY_PORTS,
      PAPILLON_LOG_LEVEL: 'silent',
      PAPILLON_LEGACY_MD5_LOGIN: String(legacyMd5Login),
    },
  });
  const server: RunningServer = await startServer(config, createLogger('silent'));
  return {
    server,
    dataDir,
    ca: readFileSync(path.join(dataDir, 'certs', 'ca.crt')),
    port(name) {
      const listener = server.listeners.find((l) => l.name === name);
      if (!listener) throw new Error(`no listener ${name}`);
      return listener.port;
    },
    stop: () => server.stop(),
  };
}

async function md5DigestOf(server: TestServer): Promise<string | undefined> {
  const core = server.server.core;
  const account = await core.accounts.get(HANDLE);
  return (await core.store.getCredentials(account.id))?.md5Digest;
}

/** MSNP7 as MSN Messenger 4.7 signs in: the last USR's answer. */
async function md5SignIn(server: TestServer): Promise<string> {
  const client = await msnpLogin(server, { version: 7, handle: HANDLE, password: PASSWORD });
  try {
    const reply = await client.next();
    return [reply.name, ...reply.args].join(' ');
  } finally {
    await client.close();
  }
}

describe('legacyMd5Login', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-md5-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('is on by default', () => {
    assert.equal(loadConfig({ env: {} }).legacyMd5Login, true);
    assert.equal(loadConfig({ env: { PAPILLON_LEGACY_MD5_LOGIN: 'false' } }).legacyMd5Login, false);
  });

  it('on: MSNP7 signs in with the MD5 answer', async () => {
    await createCertificates({ dir: path.join(dataDir, 'certs'), domain: 'localhost' });
    const server = await serve(dataDir, true);
    try {
      await server.server.core.accounts.create({ handle: HANDLE, password: PASSWORD });
      assert.match((await md5DigestOf(server)) ?? '', /^[0-9a-f]{32}$/);
      const client = await msnpSignIn(server, { version: 7, handle: HANDLE, password: PASSWORD });
      await client.close();
    } finally {
      await server.stop();
    }
  });

  it('off: the stored form is dropped at start, MD5 logins get 911 without a salt, TWN still works', async () => {
    const server = await serve(dataDir, false);
    try {
      assert.equal(await md5DigestOf(server), '', 'dropped at start');
      // MSN Messenger 4.7: refused at `USR MD5 I` (no salt handed out), and the connection ends.
      const old = await MsnpTestClient.connect(server.port('msnp'));
      old.send('VER 1 MSNP7 MSNP6 MSNP5 CVR0');
      assert.deepEqual((await old.expect('VER')).args.slice(0, 2), ['1', 'MSNP7']);
      old.send('INF 2');
      await old.expect('INF');
      old.send(`USR 3 MD5 I ${HANDLE}`);
      const refused = await old.next();
      assert.deepEqual([refused.name, ...refused.args], ['911', '3']);
      await old.closed(2000);
      const msnp8 = await msnpSignIn(server, { version: 8, handle: HANDLE, password: PASSWORD });
      await msnp8.close();
      // A password sign-in (Passport 1.4 here) does not make the form again while off.
      assert.equal(await md5DigestOf(server), '');
      // A new password stores no MD5 form either.
      await server.server.core.accounts.changePassword(HANDLE, PASSWORD);
      assert.equal(await md5DigestOf(server), '');
    } finally {
      await server.stop();
    }
  });

  it('on again: no MD5 login until a password sign-in makes the form again', async () => {
    const server = await serve(dataDir, true);
    try {
      assert.equal(await md5DigestOf(server), '');
      assert.match(await md5SignIn(server), /^911 \d+$/);
      const msnp8 = await msnpSignIn(server, { version: 8, handle: HANDLE, password: PASSWORD });
      await msnp8.close();
      assert.match((await md5DigestOf(server)) ?? '', /^[0-9a-f]{32}$/);
      const client = await msnpSignIn(server, { version: 7, handle: HANDLE, password: PASSWORD });
      await client.close();
    } finally {
      await server.stop();
    }
  });
});

describe('Credentials without an MD5 form', () => {
  it('stores none with legacyMd5Login off, and never takes an empty answer for an empty form', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-md5-core-'));
    const store = await openSqliteStore(path.join(dir, 'papillon.sqlite'));
    await store.migrate();
    const bus = new LocalBus();
    try {
      const off = createCore(store, bus, { legacyMd5Login: false });
      const account = await off.accounts.create({ handle: 'pia@localhost', password: PASSWORD });
      const stored = await store.getCredentials(account.id);
      assert.equal(stored?.md5Digest, '');
      // With MD5 logins on, an account without the form refuses every answer, the
      // malformed ones (read as no bytes at all) included.
      const on = new Credentials(store, { legacyMd5Login: true });
      for (const answer of ['', 'zz', 'not hex at all', '0'.repeat(32)]) {
        assert.equal(await on.verifyMd5('pia@localhost', answer), undefined, JSON.stringify(answer));
      }
    } finally {
      await bus.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
