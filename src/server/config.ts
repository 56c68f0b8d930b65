import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { NAMED_RANGES } from '../util/address-list.ts';
import { PapillonError } from '../util/errors.ts';

const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be a whole number')
  .min(0, 'must be 0 (any free port) to 65535')
  .max(65535, 'must be 0 (any free port) to 65535');

/** The install's own `data/` folder: the same directory whichever directory the CLI runs from. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../data', import.meta.url));

/** `<hostname>-<pid>-<random>`: one per process, so a reload reads the same value. */
const HOST = hostname()
  .replace(/[^\w.-]/g, '_')
  .slice(0, 60);
const DEFAULT_NODE_ID = `${HOST}-${process.pid}-${randomBytes(3).toString('hex')}`;

/** The configuration file read when neither `--config` nor PAPILLON_CONFIG names one (as prosodyctl reads /etc/prosody). */
export const SYSTEM_CONFIG_FILE = '/etc/papillon/config.json';

/** `--config`, else PAPILLON_CONFIG, else /etc/papillon/config.json when it exists. */
export function configFileOf(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (explicit) return explicit;
  if (env.PAPILLON_CONFIG) return env.PAPILLON_CONFIG;
  return existsSync(SYSTEM_CONFIG_FILE) ? SYSTEM_CONFIG_FILE : undefined;
}

/** proxy-addr's named ranges, and addresses or CIDR blocks. */
const PROXY_NAMES = new Set(Object.keys(NAMED_RANGES));
function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address = '', bits, extra] = entry.split('/');
  if (extra !== undefined || isIP(address) === 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (isIP(address) === 4 ? 32 : 128));
}

/** A list of proxies: a JSON array, or comma separated (`false` or empty: none). */
const proxyAddresses = z
  .union([z.string(), z.array(z.string())])
  .transform((v) =>
    (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s !== '' && s !== 'false'),
  )
  .refine((list) => list.every(isProxyAddress), {
    message: 'must be proxy addresses or CIDR blocks (or loopback, linklocal, uniquelocal), comma separated',
  });

/** A web origin: `http(s)://host[:port]`, nothing after. */
function isOrigin(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (
    /^https?:$/.test(url.protocol) &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === '' &&
    url.username === ''
  );
}

const DATABASE_URL = /^(postgres(ql)?:\/\/|sqlite:|file:)/;

/**
 * The whole configuration: one schema, its defaults, and its documentation.
 * Sources, later wins: defaults < `--config FILE` (JSON, these key names) <
 * environment `PAPILLON_<KEY>` (the key in upper snake case, e.g. `httpPort` →
 * `PAPILLON_HTTP_PORT`). The README's configuration table lists the same keys.
 */
