import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ANY_PORTS, runCli } from '../support/cli.ts';

const noStackTrace = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at |Error:/, stderr);

describe('start-up failures name the setting and print no stack trace', () => {
  it('a busy MSNP port names PAPILLON_MSNP_PORT', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as { port: number };
    try {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-busy-'));
      const result = await runCli(['serve'], {
        PAPILLON_DATA_DIR: dataDir,
        ...ANY_PORTS,
        PAPILLON_MSNP_PORT: String(port),
      });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`^papillon: port ${port} on 127\\.0\\.0\\.1 is already in use`));
      assert.match(result.stderr, /PAPILLON_MSNP_PORT \(msnpPort\)/);
      noStackTrace(result.stderr);
    } finally {
      squatter.close();
    }
  });

  it('a missing certificate file names PAPILLON_TLS_CERT', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-nocert-'));
    const missing = path.join(dataDir, 'missing.crt');
    const result = await runCli(['serve'], {
      PAPILLON_DATA_DIR: dataDir,
      ...ANY_PORTS,
      PAPILLON_TLS_CERT: missing,
      PAPILLON_TLS_KEY: path.join(dataDir, 'missing.key'),
    });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `papillon: cannot read ${missing} (PAPILLON_TLS_CERT, tlsCert): no such file\n`,
    );
  });
});
