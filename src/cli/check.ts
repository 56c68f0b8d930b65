/**
 * `papillon check`, as `prosodyctl check` does for Prosody: every thing an operator
 * gets wrong before the first start, each with a verdict and what to do about it.
 * Nothing is changed: no directory or database is created, no migration runs.
 * Exit 1 when something is wrong (warnings alone exit 0).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Command } from 'commander';
import pg from 'pg';
import {
  type Config,
  configFileOf,
  databaseTarget,
  envName,
  loadConfig,
  maskUrlPassword,
  tlsFiles,
} from '../server/config.ts';
import { LOCK_FILE, lockHolder } from '../server/data-dir.ts';
import { PORT_KEYS } from '../server/startup-errors.ts';
import { LEGACY_MSN_HOSTS } from '../util/msn-hosts.ts';

type Verdict = 'ok' | 'warn' | 'fail';
interface Finding {
  verdict: Verdict;
  what: string;
  detail?: string;
}

const MARK: Record<Verdict, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };
const DAY_MS = 24 * 60 * 60 * 1000;
const TIMEOUT_MS = 5_000;

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description(
      'check the configuration, certificates, ports, data directory and database before starting (exit 1 on a problem)',
    )
    .action(async (_opts: unknown, command: Command) => {
      const { config: file } = command.optsWithGlobals<{ config?: string }>();
      const findings = await runChecks(configFileOf(file));
      for (const f of findings) {
        process.stdout.write(`${MARK[f.verdict]}  ${f.what}${f.detail ? `\n        ${f.detail}` : ''}\n`);
      }
      const failed = findings.filter((f) => f.verdict === 'fail').length;
      const warned = findings.filter((f) => f.verdict === 'warn').length;
      process.stdout.write(
        failed > 0
          ? `\n${failed} problem(s) to fix before starting${warned ? `, ${warned} warning(s)` : ''}\n`
          : `\nall good${warned ? ` (${warned} warning(s))` : ''}\n`,
      );
      if (failed > 0) process.exitCode = 1;
    });
}

export async function runChecks(configFile: string | undefined): Promise<Finding[]> {
  let config: Config;
  try {
    config = loadConfig({ file: configFile });
  } catch (err) {
    return [{ verdict: 'fail', what: 'configuration', detail: (err as Error).message }];
  }
  const findings: Finding[] = [
    {
      verdict: 'ok',
      what: `configuration${configFile ? ` (${configFile} and PAPILLON_*)` : ' (PAPILLON_*)'}`,
    },
  ];
  findings.push(...checkProxy(config));
  findings.push(...checkDataDir(config));
  findings.push(...checkCertificate(config));
  findings.push(...(await checkPorts(config)));
  findings.push(...(await checkServices(config)));
  return findings;
}

function checkProxy(config: Config): Finding[] {
  if (config.publicUrl !== undefined) return [{ verdict: 'ok', what: `public URL ${config.publicUrl}` }];
  if (config.domain === 'localhost') return [];
  return [
    {
      verdict: 'warn',
      what: 'publicUrl (PAPILLON_PUBLIC_URL) is unset',
      detail: `OAuth's issuer and absolute links follow the Host header; set it to the address people use, e.g. https://${config.domain}`,
    },
  ];
}

/** Group or others may read it: the keys and the database are in there. */
function looseMode(file: string): string | undefined {
  const mode = statSync(file).mode & 0o777;
  return mode & 0o077 ? mode.toString(8).padStart(4, '0') : undefined;
}