export const configSchema = z
  .object({
    /**
     * Where the SQLite file, certificates and other state live. Unset: the install's
     * `data/` folder; a relative path in a config file is relative to that file.
     */
    dataDir: z.string().min(1).default(DEFAULT_DATA_DIR),
    /** The domain this server is: XMPP domain, and the domain of its accounts' handles. */
    domain: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i, 'must be a host name')
      .transform((d) => d.toLowerCase())
      .default('localhost'),
    /** Unset: `<dataDir>/papillon.sqlite`. `postgres://…` selects PostgreSQL; `sqlite:PATH` a SQLite file. */
    databaseUrl: z
      .string()
      .regex(DATABASE_URL, 'must start with postgres://, postgresql://, sqlite: or file:')
      .optional(),
    /** Unset: the in-process bus (one node). */
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
    /**
     * Prefix of every Redis key and channel, with `redisUrl`: the nodes of one deployment
     * share it; two deployments on one Redis need different ones.
     */
    redisKeyPrefix: z
      .string()
      .regex(/^[\x21-\x7e]{1,64}$/, 'must be 1 to 64 visible ASCII characters')
      .default('papillon:'),
    /** This node's name in a cluster (Redis bus): unique per running server. */
    nodeId: z
      .string()
      .regex(/^[\w.:@-]{1,100}$/, 'must be 1 to 100 letters, digits or . _ : @ -')
      .default(DEFAULT_NODE_ID),
    /** With the Redis bus: a node silent this long is taken for dead and its users shown offline. */
    nodeTimeoutSeconds: z.coerce.number().int().min(2).max(3600).default(15),
    /** Address the listeners bind to. */
    bind: z.string().min(1).default('127.0.0.1'),
    /**
     * Host name or address MSN clients are sent to in referrals (XFR, RNG). Unset: the
     * address each client connected to, which is right unless a proxy or NAT sits between.
     */
    publicHost: z
      .string()
      .regex(/^[a-z0-9.:[\]-]+$/i, 'must be a host name or IP address')
      .optional(),
    /**
     * Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (fastify's
     * trustProxy): addresses, CIDR blocks or `loopback`, `linklocal`, `uniquelocal`, comma
     * separated. Unset: none, and the socket's address is the client's.
     */
    trustProxy: proxyAddresses.default([]),
    /**
     * TCP load balancers that put a PROXY protocol header (HAProxy `send-proxy-v2`, v1 or v2)
     * before every connection to the MSNP, XMPP and HTTP(S) ports: addresses, CIDR blocks or
     * the named ranges above, comma separated. A connection from one of them must start with
     * the header, whose client address then counts (throttles, limits, logs); from anywhere
     * else none is read. Unset: none, and no header is expected.
     */
    proxyProtocol: proxyAddresses.default([]),
    /**
     * The external base URL (`https://chat.example.org`): OAuth's issuer, the Passport Nexus
     * and every absolute URL use it instead of the request's Host header. Unset: the Host header.
     */
    publicUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .refine((u) => {
        const url = URL.canParse(u) ? new URL(u) : undefined;
        return url?.pathname === '/' && url.search === '' && url.hash === '' && url.username === '';
      }, 'must be a scheme and host only, like https://chat.example.org')
      .transform((u) => new URL(u).origin)
      .optional(),
    msnpPort: port.default(1863),
    /** A switchboard with no message for this long is closed (its members get BYE … 1). */
    sbIdleSeconds: z.coerce.number().int().min(1).max(86_400).default(600),
    sbPort: port.default(1864),
    xmppPort: port.default(5222),
    /** RFC 6120 §5.3.1: XMPP clients must use TLS (STARTTLS or direct TLS). */
    xmppRequireTls: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .default(true),
    /**
     * Memory all connections together may hold for their clients (output not yet read,
     * input not yet handled); past it the connections holding most are closed. Unset: a
     * quarter of the JavaScript heap limit, at most 256 MB.
     */
    memoryBudgetMb: z.coerce.number().int().min(1).max(1_048_576).optional(),
    /** RFC 6120 §13.12: the largest stanza accepted (at least 10,000 bytes). */
    xmppMaxStanzaBytes: z.coerce
      .number()
      .int()
      .min(10_000)
      .max(16 * 1024 * 1024)
      .default(256 * 1024),
    xmppsPort: port.default(5223),
    /** Seconds an XMPP connection has to authenticate and bind a resource, however busy it is (issue 13). */
    xmppLoginTimeoutSeconds: z.coerce.number().int().min(1).max(3600).default(30),
    /** Seconds a TLS handshake (direct TLS, STARTTLS, HTTPS) may take before the connection is dropped. */
    tlsHandshakeTimeoutSeconds: z.coerce.number().int().min(1).max(300).default(10),
    /**
     * Connections one address (an IPv6 /64) may hold open before signing in, per protocol:
     * XMPP (TCP, TLS and WebSocket together) and MSNP; past it new ones are refused and
     * logged (0: no limit). The HTTP gateway keeps its own limit of 32. High enough for
     * everyone behind one NAT reconnecting at once after a restart (issue 13 item 4: 100
     * sign-ins in flight from one address must all get in); the log-in deadline bounds
     * how long each place is held.
     */
    unauthenticatedPerAddress: z.coerce.number().int().min(0).max(100_000).default(256),
    /** Seconds an HTTP client has to send a whole request, headers and body (0: no limit). */
    httpRequestTimeoutSeconds: z.coerce.number().int().min(0).max(3600).default(30),
    /** XEP-0198 §5: seconds an XMPP session whose connection dropped waits to be resumed (0: no resumption). */
    xmppResumeSeconds: z.coerce.number().int().min(0).max(86_400).default(300),
    /**
     * Web pages on other origins whose scripts may use XMPP over WebSocket (`/xmpp-websocket`):
     * origins like `https://app.example.org`, or `*` for any, comma separated. This server's
     * own origin (`publicUrl`, else the Host it was reached by) and clients that send no
     * Origin header (not browsers) may always connect (RFC 6455 §10.2).
     */
    xmppWebOrigins: z
      .union([z.string(), z.array(z.string())])
      .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s !== ''))
      .refine((list) => list.every((o) => o === '*' || isOrigin(o)), {
        message: 'must be origins like https://app.example.org (scheme and host only) or *, comma separated',
      })
      .transform((list) => list.map((o) => (o === '*' ? o : new URL(o).origin)))
      .default([]),
    httpPort: port.default(8080),
    httpsPort: port.default(8443),
    /** TLS certificate chain and key (PEM). Unset: `<dataDir>/certs/server-chain.crt` and `server.key` if present. */
    tlsCert: z.string().optional(),
    tlsKey: z.string().optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** `pretty` (one readable line per event) or `json` (JSON lines). Unset: pretty on a terminal, JSON otherwise. */
    logFormat: z.enum(['pretty', 'json']).optional(),
    /** Serve Prometheus metrics (`GET /metrics`) on their own listener, `metricsBind`:`metricsPort`. */
    metrics: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false),
    /** The admin address metrics are served on: never the public HTTP port. */
    metricsBind: z.string().min(1).default('127.0.0.1'),
    metricsPort: port.default(9863),
    /** Minimum password length for self-service sign-up and password changes (the CLI only warns). */
    passwordMinLength: z.coerce.number().int().min(1).max(256).default(8),
    /**
     * Let MSN Messenger 1.0–4.7 sign in (MSNP2–7 `USR MD5`). That login needs a stored
     * MD5(salt + password) and its answer can be replayed (the salt is fixed per account);
     * off, those logins are refused and no MD5 form is kept (stored ones are cleared at start).
     */
    legacyMd5Login: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .default(true),
    /** Lifetime of OAuth access tokens (XMPP bearer sign-in, web APIs); refresh tokens renew them. */
    oauthAccessTokenSeconds: z.coerce.number().int().min(60).max(86_400).default(3600),
    /**
     * Who may create an account on the web pages: everyone, no one, or whoever has an
     * invitation (a one-time link from `papillon invite`, or `signupInviteCode`).
     */
    signup: z.enum(['open', 'closed', 'invite']).default('open'),
    /** A code everyone invited may share, when `signup` is `invite` (one-time links need none). */
    signupInviteCode: z.string().min(8, 'must be at least 8 characters').optional(),
    /** Accounts one address may create on the web pages per hour (0: no limit). */
    signupsPerHour: z.coerce.number().int().min(0).max(100_000).default(5),
    /** Days one-to-one messages stay in the accounts' archives (XEP-0313 MAM); 0 keeps none. */
    archiveDays: z.coerce.number().int().min(0).max(36_500).default(30),
    /** Serve OAuth's implicit grant (`response_type=token`, RFC 6749 §4.2) for old Live Connect apps. */
    oauthImplicit: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .default(true),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

