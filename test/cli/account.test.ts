import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';

describe('papillon account (CLI, real SQLite file)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-cli-'));
  const env = { PAPILLON_DATA_DIR: dataDir };

  it('adds an account from stdin (as `<<< pw` sends it) and lists it', async () => {
    const add = await runCli(['account', 'add', 'alice@localhost', '--password-stdin'], env, 'pw\n');
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, 'created alice@localhost\n');
    assert.match(add.stderr, /warning: the password is shorter than 8/);
    const list = await runCli(['account', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^alice@localhost\s/m);
  });

  it('the account is in the SQLite file under the data directory, across processes', async () => {
    const list = await runCli(['account', 'list', '--json'], env);
    const rows = JSON.parse(list.stdout) as Array<{ handle: string }>;
    assert.deepEqual(
      rows.map((r) => r.handle),
      ['alice@localhost'],
    );
  });

  it('sets a display name, and normalizes the handle', async () => {
    const add = await runCli(
      ['account', 'add', 'Bob@LOCALHOST', '--name', 'Bob B.', '--password-stdin'],
      env,
      'bobs-password',
    );
    assert.equal(add.code, 0, add.stderr);
    const rows = JSON.parse((await runCli(['account', 'list', '--json'], env)).stdout) as Array<{
      handle: string;
      displayName: string;
    }>;
    assert.deepEqual(rows.find((r) => r.handle === 'bob@localhost')?.displayName, 'Bob B.');
  });

  const failures: Array<[string, string[], string, RegExp]> = [
    [
      'a duplicate handle',
      ['account', 'add', 'ALICE@localhost', '--password-stdin'],
      'pw2',
      /already exists/,
    ],
    ['a bad handle', ['account', 'add', 'not-an-address', '--password-stdin'], 'pw', /invalid handle/],
    [
      'an empty password',
      ['account', 'add', 'carol@localhost', '--password-stdin'],
      '\n',
      /password rejected: it is empty/,
    ],
    ['a weak password', ['account', 'add', 'carol@localhost', '--password-stdin'], 'password', /most common/],
    [
      'an unknown handle (passwd)',
      ['account', 'passwd', 'nobody@localhost', '--password-stdin'],
      'x',
      /no account/,
    ],
    ['an unknown handle (delete)', ['account', 'delete', 'nobody@localhost'], '', /no account named nobody/],
    ['no terminal and no --password-stdin', ['account', 'add', 'carol@localhost'], '', /--password-stdin/],
  ];
  for (const [what, args, input, message] of failures) {
    it(`refuses ${what} with one clear line and a non-zero exit`, async () => {
      const result = await runCli(args, env, input);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/, 'no stack trace');
    });
  }

  it('changes a password and deletes an account', async () => {
    const passwd = await runCli(
      ['account', 'passwd', 'bob@localhost', '--password-stdin'],
      env,
      'new-bob-password',
    );
    assert.equal(passwd.code, 0, passwd.stderr);
    const del = await runCli(['account', 'delete', 'bob@localhost'], env);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, 'deleted bob@localhost\n');
    assert.doesNotMatch((await runCli(['account', 'list'], env)).stdout, /bob@localhost/);
  });

  it('a bad setting fails naming the key', async () => {
    const result = await runCli(['account', 'list'], { ...env, PAPILLON_HTTP_PORT: 'http' });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /PAPILLON_HTTP_PORT/);
  });

  it('`papillon config` prints the effective configuration', async () => {
    const result = await runCli(['config'], { ...env, PAPILLON_DOMAIN: 'example.org' });
    assert.equal(result.code, 0, result.stderr);
    const config = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(config.domain, 'example.org');
    assert.equal(config.msnpPort, 1863);
    assert.equal(config.databaseUrl, `sqlite:${path.join(dataDir, 'papillon.sqlite')}`);
  });

  it('`papillon migrate` reports an up-to-date store', async () => {
    const result = await runCli(['migrate'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /up to date/);
  });
});
