import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import type { CertificateFiles } from '../../src/cli/certs.ts';
import { certificateInstructions, createCertificates, LEGACY_MSN_HOSTS } from '../../src/cli/certs.ts';

const DOMAIN = 'papillon.test';
const EXTRA = 'chat.example.org';

/** Minimal DER walk: the OID of a certificate's outer signatureAlgorithm. */
function signatureAlgorithmOid(der: Buffer): string {
  const tlv = (offset: number) => {
    let pos = offset + 1;
    let length = der[pos++] ?? 0;
    if (length & 0x80) {
      const bytes = length & 0x7f;
      length = 0;
      for (let i = 0; i < bytes; i++) length = length * 256 + (der[pos++] ?? 0);
    }
    return { tag: der[offset], start: pos, end: pos + length };
  };
  const certificate = tlv(0);
  const tbs = tlv(certificate.start);
  const algorithm = tlv(tbs.end);
  const oid = tlv(algorithm.start);
  assert.equal(oid.tag, 0x06);
  const bytes = der.subarray(oid.start, oid.end);
  const first = bytes[0] ?? 0;
  const parts = [Math.floor(first / 40), first % 40];
  let value = 0;
  for (const byte of bytes.subarray(1)) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

const SHA1_WITH_RSA = '1.2.840.113549.1.1.5';
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

function altNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(', ');
}

async function handshake(
  key: string,
  chain: string,
  ca: string,
  servername: string | undefined,
): Promise<tls.TLSSocket> {
  const server = tls.createServer({ key, cert: chain }, (socket) => socket.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, ...(servername ? { servername } : {}) });
    try {
      await once(socket, 'secureConnect');
      return socket;
    } finally {
      socket.destroy();
    }
  } finally {
    server.close();
  }
}