export function envName(key: string): string {
  return `PAPILLON_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

export interface LoadOptions {
  /** Path of a JSON config file (`--config`). */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** Reads file and environment; a bad value throws `bad-config` naming the key and its source. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const source: Record<string, string> = {};
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      throw new PapillonError(
        'bad-config',
        `cannot read config file ${options.file}: ${(err as Error).message}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new PapillonError(
        'bad-config',
        `config file ${options.file} is not valid JSON: ${(err as Error).message}`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new PapillonError('bad-config', `config file ${options.file} must hold a JSON object`);
    }
    for (const [key, value] of Object.entries(parsed)) {
      raw[key] = value;
      source[key] = `${key} in ${options.file}`;
    }
  }
  // A relative path in a config file means relative to that file, not to wherever the CLI runs.
  if (options.file && typeof raw.dataDir === 'string') {
    raw.dataDir = path.resolve(path.dirname(path.resolve(options.file)), raw.dataDir);
  }
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') {
      raw[key] = value;
      source[key] = envName(key);
    }
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      if (issue.code === 'unrecognized_keys') {
        return `unknown setting ${issue.keys.map((k) => source[k] ?? k).join(', ')}`;
      }
      const where = source[key] ?? `${key} (${envName(key)})`;
      const given = key in raw ? ` (got ${JSON.stringify(raw[key])})` : '';
      return `${where}: ${issue.message}${given}`;
    });
    throw new PapillonError('bad-config', `invalid configuration: ${lines.join('; ')}`);
  }
  const config = { ...result.data, dataDir: path.resolve(result.data.dataDir) };
  dataDirOrigins.set(config, source.dataDir ?? 'the default');
  return config;
}

