/**
 * `papillon certs`: a local certificate authority and a server certificate for it.
 *
 * Legacy MSN Messenger clients talk HTTPS to fixed Microsoft host names (Passport,
 * address book, storage...). The operator points those names at Papillon (hosts file
 * or DNS) and installs the CA generated here on each client machine, so the server
 * certificate must be signed by that CA and list every name a client may ask for.
 */
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { generate } from 'selfsigned';
import { PapillonError } from '../util/errors.ts';
import { LEGACY_MSN_HOSTS } from '../util/msn-hosts.ts';

/** Kept here too: the certificate code and its tests name it from this module. */
export { LEGACY_MSN_HOSTS };

export interface CertificateFiles {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** The server certificate followed by the CA certificate: what the TLS listeners serve. */
  serverChain: string;
  /** DNS names in the server certificate's subjectAltName, in order. */
  hosts: string[];
  /** IP addresses in the server certificate's subjectAltName. */
  ipAddresses: string[];
  /** False when an existing ca.crt/ca.key pair was reused. */
  caCreated: boolean;
  signatureAlgorithm: 'sha256' | 'sha1';
  notAfter: Date;
}

export interface CreateCertificatesOptions {
  dir: string;
  /** The server's domain (XMPP domain / public host name). */
  domain: string;
  /** More DNS names or IP addresses for the server certificate. */
  extraHosts?: string[];
  /** Server certificate validity in days, at most 825 (the limit clients enforce). */
  days?: number;
  /** Overwrite an existing server certificate (the CA is always kept). */
  force?: boolean;
  legacySha1?: boolean;
}

const CA_DAYS = 3650;
const MAX_SERVER_DAYS = 825;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start a day early: old client machines often have a wrong clock. */
const BACKDATE_MS = DAY_MS;

const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function normalizeHost(raw: string, what: string): string {
  const host = raw.trim().toLowerCase().replace(/\.$/, '');
  if (isIP(host) !== 0) return host;
  if (host.length === 0 || host.length > 253 || !host.split('.').every((label) => HOST_LABEL.test(label))) {
    throw new PapillonError('bad-config', `${what} ${JSON.stringify(raw)} is not a valid host name`);
  }
  return host;
}

/** Writes through a temporary file so an existing file never holds half a key or a wider mode. */
async function writeFileReplacing(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

interface CaMaterial {
  cert: string;
  key: string;
  x509: X509Certificate;
  created: boolean;
}

async function loadOrCreateCa(
  caCertPath: string,
  caKeyPath: string,
  domain: string,
  algorithm: 'sha256' | 'sha1',
  now: number,
): Promise<CaMaterial> {
  const haveCert = existsSync(caCertPath);
  const haveKey = existsSync(caKeyPath);
  if (haveCert !== haveKey) {
    const missing = haveCert ? caKeyPath : caCertPath;
    throw new PapillonError(
      'bad-config',
      `${missing} is missing; restore it, or remove both ca.crt and ca.key to create a new CA (clients must then install the new one)`,
    );
  }
  if (haveCert) {
    const cert = await readFile(caCertPath, 'utf8');
    const key = await readFile(caKeyPath, 'utf8');
    const x509 = new X509Certificate(cert);
    if (!x509.ca) throw new PapillonError('bad-config', `${caCertPath} is not a CA certificate`);
    const privateKey = createPrivateKey(key);
    if (privateKey.asymmetricKeyType !== 'rsa') {
      throw new PapillonError('bad-config', `${caKeyPath} is not an RSA key`);
    }
    if (!x509.checkPrivateKey(privateKey)) {
      throw new PapillonError('bad-config', `${caKeyPath} does not match ${caCertPath}`);
    }
    if (Date.parse(x509.validTo) <= now) {
      throw new PapillonError(
        'bad-config',
        `the CA in ${caCertPath} expired on ${x509.validTo}; remove ca.crt and ca.key to create a new one`,
      );
    }
    return { cert, key, x509, created: false };
  }

  const pems = await generate(
    [
      { name: 'commonName', value: `Papillon Local CA (${domain})` },
      { name: 'organizationName', value: 'Papillon' },
    ],
    {
      keyType: 'rsa',
      keySize: 2048,
      algorithm,
      notBeforeDate: new Date(now - BACKDATE_MS),
      notAfterDate: new Date(now + CA_DAYS * DAY_MS),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      ],
    },
  );
  await writeFileReplacing(caKeyPath, pems.private, 0o600);
  await writeFileReplacing(caCertPath, pems.cert, 0o644);
  return { cert: pems.cert, key: pems.private, x509: new X509Certificate(pems.cert), created: true };
}

/**
 * Creates (or reuses) the local CA in `dir` and issues a server certificate for the
 * domain, localhost, 127.0.0.1, the extra hosts and every legacy MSN host name.
 */
