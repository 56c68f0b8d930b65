import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { connect, type PeerCertificate } from 'node:tls';
import { ANY_PORTS, runCli, startServe } from '../support/cli.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import type { TestServer } from '../support/papillon-server.ts';
import { RawXmppClient, targetOf } from '../support/xmpp-raw.ts';

/** The certificate a new TLS connection to `port` is shown. */
function presented(port: number, ca: Buffer): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once('error', reject);
  });
}

const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;

describe('SIGHUP', () => {
  it('reloads a renewed certificate for new TLS connections; MSNP and XMPP sessions stay up', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-reload-'));
    const env: Record<string, string> = {
      PAPILLON_DATA_DIR: dataDir,
      ...ANY_PORTS,
    };
    assert.equal((await runCli(['certs'], env)).code, 0);
    const certFile = path.join(dataDir, 'certs', 'server.crt');
    const before = fingerprint(certFile);
    const serve = await startServe(env, (l) => l.msg === 'ready');
    try {
      const ports = Object.fromEntries(
        serve.lines.filter((l) => typeof l.listener === 'string').map((l) => [l.listener, l.port as number]),
      );
      const ca = readFileSync(path.join(dataDir, 'certs', 'ca.crt'));
      // What the protocol helpers need of a test server.
      const server = {
        dataDir,
        ca,
        port: (name: string) => {
          const port = ports[name];
          if (port === undefined) throw new Error(`no listener ${name}`);
          return port;
        },
      } as unknown as TestServer;
      const add = await runCli(['account', 'add', 'hal@localhost', '--password-stdin'], env, 'hal-secret-pw');
      assert.equal(add.code, 0, add.stderr);
      const msnp = await msnpSignIn(server, {
        version: 12,
        handle: 'hal@localhost',
        password: 'hal-secret-pw',
      });
      const xmpp = await RawXmppClient.login(targetOf(server), {
        username: 'hal',
        password: 'hal-secret-pw',
      });
      assert.equal((await presented(server.port('https'), ca)).fingerprint256, before);

      const renewed = await runCli(['certs', '--force'], env);
      assert.equal(renewed.code, 0, renewed.stderr);
      assert.match(renewed.stdout, /SIGHUP/);
      const after = fingerprint(certFile);
      assert.notEqual(after, before);

      const seen = serve.lines.length;
      serve.child.kill('SIGHUP');
      for (
        let i = 0;
        i < 50 && !serve.lines.slice(seen).some((l) => /^SIGHUP: reloaded/.test(String(l.msg)));
        i++
      ) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const reloaded = serve.lines.slice(seen).find((l) => /^SIGHUP: reloaded/.test(String(l.msg)));
      assert.ok(reloaded, 'the server logs the reload');
      assert.match(String(reloaded.msg), /certificate reloaded .*HTTPS, XMPP/);

      assert.equal((await presented(server.port('https'), ca)).fingerprint256, after);
      assert.equal((await presented(server.port('xmpps'), ca)).fingerprint256, after);
      const fresh = await RawXmppClient.login(targetOf(server), {
        username: 'hal',
        password: 'hal-secret-pw',
        resource: 'new',
      });
      assert.equal((fresh.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256, after);
      fresh.destroy();

      // The sessions from before the reload still answer.
      msnp.send('PNG');
      await msnp.expect('QNG');
      const roster = await xmpp.roster();
      assert.equal(roster.attrs.type, 'result');
      assert.equal(xmpp.streamError, undefined);
      await msnp.close();
      xmpp.destroy();
    } finally {
      serve.child.kill('SIGTERM');
      assert.equal(await serve.exited, 0);
    }
  });
});
