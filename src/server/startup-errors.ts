/**
 * Start-up failures the operator can fix, told as one line naming the setting at
 * fault (printed without a stack trace by the CLI), instead of Node's EADDRINUSE.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PapillonError } from '../util/errors.ts';
import { type Config, envName, maskUrlPassword, type TlsFiles } from './config.ts';

/** The listening ports' settings (`papillon check` tries each). */
export const PORT_KEYS = ['msnpPort', 'sbPort', 'xmppPort', 'xmppsPort', 'httpPort', 'httpsPort'] as const;

/** Settings that may have asked for `port` (two settings may name the same port). */
function settingsFor(config: Config, port: unknown): string {
  const keys = PORT_KEYS.filter((k) => config[k] === port);
  return keys.length === 0 ? 'a port setting' : keys.map((k) => `${envName(k)} (${k})`).join(' and ');
}

/** Redis unreachable at start (the bus, the shared limits): one line naming the setting. */
export function redisUnreachable(url: string, err: unknown): PapillonError {
  return new PapillonError(
    'bad-config',
    `cannot reach Redis at ${maskUrlPassword(url)} (PAPILLON_REDIS_URL, redisUrl): ${(err as Error).message}`,
  );
}

/** A listen error as a PapillonError naming the setting; anything else unchanged. */
export function explainListenError(err: unknown, config: Config): unknown {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  const port = e?.port;
  switch (e?.code) {
    case 'EADDRINUSE':
      return new PapillonError(
        'bad-config',
        `port ${port} on ${config.bind} is already in use (${settingsFor(config, port)}): ` +
          'stop the program holding it (another Papillon?) or choose another port',
      );
    case 'EACCES':
      return new PapillonError(
        'bad-config',
        `no permission to listen on port ${port} (${settingsFor(config, port)}): ports below 1024 need ` +
          'CAP_NET_BIND_SERVICE (contrib/papillon.service grants it) or root, or choose a port above 1023',
      );
    case 'EADDRNOTAVAIL':
      return new PapillonError(
        'bad-config',
        `cannot listen on ${e.address ?? config.bind} (PAPILLON_BIND, bind): no such address on this machine`,
      );
    default:
      return err;
  }
}

/**
 * Reads the certificate chain and key, and checks they parse and belong together, so
 * a bad file stops the start naming PAPILLON_TLS_CERT / PAPILLON_TLS_KEY.
 */
export function readTlsFiles(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const read = (file: string, key: 'tlsCert' | 'tlsKey') => {
    try {
      return readFileSync(file);
    } catch (err) {
      const reason =
        (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      throw new PapillonError('bad-config', `cannot read ${file} (${envName(key)}, ${key}): ${reason}`);
    }
  };
  const cert = read(files.cert, 'tlsCert');
  const key = read(files.key, 'tlsKey');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new PapillonError(
      'bad-config',
      `${files.cert} (PAPILLON_TLS_CERT, tlsCert) is not a PEM certificate`,
    );
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new PapillonError('bad-config', `${files.key} (PAPILLON_TLS_KEY, tlsKey) is not a PEM private key`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new PapillonError(
      'bad-config',
      `the key ${files.key} (PAPILLON_TLS_KEY) does not belong to the certificate ${files.cert} (PAPILLON_TLS_CERT)`,
    );
  }
  return { cert, key };
}