export async function createCertificates(options: CreateCertificatesOptions): Promise<CertificateFiles> {
  const dir = resolve(options.dir);
  const domain = normalizeHost(options.domain, 'domain');
  const days = options.days ?? MAX_SERVER_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > MAX_SERVER_DAYS) {
    throw new PapillonError('bad-config', `days must be a whole number from 1 to ${MAX_SERVER_DAYS}`);
  }
  // COMPAT: Windows XP before SP3 (where MSN Messenger 5–7.5 usually ran) has no SHA-2
  // support in CryptoAPI, so it cannot verify SHA-256 signatures and rejects the chain.
  // Operators with such clients opt into SHA-1; everyone else gets SHA-256.
  const algorithm = options.legacySha1 ? 'sha1' : 'sha256';

  const hosts: string[] = [];
  const ipAddresses: string[] = [];
  const add = (name: string) => {
    const list = isIP(name) === 0 ? hosts : ipAddresses;
    if (!list.includes(name)) list.push(name);
  };
  add(domain);
  add('localhost');
  add('127.0.0.1');
  for (const extra of options.extraHosts ?? []) add(normalizeHost(extra, 'extra host'));
  for (const legacy of LEGACY_MSN_HOSTS) add(legacy);

  const files = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    serverChain: join(dir, 'server-chain.crt'),
  };

  await mkdir(dir, { recursive: true });
  if (existsSync(files.serverCert) && !options.force) {
    throw new PapillonError(
      'conflict',
      `${files.serverCert} already exists; pass --force to replace it (the CA in ${files.caCert} is kept)`,
    );
  }

  const now = Date.now();
  const ca = await loadOrCreateCa(files.caCert, files.caKey, domain, algorithm, now);
  // A certificate cannot outlive its issuer.
  const notAfter = new Date(Math.min(now + days * DAY_MS, Date.parse(ca.x509.validTo)));

  const server = await generate(
    [
      { name: 'commonName', value: domain },
      { name: 'organizationName', value: 'Papillon' },
    ],
    {
      keyType: 'rsa',
      keySize: 2048,
      algorithm,
      notBeforeDate: new Date(now - BACKDATE_MS),
      notAfterDate: notAfter,
      ca: { key: ca.key, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        // keyEncipherment: old clients negotiate RSA key exchange.
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            ...hosts.map((value) => ({ type: 2 as const, value })),
            ...ipAddresses.map((ip) => ({ type: 7 as const, ip })),
          ],
        },
      ],
    },
  );

  const ensureNewline = (pem: string) => (pem.endsWith('\n') ? pem : `${pem}\n`);
  await writeFileReplacing(files.serverKey, server.private, 0o600);
  await writeFileReplacing(files.serverCert, ensureNewline(server.cert), 0o644);
  await writeFileReplacing(
    files.serverChain,
    ensureNewline(server.cert) + ensureNewline(ca.cert.trim()),
    0o644,
  );

  return {
    dir,
    ...files,
    hosts,
    ipAddresses,
    caCreated: ca.created,
    signatureAlgorithm: algorithm,
    notAfter,
  };
}

/** Plain-text setup notes for the operator, printed after `createCertificates`. */
export function certificateInstructions(
  files: CertificateFiles,
  options: { domain: string; serverAddress?: string },
): string {
  const address = options.serverAddress?.trim() || '127.0.0.1';
  const hostsLines = LEGACY_MSN_HOSTS.map((host) => `  ${address} ${host}`);
  const lines = [
    `Certificates for ${options.domain} are in ${files.dir}:`,
    `  CA certificate      ${files.caCert}${files.caCreated ? '' : ' (existing CA reused)'}`,
    `  CA private key      ${files.caKey} (keep it secret; anyone holding it can impersonate any site to clients that trust the CA)`,
    `  server certificate  ${files.serverCert} (valid until ${files.notAfter.toISOString().slice(0, 10)})`,
    `  server private key  ${files.serverKey}`,
    `  server chain        ${files.serverChain} (server certificate + CA; serve this together with server.key)`,
    '',
    'Install the CA certificate (ca.crt) as a trusted root on every client machine:',
    '  Windows (Vista and later), from an administrator command prompt:',
    '    certutil -addstore -f Root ca.crt',
    '    or run certmgr.msc (or certlm.msc), open Trusted Root Certification Authorities > Certificates,',
    '    right-click > All Tasks > Import and pick ca.crt.',
    '  Windows XP / 2000: Internet Options > Content > Certificates > Trusted Root Certification',
    '    Authorities > Import, pick ca.crt and accept the warning. (Double-clicking ca.crt >',
    '    Install Certificate > "Trusted Root Certification Authorities" works too.)',
    '  Linux (Debian/Ubuntu):',
    '    sudo cp ca.crt /usr/local/share/ca-certificates/papillon-ca.crt && sudo update-ca-certificates',
    '  Linux (Fedora/RHEL/Arch, p11-kit):',
    '    sudo trust anchor --store ca.crt',
    '  macOS:',
    '    sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ca.crt',
  ];
  if (files.signatureAlgorithm === 'sha256') {
    lines.push(
      '  Windows XP before SP3 cannot check SHA-256 signatures: update it to SP3, or regenerate',
      '  with the legacy SHA-1 option (--legacy-sha1 --force) for those machines.',
    );
  }
  lines.push(
    '',
    'Point legacy MSN Messenger clients at the server by adding these lines to the hosts file',
    '(Windows NT/2000/XP and later: C:\\Windows\\System32\\drivers\\etc\\hosts; Windows 9x/ME:',
    'C:\\Windows\\hosts; Linux/macOS: /etc/hosts):',
    ...hostsLines,
  );
  if (options.serverAddress === undefined) {
    lines.push("  (127.0.0.1 is for a client on the server machine; use the server's address elsewhere.)");
  }
  lines.push(
    '',
    `XMPP clients connect to ${options.domain} and check its name against this certificate: have them`,
    `trust the same CA (ca.crt), or accept/pin the server certificate (${files.serverCert}).`,
    '',
    'A running server picks the new certificate up on SIGHUP (kill -HUP <pid>, systemctl reload papillon)',
    'or `papillon reload`: new connections get it, signed-in users stay signed in.',
    '',
  );
  return lines.join('\n');
}
