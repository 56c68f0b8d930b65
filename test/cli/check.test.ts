import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { generate } from 'selfsigned';
import { ANY_PORTS, runCli } from '../support/cli.ts';

/** A data directory as `papillon certs` and a first start leave it. */
async function preparedDataDir(): Promise<Record<string, string>> {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'papillon-check-')), 'data');
  const env = { PAPILLON_DATA_DIR: dataDir, ...ANY_PORTS };
  assert.equal((await runCli(['migrate'], env)).code, 0);
  assert.equal((await runCli(['certs'], env)).code, 0);
  return env;
}

const lineOf = (stdout: string, pattern: RegExp) => stdout.split('\n').find((l) => pattern.test(l)) ?? '';

describe('papillon check', () => {
  it('passes a data directory that `certs` and a first start made, saying what it checked', async () => {
    const env = await preparedDataDir();
    const result = await runCli(['check'], env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(lineOf(result.stdout, /data directory/), /^ok .*\(0700\)/);
    assert.match(lineOf(result.stdout, /database/), /^ok .*papillon\.sqlite \(0600\)/);
    assert.match(lineOf(result.stdout, /matches the certificate/), /^ok /);
    assert.match(lineOf(result.stdout, /valid until/), /^ok /);
    assert.match(lineOf(result.stdout, /names the domain localhost/), /^ok /);
    assert.match(lineOf(result.stdout, /MSN host names/), /^ok .*all 24 MSN host names/);
    assert.match(result.stdout, /all good/);
  });

  it('fails on a busy port, naming its setting, and on a database others can read', async () => {
    const env = await preparedDataDir();
    chmodSync(path.join(env.PAPILLON_DATA_DIR as string, 'papillon.sqlite'), 0o644);
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as { port: number };
    try {
      const result = await runCli(['check'], { ...env, PAPILLON_XMPP_PORT: String(port) });
      assert.equal(result.code, 1);
      assert.match(
        lineOf(result.stdout, new RegExp(`port ${port}`)),
        /^FAIL .*taken by another program.*PAPILLON_XMPP_PORT/,
      );
      assert.match(lineOf(result.stdout, /database/), /^FAIL .*mode 0644/);
      assert.match(result.stdout, /chmod 600/);
      assert.match(result.stdout, /2 problem\(s\)/);
    } finally {
      squatter.close();
    }
  });

  it('fails on an expired certificate for another name, a key that is not its own, and names the MSN hosts it lacks', async () => {
    const env = await preparedDataDir();
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-check-cert-'));
    const old = await generate([{ name: 'commonName', value: 'old.example' }], {
      keyType: 'rsa',
      keySize: 2048,
      notBeforeDate: new Date(Date.now() - 400 * 86_400_000),
      notAfterDate: new Date(Date.now() - 86_400_000),
    });
    const other = await generate([{ name: 'commonName', value: 'other' }], { keyType: 'rsa', keySize: 2048 });
    writeFileSync(path.join(dir, 'old.crt'), old.cert);
    writeFileSync(path.join(dir, 'other.key'), other.private);
    const result = await runCli(['check'], {
      ...env,
      PAPILLON_TLS_CERT: path.join(dir, 'old.crt'),
      PAPILLON_TLS_KEY: path.join(dir, 'other.key'),
    });
    assert.equal(result.code, 1);
    assert.match(lineOf(result.stdout, /does not belong/), /^FAIL .*PAPILLON_TLS_KEY/);
    assert.match(lineOf(result.stdout, /expired/), /^FAIL /);
    assert.match(lineOf(result.stdout, /domain localhost/), /^FAIL .*does not name the domain localhost/);
    assert.match(
      lineOf(result.stdout, /MSN host name/),
      /^WARN .*lacks 24 MSN host name\(s\): messenger\.hotmail\.com/,
    );
  });

  it('fails on a bad setting and on a PostgreSQL that does not answer', async () => {
    const bad = await runCli(['check'], { PAPILLON_SIGNUP: 'sometimes' });
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^FAIL {2}configuration\n.*PAPILLON_SIGNUP/m);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const env = await preparedDataDir();
    const result = await runCli(['check'], {
      ...env,
      PAPILLON_DATABASE_URL: `postgres://papillon:secret@127.0.0.1:${port}/papillon`,
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      new RegExp(
        `^FAIL {2}PostgreSQL at postgres://papillon:\\*\\*\\*@127\\.0\\.0\\.1:${port}/papillon`,
        'm',
      ),
    );
    assert.doesNotMatch(result.stdout, /secret/);
  });
});