function checkDataDir(config: Config): Finding[] {
  const dir = config.dataDir;
  if (!existsSync(dir)) {
    return [
      {
        verdict: 'warn',
        what: `data directory ${dir} does not exist yet`,
        detail:
          'the server creates it (0700) on first start; if the server already ran, PAPILLON_DATA_DIR or --config point elsewhere',
      },
    ];
  }
  const out: Finding[] = [];
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
    const loose = looseMode(dir);
    out.push(
      loose
        ? {
            verdict: 'warn',
            what: `data directory ${dir} is mode ${loose}`,
            detail: `others on this machine can look inside; chmod 700 ${dir}`,
          }
        : { verdict: 'ok', what: `data directory ${dir} (0700)` },
    );
  } catch {
    out.push({
      verdict: 'fail',
      what: `data directory ${dir} is not writable by this user`,
      detail: 'run papillon as the user the server runs as (e.g. sudo -u papillon papillon check)',
    });
  }
  const holder = lockHolder(dir);
  if (holder !== undefined)
    out.push({ verdict: 'ok', what: `a Papillon server runs on it (pid ${holder}, ${LOCK_FILE})` });
  const target = databaseTarget(config);
  if (target.kind === 'sqlite' && target.path !== ':memory:') {
    if (!existsSync(target.path)) {
      out.push({
        verdict: 'warn',
        what: `no database at ${target.path} yet`,
        detail: 'the server creates it on first start',
      });
    } else {
      const loose = looseMode(target.path);
      out.push(
        loose
          ? {
              verdict: 'fail',
              what: `database ${target.path} is mode ${loose}`,
              detail: `it holds password hashes and tokens; chmod 600 ${target.path}`,
            }
          : { verdict: 'ok', what: `database ${target.path} (0600)` },
      );
    }
  }
  return out;
}

function checkCertificate(config: Config): Finding[] {
  let files: ReturnType<typeof tlsFiles>;
  try {
    files = tlsFiles(config);
  } catch (err) {
    return [{ verdict: 'fail', what: 'TLS certificate', detail: (err as Error).message }];
  }
  if (!files) {
    return [
      {
        verdict: 'warn',
        what: 'no TLS certificate: HTTPS is off and XMPP clients cannot use TLS',
        detail: 'run papillon certs, or set PAPILLON_TLS_CERT and PAPILLON_TLS_KEY',
      },
    ];
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(readFileSync(files.cert));
  } catch (err) {
    return [
      {
        verdict: 'fail',
        what: `certificate ${files.cert} (${envName('tlsCert')})`,
        detail: readError(err, 'a PEM certificate'),
      },
    ];
  }
  const out: Finding[] = [];
  try {
    const key = createPrivateKey(readFileSync(files.key));
    out.push(
      x509.checkPrivateKey(key)
        ? { verdict: 'ok', what: `key ${files.key} matches the certificate` }
        : {
            verdict: 'fail',
            what: `key ${files.key} (${envName('tlsKey')}) does not belong to ${files.cert}`,
          },
    );
  } catch (err) {
    out.push({
      verdict: 'fail',
      what: `key ${files.key} (${envName('tlsKey')})`,
      detail: readError(err, 'a PEM private key'),
    });
  }
  const left = Date.parse(x509.validTo) - Date.now();
  const until = new Date(x509.validTo).toISOString().slice(0, 10);
  if (left <= 0) {
    out.push({
      verdict: 'fail',
      what: `certificate ${files.cert} expired on ${until}`,
      detail: 'renew it (papillon certs --force), then restart the server',
    });
  } else if (left < 30 * DAY_MS) {
    out.push({
      verdict: 'warn',
      what: `certificate ${files.cert} expires on ${until}, in ${Math.ceil(left / DAY_MS)} day(s)`,
    });
  } else {
    out.push({ verdict: 'ok', what: `certificate ${files.cert} valid until ${until}` });
  }
  out.push(
    x509.checkHost(config.domain) !== undefined
      ? { verdict: 'ok', what: `certificate names the domain ${config.domain}` }
      : {
          verdict: 'fail',
          what: `certificate does not name the domain ${config.domain}`,
          detail: 'XMPP clients will refuse it; make one that does (papillon certs --force)',
        },
  );
  const missing = LEGACY_MSN_HOSTS.filter((host) => x509.checkHost(host) === undefined);
  out.push(
    missing.length === 0
      ? { verdict: 'ok', what: `certificate names all ${LEGACY_MSN_HOSTS.length} MSN host names` }
      : {
          verdict: 'warn',
          what: `certificate lacks ${missing.length} MSN host name(s): ${missing.join(', ')}`,
          detail:
            'MSN Messenger clients reaching those names over HTTPS will refuse it (papillon certs makes one with all of them)',
        },
  );
  return out;
}

function readError(err: unknown, kind: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'not readable by this user';
  return `not ${kind}`;
}

