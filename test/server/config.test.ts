import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { databaseTarget, describeConfig, envName, loadConfig } from '../../src/server/config.ts';
import { isPapillonError } from '../../src/util/errors.ts';

const throwsNaming = (fn: () => unknown, ...parts: RegExp[]) =>
  assert.throws(
    fn,
    (err: unknown) => isPapillonError(err, 'bad-config') && parts.every((p) => p.test(err.message)),
  );

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.domain, 'localhost');
    assert.equal(c.bind, '127.0.0.1');
    assert.deepEqual(
      [c.msnpPort, c.sbPort, c.xmppPort, c.xmppsPort, c.httpPort, c.httpsPort],
      [1863, 1864, 5222, 5223, 8080, 8443],
    );
    assert.equal(c.redisUrl, undefined);
    assert.deepEqual(databaseTarget(c), { kind: 'sqlite', path: path.resolve('data', 'papillon.sqlite') });
  });

  it('names each node of a cluster and bounds how long a silent one lives', () => {
    const c = loadConfig({ env: {} });
    assert.match(c.nodeId, /^.+-\d+-[0-9a-f]{6}$/, 'hostname-pid-random');
    assert.equal(loadConfig({ env: {} }).nodeId, c.nodeId, 'one per process: a reload keeps it');
    assert.equal(c.nodeTimeoutSeconds, 15);
    const set = loadConfig({ env: { PAPILLON_NODE_ID: 'node-2', PAPILLON_NODE_TIMEOUT_SECONDS: '30' } });
    assert.deepEqual([set.nodeId, set.nodeTimeoutSeconds], ['node-2', 30]);
    throwsNaming(() => loadConfig({ env: { PAPILLON_NODE_ID: 'a b' } }), /PAPILLON_NODE_ID/);
    throwsNaming(
      () => loadConfig({ env: { PAPILLON_NODE_TIMEOUT_SECONDS: '1' } }),
      /PAPILLON_NODE_TIMEOUT_SECONDS/,
    );
  });

  it('reads proxyProtocol as trustProxy: none by default, addresses, CIDR blocks or named ranges', () => {
    assert.deepEqual(loadConfig({ env: {} }).proxyProtocol, []);
    const c = loadConfig({ env: { PAPILLON_PROXY_PROTOCOL: '172.16.0.0/12, 10.0.0.5,loopback' } });
    assert.deepEqual(c.proxyProtocol, ['172.16.0.0/12', '10.0.0.5', 'loopback']);
    throwsNaming(
      () => loadConfig({ env: { PAPILLON_PROXY_PROTOCOL: 'haproxy' } }),
      /PAPILLON_PROXY_PROTOCOL/,
      /CIDR/,
    );
    throwsNaming(
      () => loadConfig({ env: { PAPILLON_PROXY_PROTOCOL: '10.0.0.0/33' } }),
      /PAPILLON_PROXY_PROTOCOL/,
    );
  });

  it('maps keys to PAPILLON_ environment names', () => {
    assert.equal(envName('httpPort'), 'PAPILLON_HTTP_PORT');
    assert.equal(envName('dataDir'), 'PAPILLON_DATA_DIR');
    assert.equal(envName('databaseUrl'), 'PAPILLON_DATABASE_URL');
  });

  it('reads the environment over the file over the defaults', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-config-'));
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ domain: 'file.example', httpPort: 9000, sbPort: 9001 }));
    const c = loadConfig({ file, env: { PAPILLON_HTTP_PORT: '0', PAPILLON_DOMAIN: 'Env.Example' } });
    assert.equal(c.domain, 'env.example');
    assert.equal(c.httpPort, 0);
    assert.equal(c.sbPort, 9001);
  });

  it('selects PostgreSQL from a postgres:// URL and masks its password when printed', () => {
    const c = loadConfig({ env: { PAPILLON_DATABASE_URL: 'postgres://u:secret@db:5432/papillon' } });
    assert.deepEqual(databaseTarget(c), { kind: 'postgres', url: 'postgres://u:secret@db:5432/papillon' });
    assert.equal(describeConfig(c).databaseUrl, 'postgres://u:***@db:5432/papillon');
  });

  it('names the environment variable of a bad value', () => {
    throwsNaming(() => loadConfig({ env: { PAPILLON_HTTP_PORT: 'eighty' } }), /PAPILLON_HTTP_PORT/, /eighty/);
    throwsNaming(() => loadConfig({ env: { PAPILLON_MSNP_PORT: '70000' } }), /PAPILLON_MSNP_PORT/, /65535/);
    throwsNaming(() => loadConfig({ env: { PAPILLON_DATABASE_URL: 'mysql://x' } }), /PAPILLON_DATABASE_URL/);
    throwsNaming(() => loadConfig({ env: { PAPILLON_LOG_LEVEL: 'loud' } }), /PAPILLON_LOG_LEVEL/);
  });

  it('names the file key of a bad value, and unknown keys', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-config-'));
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ xmppPort: -1 }));
    throwsNaming(() => loadConfig({ file, env: {} }), /xmppPort in .*config\.json/);
    writeFileSync(file, JSON.stringify({ htpPort: 1 }));
    throwsNaming(() => loadConfig({ file, env: {} }), /unknown setting htpPort/);
    writeFileSync(file, '{ not json');
    throwsNaming(() => loadConfig({ file, env: {} }), /not valid JSON/);
    throwsNaming(() => loadConfig({ file: path.join(dir, 'missing.json'), env: {} }), /cannot read/);
  });
});
