import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';

describe('papillon app (CLI, real SQLite file)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-cli-app-'));
  const env = { PAPILLON_DATA_DIR: dataDir };
  let confidentialId = '';
  let publicId = '';

  it('registers a confidential app: prints client_id and client_secret', async () => {
    const add = await runCli(
      [
        'app',
        'add',
        '--name',
        'Web Chat',
        '--redirect-uri',
        'https://chat.example/cb',
        '--redirect-uri',
        'http://localhost:3000/cb',
      ],
      env,
    );
    assert.equal(add.code, 0, add.stderr);
    const match = /^client_id: ([0-9a-f]{32})\nclient_secret: ([A-Za-z0-9_-]{43})\n$/.exec(add.stdout);
    assert.ok(match, add.stdout);
    confidentialId = match[1] ?? '';
    assert.match(add.stderr, /shown only this once/);
  });

  it('registers a public app: no secret', async () => {
    const add = await runCli(
      ['app', 'add', '--name', 'Phone', '--redirect-uri', 'com.example.chat:/oauth', '--public'],
      env,
    );
    assert.equal(add.code, 0, add.stderr);
    const match = /^client_id: ([0-9a-f]{32})\n$/.exec(add.stdout);
    assert.ok(match, add.stdout);
    publicId = match[1] ?? '';
  });

  it('lists apps with their type, redirect URIs and owner', async () => {
    const list = await runCli(['app', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      new RegExp(`^${confidentialId}  confidential  Web Chat  \\(owner: operator\\)$`, 'm'),
    );
    assert.match(list.stdout, /^ {4}https:\/\/chat\.example\/cb$/m);
    assert.match(list.stdout, /^ {4}http:\/\/localhost:3000\/cb$/m);
    assert.match(list.stdout, new RegExp(`^${publicId}  public {8}Phone  \\(owner: operator\\)$`, 'm'));
    assert.doesNotMatch(list.stdout, /secret/i);

    const json = JSON.parse((await runCli(['app', 'list', '--json'], env)).stdout) as Array<{
      clientId: string;
      type: string;
      redirectUris: string[];
      owner: string;
    }>;
    assert.deepEqual(
      json.map((a) => [a.clientId, a.type, a.redirectUris, a.owner]),
      [
        [confidentialId, 'confidential', ['https://chat.example/cb', 'http://localhost:3000/cb'], 'operator'],
        [publicId, 'public', ['com.example.chat:/oauth'], 'operator'],
      ],
    );
  });

  const failures: Array<[string, string[], RegExp]> = [
    [
      'plain http off localhost',
      ['--name', 'X', '--redirect-uri', 'http://chat.example/cb'],
      /must use https/,
    ],
    ['a fragment', ['--name', 'X', '--redirect-uri', 'https://chat.example/cb#top'], /fragment/],
    ['a relative URI', ['--name', 'X', '--redirect-uri', '/cb'], /not an absolute URI/],
    ['a javascript: URI', ['--name', 'X', '--redirect-uri', 'javascript:alert(1)'], /app scheme/],
    ['an empty name', ['--name', ' ', '--redirect-uri', 'https://chat.example/cb'], /name is empty/],
  ];
  for (const [what, args, message] of failures) {
    it(`refuses ${what} with one line and a non-zero exit`, async () => {
      const result = await runCli(['app', 'add', ...args], env);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.equal(result.stdout, '');
    });
  }

  it('requires --name and --redirect-uri (commander explains, with the usage)', async () => {
    const result = await runCli(['app', 'add', '--name', 'X'], env);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /--redirect-uri/);
  });

  it('deletes an app, and refuses an unknown client_id', async () => {
    const del = await runCli(['app', 'delete', publicId], env);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, `deleted Phone (${publicId})\n`);
    const again = await runCli(['app', 'delete', publicId], env);
    assert.notEqual(again.code, 0);
    assert.equal(again.stderr, `papillon: no app with client_id ${publicId}\n`);
    const list = await runCli(['app', 'list'], env);
    assert.doesNotMatch(list.stdout, new RegExp(publicId));
    assert.match(list.stdout, new RegExp(confidentialId));
  });

  it('says so when there are no apps', async () => {
    await runCli(['app', 'delete', confidentialId], env);
    assert.equal((await runCli(['app', 'list'], env)).stdout, 'no apps\n');
  });
});