async function checkPorts(config: Config): Promise<Finding[]> {
  const running = lockHolder(config.dataDir);
  const out: Finding[] = [];
  for (const key of PORT_KEYS) {
    const port = config[key];
    if (port === 0) continue;
    const setting = `${key} (${envName(key)})`;
    const error = await tryListen(config.bind, port);
    if (error === undefined)
      out.push({ verdict: 'ok', what: `port ${port} free on ${config.bind}: ${setting}` });
    else if (error === 'EADDRINUSE' && running !== undefined)
      out.push({
        verdict: 'ok',
        what: `port ${port} on ${config.bind} in use, by the running server (pid ${running}): ${setting}`,
      });
    else if (error === 'EADDRINUSE')
      out.push({
        verdict: 'fail',
        what: `port ${port} on ${config.bind} is taken by another program: ${setting}`,
        detail: `find it with ss -ltnp 'sport = :${port}'`,
      });
    else if (error === 'EACCES')
      out.push({
        verdict: 'fail',
        what: `port ${port} needs privileges this user lacks: ${setting}`,
        detail: 'ports below 1024 need CAP_NET_BIND_SERVICE (contrib/papillon.service grants it)',
      });
    else if (error === 'EADDRNOTAVAIL')
      return [
        { verdict: 'fail', what: `bind (PAPILLON_BIND): ${config.bind} is not an address of this machine` },
      ];
    else out.push({ verdict: 'fail', what: `port ${port} on ${config.bind}: ${error}: ${setting}` });
  }
  return out;
}

function tryListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

async function checkServices(config: Config): Promise<Finding[]> {
  const out: Finding[] = [];
  const target = databaseTarget(config);
  if (target.kind === 'postgres') {
    const shown = maskUrlPassword(target.url);
    const client = new pg.Client({ connectionString: target.url, connectionTimeoutMillis: TIMEOUT_MS });
    try {
      await client.connect();
      const { rows } = await client.query<{ server_version: string }>('show server_version');
      out.push({ verdict: 'ok', what: `PostgreSQL ${rows[0]?.server_version ?? ''} reachable at ${shown}` });
    } catch (err) {
      out.push({
        verdict: 'fail',
        what: `PostgreSQL at ${shown} (PAPILLON_DATABASE_URL)`,
        detail: (err as Error).message,
      });
    } finally {
      await client.end().catch(() => {});
    }
  }
  if (config.redisUrl) {
    const shown = maskUrlPassword(config.redisUrl);
    const reply = await redisPing(config.redisUrl);
    out.push(
      reply.startsWith('+PONG') || reply.startsWith('-NOAUTH')
        ? { verdict: 'ok', what: `Redis reachable at ${shown}` }
        : { verdict: 'fail', what: `Redis at ${shown} (PAPILLON_REDIS_URL)`, detail: reply },
    );
  }
  return out;
}

/** One PING in RESP (with AUTH first when the URL carries a password): the first reply line, or the error. */
function redisPing(url: string): Promise<string> {
  const u = new URL(url);
  const port = Number(u.port || 6379);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const user = u.username ? decodeURIComponent(u.username) : undefined;
  const command = (...args: string[]) =>
    `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve) => {
    const socket: Socket =
      u.protocol === 'rediss:'
        ? tlsConnect({ host, port, servername: host })
        : createConnection({ host, port });
    let buffer = '';
    const done = (text: string) => {
      socket.destroy();
      resolve(text);
    };
    socket.setTimeout(TIMEOUT_MS, () => done(`no answer in ${TIMEOUT_MS / 1000} s`));
    socket.once('error', (err) => done(err.message));
    socket.once(u.protocol === 'rediss:' ? 'secureConnect' : 'connect', () => {
      const auth = password ? (user ? command('AUTH', user, password) : command('AUTH', password)) : '';
      socket.write(auth + command('PING'));
    });
    socket.on('data', (d) => {
      buffer += d;
      const lines = buffer.split('\r\n').filter((l) => l !== '');
      if (password && lines[0]?.startsWith('-')) done(lines[0]);
      else if (lines.length >= (password ? 2 : 1)) done(lines[password ? 1 : 0] ?? '');
    });
  });
}
