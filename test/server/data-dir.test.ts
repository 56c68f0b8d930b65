import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ANY_PORTS, runCli, startServe } from '../support/cli.ts';

const ready = (l: Record<string, unknown>) => l.msg === 'ready';
const mode = (file: string) => statSync(file).mode & 0o777;

describe('the data directory', () => {
  it('is the same for the CLI run from any directory: a config file’s relative dataDir is relative to the file', async () => {
    const base = mkdtempSync(path.join(tmpdir(), 'papillon-datadir-'));
    const etc = path.join(base, 'etc');
    mkdirSync(etc);
    const configFile = path.join(etc, 'config.json');
    writeFileSync(configFile, JSON.stringify({ dataDir: '../state' }));
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'papillon-cwd-'));
    const env = { PAPILLON_CONFIG: configFile };

    const add = await runCli(
      ['account', 'add', 'alice@localhost', '--password-stdin'],
      env,
      'a good pass',
      base,
    );
    assert.equal(add.code, 0, add.stderr);
    const list = await runCli(['account', 'list'], env, '', elsewhere);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^alice@localhost\s/m);
    assert.ok(existsSync(path.join(base, 'state', 'papillon.sqlite')));
    assert.deepEqual(readdirSync(elsewhere), [], 'nothing created where the CLI ran');
  });

  it('a command that reads refuses to create an empty database, naming the directory it looked in', async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'papillon-empty-')), 'nothing-here');
    for (const args of [
      ['account', 'list'],
      ['account', 'delete', 'bob@localhost'],
      ['app', 'list'],
    ]) {
      const result = await runCli(args, { PAPILLON_DATA_DIR: dataDir });
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, /^papillon: no database at /);
      assert.ok(result.stderr.includes(dataDir), result.stderr);
      assert.match(result.stderr, /PAPILLON_DATA_DIR/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.equal(existsSync(dataDir), false, 'no directory was created');
  });

  it('is created 0700 with the database file 0600', async () => {
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'papillon-perm-')), 'data');
    const migrate = await runCli(['migrate'], { PAPILLON_DATA_DIR: dataDir });
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.equal(mode(dataDir), 0o700);
    assert.equal(mode(path.join(dataDir, 'papillon.sqlite')), 0o600);
  });

  it('a second server on the same directory refuses to start, naming the first; a stale lock is taken over', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-lock-'));
    const env = { PAPILLON_DATA_DIR: dataDir, ...ANY_PORTS };
    const first = await startServe(env, ready);
    try {
      const second = await runCli(['serve'], env);
      assert.equal(second.code, 1);
      assert.match(second.stderr, new RegExp(`another Papillon server \\(pid ${first.child.pid}\\)`));
      assert.ok(second.stderr.includes(dataDir), second.stderr);
      assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0);
    }
    assert.equal(existsSync(path.join(dataDir, 'papillon.pid')), false, 'a clean stop removes the lock');

    // A server killed outright leaves its pid behind; the next start takes the lock over.
    const killed = await startServe(env, ready);
    killed.child.kill('SIGKILL');
    await killed.exited;
    assert.equal(existsSync(path.join(dataDir, 'papillon.pid')), true);
    const next = await startServe(env, ready);
    next.child.kill('SIGTERM');
    assert.equal(await next.exited, 0);
  });
});
