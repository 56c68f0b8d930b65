import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ANY_PORTS, childEnv, ROOT, runCli, startServe } from '../support/cli.ts';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** Every listener on a free port, so a server already running on this machine changes nothing. */
const isHttpListening = (l: Record<string, unknown>) => l.listener === 'http' && typeof l.port === 'number';

describe('papillon serve', () => {
  it('logs the port it got for port 0, answers /health, and exits 0 on SIGTERM within 5 s', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-serve-'));
    const { child, lines, exited } = await startServe(
      { PAPILLON_DATA_DIR: dataDir, ...ANY_PORTS },
      isHttpListening,
    );
    const listening = lines.find(isHttpListening) as { port: number; msg: string };
    assert.ok(listening.port > 0);
    assert.match(listening.msg, new RegExp(`http://127\\.0\\.0\\.1:${listening.port}`));

    const health = await get(`http://127.0.0.1:${listening.port}/health`);
    assert.equal(health.status, 200);
    const body = JSON.parse(health.body) as { status: string; version: string; uptimeSeconds: number };
    assert.equal(body.status, 'ok');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    assert.equal(typeof body.uptimeSeconds, 'number');

    const sent = Date.now();
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(Date.now() - sent < 5_000, 'exited within 5 s');
  });

  it('`npm start` forwards SIGTERM to the server, which stops cleanly', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-npm-start-'));
    const child = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: childEnv({ PAPILLON_DATA_DIR: dataDir, ...ANY_PORTS }),
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready: ${stdout} ${stderr}`)), 20_000);
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('"msg":"ready"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM'); // to npm itself, as a service manager would
    assert.equal(await exited, 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.match(stdout, /"msg":"stopped"/);
    assert.doesNotMatch(stderr, /Deprecation|FSTDEP/);
  });

  it('creates the data directory and SQLite file on first start and keeps accounts across restarts', async () => {
    // A data directory that does not exist yet, as on a fresh machine.
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'papillon-serve-')), 'data');
    const env = { PAPILLON_DATA_DIR: dataDir, ...ANY_PORTS };
    const first = await startServe(env, isHttpListening);
    assert.ok(
      first.lines.some(
        (l) => typeof l.msg === 'string' && l.msg.includes(path.join(dataDir, 'papillon.sqlite')),
      ),
    );
    // The CLI writes while the server runs (WAL lets both use the file).
    const add = await runCli(['account', 'add', 'alice@localhost', '--password-stdin'], env, 'pw');
    assert.equal(add.code, 0, add.stderr);
    first.child.kill('SIGINT');
    assert.equal(await first.exited, 0);

    const second = await startServe(env, isHttpListening);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
    assert.match((await runCli(['account', 'list'], env)).stdout, /^alice@localhost\s/m);
  });

  it('refuses to start with a bad setting, naming it', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-serve-'));
    const result = await runCli(['serve'], {
      PAPILLON_DATA_DIR: dataDir,
      ...ANY_PORTS,
      PAPILLON_SB_PORT: '99999',
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /PAPILLON_SB_PORT/);
  });

  it('serves HTTPS with the certificate `papillon certs` made', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-serve-'));
    const env = { PAPILLON_DATA_DIR: dataDir, ...ANY_PORTS };
    const certs = await runCli(['certs'], env);
    assert.equal(certs.code, 0, certs.stderr);
    assert.match(certs.stdout, /messenger\.hotmail\.com/);
    const server = await startServe(env, (l) => l.listener === 'https');
    try {
      const https = server.lines.find((l) => l.listener === 'https') as { port: number };
      const { readFileSync } = await import('node:fs');
      const { request: httpsRequest } = await import('node:https');
      const ca = readFileSync(path.join(dataDir, 'certs', 'ca.crt'));
      const status = await new Promise<number>((resolve, reject) => {
        httpsRequest(
          { host: '127.0.0.1', port: https.port, path: '/health', ca, servername: 'nexus.passport.com' },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
          .on('error', reject)
          .end();
      });
      assert.equal(status, 200);
    } finally {
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
  });
});