describe('createCertificates', () => {
  let root: string;
  let dir: string;
  let files: CertificateFiles;
  let caPem: string;
  let ca: X509Certificate;
  let server: X509Certificate;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'papillon-certs-'));
    dir = join(root, 'nested', 'certs');
    files = await createCertificates({ dir, domain: DOMAIN, extraHosts: [EXTRA] });
    caPem = await readFile(files.caCert, 'utf8');
    ca = new X509Certificate(caPem);
    server = new X509Certificate(await readFile(files.serverCert));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates the directory and reports the paths', () => {
    assert.equal(files.caCert, join(dir, 'ca.crt'));
    assert.equal(files.caKey, join(dir, 'ca.key'));
    assert.equal(files.serverCert, join(dir, 'server.crt'));
    assert.equal(files.serverKey, join(dir, 'server.key'));
    assert.equal(files.serverChain, join(dir, 'server-chain.crt'));
    assert.equal(files.caCreated, true);
    assert.ok(files.hosts.includes(DOMAIN));
    assert.ok(files.hosts.includes('messenger.hotmail.com'));
    // What MSNP13–18 clients contact: Pidgin's MSNP18 plugin (retro-prpl msn/*.h) and WLM 2009.
    for (const host of [
      'login.live.com',
      'local-bay.contacts.msn.com',
      'omega.contacts.msn.com',
      'storage.msn.com',
      'storage.live.com',
      'tkrdr.storage.msn.com',
      'ows.messenger.msn.com',
      'rsi.hotmail.com',
      'config.messenger.msn.com',
      'sup.live.com',
      'messengersecure.live.com',
    ]) {
      assert.ok(files.hosts.includes(host), host);
    }
    assert.deepEqual(files.ipAddresses, ['127.0.0.1']);
  });

  it('puts every host name in the server certificate', () => {
    const names = altNames(server);
    for (const host of [DOMAIN, 'localhost', EXTRA, ...LEGACY_MSN_HOSTS]) {
      assert.ok(names.includes(`DNS:${host}`), `missing DNS:${host}`);
    }
    assert.ok(names.includes('IP Address:127.0.0.1'));
    assert.match(server.subject, new RegExp(`CN=${DOMAIN}`));
  });

  it('signs the server certificate with the CA', () => {
    assert.equal(server.checkIssued(ca), true);
    assert.equal(server.verify(ca.publicKey), true);
    assert.equal(ca.ca, true);
    assert.equal(server.ca, false);
    assert.match(ca.subject, /CN=Papillon Local CA \(papillon\.test\)/);
    assert.equal(signatureAlgorithmOid(server.raw), SHA256_WITH_RSA);
    assert.equal(server.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), true, 'serverAuth EKU');
  });

  it('keeps validity within limits', () => {
    const serverDays = (Date.parse(server.validTo) - Date.now()) / 86_400_000;
    assert.ok(serverDays <= 825 && serverDays > 820, `server valid for ${serverDays} days`);
    const caDays = (Date.parse(ca.validTo) - Date.now()) / 86_400_000;
    assert.ok(caDays > 3600, `CA valid for ${caDays} days`);
    assert.ok(Date.parse(server.validFrom) <= Date.now());
  });

  it('writes keys that match their certificates, readable only by the owner', async () => {
    assert.equal(server.checkPrivateKey(createPrivateKey(await readFile(files.serverKey))), true);
    assert.equal(ca.checkPrivateKey(createPrivateKey(await readFile(files.caKey))), true);
    if (process.platform !== 'win32') {
      assert.equal((await stat(files.serverKey)).mode & 0o777, 0o600);
      assert.equal((await stat(files.caKey)).mode & 0o777, 0o600);
    }
  });

  it('writes the chain as server certificate then CA certificate', async () => {
    const chain = await readFile(files.serverChain, 'utf8');
    const pems = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    assert.equal(pems.length, 2);
    assert.equal(new X509Certificate(pems[0] ?? '').fingerprint256, server.fingerprint256);
    assert.equal(new X509Certificate(pems[1] ?? '').fingerprint256, ca.fingerprint256);
  });

  it('completes TLS handshakes for legacy names, the domain and 127.0.0.1', async () => {
    const key = await readFile(files.serverKey, 'utf8');
    const chain = await readFile(files.serverChain, 'utf8');
    for (const name of [
      'messenger.hotmail.com',
      'login.live.com',
      'local-bay.contacts.msn.com',
      DOMAIN,
      undefined,
    ]) {
      const socket = await handshake(key, chain, caPem, name);
      assert.equal(socket.authorized, true, `not authorized for ${name ?? '127.0.0.1'}`);
    }
    await assert.rejects(handshake(key, chain, caPem, 'elsewhere.example'), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('rejects invalid options', async () => {
    await assert.rejects(createCertificates({ dir, domain: DOMAIN, days: 826, force: true }), /825/);
    await assert.rejects(createCertificates({ dir, domain: 'bad name', force: true }), /not a valid host/);
  });

  it('writes operator instructions', () => {
    const text = certificateInstructions(files, { domain: DOMAIN });
    assert.ok(text.includes(files.caCert));
    assert.match(text, /^ {2}127\.0\.0\.1 messenger\.hotmail\.com$/m);
    assert.match(text, /certutil -addstore -f Root/);
    assert.match(text, /update-ca-certificates/);
    assert.match(text, /security add-trusted-cert/);
    assert.match(text, /XMPP/);
    const remote = certificateInstructions(files, { domain: DOMAIN, serverAddress: '192.0.2.10' });
    assert.match(remote, /^ {2}192\.0\.2\.10 nexus\.passport\.com$/m);
    // MSNP15+ clients: the SSO endpoint and the address book host Pidgin's MSNP18 plugin calls.
    assert.match(remote, /^ {2}192\.0\.2\.10 login\.live\.com$/m);
    assert.match(remote, /^ {2}192\.0\.2\.10 local-bay\.contacts\.msn\.com$/m);
    assert.match(remote, /^ {2}192\.0\.2\.10 storage\.live\.com$/m);
  });

  it('refuses to overwrite without force, and reuses the CA with force', async () => {
    await assert.rejects(createCertificates({ dir, domain: DOMAIN }), (err: Error) => {
      assert.match(err.message, /already exists/);
      assert.match(err.message, /--force/);
      return true;
    });
    const again = await createCertificates({ dir, domain: DOMAIN, force: true, days: 30 });
    assert.equal(again.caCreated, false);
    const caAgain = new X509Certificate(await readFile(again.caCert));
    assert.equal(caAgain.fingerprint256, ca.fingerprint256);
    const serverAgain = new X509Certificate(await readFile(again.serverCert));
    assert.notEqual(serverAgain.fingerprint256, server.fingerprint256);
    assert.equal(serverAgain.verify(ca.publicKey), true);
    assert.ok(Date.parse(serverAgain.validTo) - Date.now() <= 30 * 86_400_000);
    assert.equal(serverAgain.checkPrivateKey(createPrivateKey(await readFile(again.serverKey))), true);
    if (process.platform !== 'win32') {
      assert.equal((await stat(again.serverKey)).mode & 0o777, 0o600);
    }
  });

  it('signs with SHA-1 when legacySha1 is set', async () => {
    const legacyDir = join(root, 'legacy');
    // Reusing the CA keeps this to one RSA key generation.
    await mkdir(legacyDir, { recursive: true });
    await copyFile(files.caCert, join(legacyDir, 'ca.crt'));
    await copyFile(files.caKey, join(legacyDir, 'ca.key'));
    const legacy = await createCertificates({ dir: legacyDir, domain: DOMAIN, legacySha1: true });
    assert.equal(legacy.signatureAlgorithm, 'sha1');
    const cert = new X509Certificate(await readFile(legacy.serverCert));
    assert.equal(signatureAlgorithmOid(cert.raw), SHA1_WITH_RSA);
    assert.equal(cert.verify(ca.publicKey), true);
  });
});