const dataDirOrigins = new WeakMap<Config, string>();

/** Where `dataDir` came from, for messages: `PAPILLON_DATA_DIR`, `dataDir in FILE` or `the default`. */
export function dataDirOrigin(config: Config): string {
  return dataDirOrigins.get(config) ?? 'the configuration';
}

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** Where the store lives, with the default SQLite file resolved under the data directory. */
export function databaseTarget(config: Config): DatabaseTarget {
  const url = config.databaseUrl;
  if (!url) return { kind: 'sqlite', path: path.resolve(config.dataDir, 'papillon.sqlite') };
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  const file = url.replace(/^(sqlite|file):(\/\/)?/, '');
  return { kind: 'sqlite', path: file === ':memory:' ? file : path.resolve(file) };
}

export interface TlsFiles {
  cert: string;
  key: string;
}

/** The configured certificate, or the one `papillon certs` made, or none. */
export function tlsFiles(config: Config): TlsFiles | undefined {
  if (config.tlsCert || config.tlsKey) {
    if (!config.tlsCert || !config.tlsKey) {
      throw new PapillonError(
        'bad-config',
        'tlsCert and tlsKey (PAPILLON_TLS_CERT, PAPILLON_TLS_KEY) go together',
      );
    }
    return { cert: path.resolve(config.tlsCert), key: path.resolve(config.tlsKey) };
  }
  const dir = path.resolve(config.dataDir, 'certs');
  const cert = path.join(dir, 'server-chain.crt');
  const key = path.join(dir, 'server.key');
  return existsSync(cert) && existsSync(key) ? { cert, key } : undefined;
}

/** A URL with its password replaced by `***`, for logs and `papillon config`. */
export function maskUrlPassword(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}

/** The effective configuration as `papillon config` prints it (secrets in URLs masked). */
export function describeConfig(config: Config): Record<string, unknown> {
  const mask = (url: string | undefined) => (url === undefined ? undefined : maskUrlPassword(url));
  const target = databaseTarget(config);
  return {
    ...config,
    databaseUrl: mask(config.databaseUrl) ?? `sqlite:${target.kind === 'sqlite' ? target.path : ''}`,
    redisUrl: mask(config.redisUrl) ?? null,
    signupInviteCode: config.signupInviteCode === undefined ? null : '***',
  };
}
