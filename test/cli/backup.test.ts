import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ANY_PORTS, runCli, startServe } from '../support/cli.ts';

const isHttpListening = (l: Record<string, unknown>) => l.listener === 'http' && typeof l.port === 'number';

async function handles(env: Record<string, string>): Promise<string[]> {
  const list = await runCli(['account', 'list', '--json'], env);
  assert.equal(list.code, 0, list.stderr);
  return (JSON.parse(list.stdout) as Array<{ handle: string }>).map((r) => r.handle);
}

async function addAccount(env: Record<string, string>, handle: string): Promise<void> {
  const add = await runCli(['account', 'add', handle, '--password-stdin'], env, 'a good passphrase');
  assert.equal(add.code, 0, add.stderr);
}

describe('papillon backup / restore (SQLite)', () => {
  it('backs up while the server runs; restore refuses until it stops, then brings the backup back', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-backup-'));
    const env = { PAPILLON_DATA_DIR: path.join(dir, 'data'), ...ANY_PORTS };
    // (serve does not create a missing data directory before locking it, yet: reported.)
    mkdirSync(env.PAPILLON_DATA_DIR, { mode: 0o700 });
    const backup = path.join(dir, 'papillon-backup.sqlite');
    const server = await startServe(env, isHttpListening);
    try {
      await addAccount(env, 'alice@localhost');
      await addAccount(env, 'bob@localhost');
      const done = await runCli(['backup', backup], env);
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /backed up .*papillon\.sqlite to .*papillon-backup\.sqlite/);
      // Password hashes inside: only the operator may read it.
      assert.equal(statSync(backup).mode & 0o777, 0o600);

      const again = await runCli(['backup', backup], env);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /exists; choose another file or add --force/);

      // Changed after the backup: the restore takes it away.
      await addAccount(env, 'carol@localhost');
      const refused = await runCli(['restore', backup], env);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, new RegExp(`a Papillon server \\(pid ${server.child.pid}\\) is running`));
      assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(await handles(env), ['alice@localhost', 'bob@localhost', 'carol@localhost']);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }

    const restored = await runCli(['restore', backup], env);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /kept as .*before-restore/);
    assert.deepEqual(await handles(env), ['alice@localhost', 'bob@localhost']);

    // The restored database serves: the server starts on it.
    const second = await startServe(env, isHttpListening);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });

  it('refuses a file that is no Papillon backup, and says why', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-backup-'));
    const env = { PAPILLON_DATA_DIR: path.join(dir, 'data') };
    const bad = await runCli(['restore', path.join(ROOT_README())], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /is not a Papillon backup/);
    const missing = await runCli(['restore', path.join(dir, 'nope.sqlite')], env);
    assert.match(missing.stderr, /no backup file/);
  });

  it('points PostgreSQL users at pg_dump and pg_restore', async () => {
    const env = { PAPILLON_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' };
    const backup = await runCli(['backup', '/tmp/x'], env);
    assert.notEqual(backup.code, 0);
    assert.match(backup.stderr, /uses PostgreSQL: pg_dump/);
    const restore = await runCli(['restore', '/tmp/x'], env);
    assert.match(restore.stderr, /uses PostgreSQL: pg_restore/);
  });
});

function ROOT_README(): string {
  return path.join(import.meta.dirname, '..', '..', 'README.md');
}
