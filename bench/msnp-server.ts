import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createCertificates } from '../src/cli/certs.ts';
import { Credentials } from '../src/core/credentials.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../src/store/types.ts';
import { newId } from '../src/util/ids.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const BENCH_PASSWORD = 'bench-password';

export function benchHandle(index: number): string {
  return `bench${index}@localhost`;
}

/**
 * Certificates in `<dataDir>/certs` and `count` accounts in `<dataDir>/papillon.sqlite`,
 * written straight into the store before the server starts; with `contacts`, each
 * account also has that many mutual contacts (`mutualContacts`).
 */
export async function prepareDataDir(dataDir: string, count: number, contacts = 0): Promise<void> {
  await createCertificates({ dir: path.join(dataDir, 'certs'), domain: 'localhost' });
  const store = await openSqliteStore(path.join(dataDir, 'papillon.sqlite'));
  try {
    await store.migrate();
    await seedAccounts(store, count, contacts);
  } finally {
    await store.close();
  }
}

/** `count` bench accounts (`benchHandle`) in a migrated `store`, with `contacts` mutual contacts each. */
export async function seedAccounts(store: Store, count: number, contacts = 0): Promise<void> {
  // One set of SCRAM keys and MD5 salt shared by every account: a real server salts
  // each password separately, but deriving keys for 2000 passwords would take
  // longer than the benchmark, and the server's work per login is the same.
  const credentials = await new Credentials(store).forPassword(BENCH_PASSWORD);
  const now = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const handle = benchHandle(i);
    const id = newId();
    ids.push(id);
    await store.createAccount(
      { id, handle, displayName: `Bench ${i}`, privacy: 'allow-all', createdAt: now },
      credentials,
    );
  }
  await mutualContacts(store, ids, contacts);
}

/**
 * Each account's `wanted` nearest neighbours on a ring of all accounts (rounded down
 * to an even number, and to `ids.length - 1`) become mutual contacts: both on each
 * other's forward and allow lists, the addition acknowledged, as after "X has added
 * you" was accepted. Neighbours sign in close together, so presence flows both ways.
 */
export async function mutualContacts(store: Store, ids: readonly string[], wanted: number): Promise<void> {
  const half = contactsPerAccount(ids.length, wanted) / 2;
  const both = { forward: true, allow: true, noticed: true };
  for (let i = 0; i < ids.length; i++) {
    for (let d = 1; d <= half; d++) {
      const a = ids[i] as string;
      const b = ids[(i + d) % ids.length] as string;
      await store.updateRelationship(a, b, both);
      await store.updateRelationship(b, a, both);
    }
  }
}

/** How many contacts each account gets from `mutualContacts` among `accounts`. */
export function contactsPerAccount(accounts: number, wanted: number): number {
  return 2 * Math.floor(Math.min(wanted, accounts - 1) / 2);
}

export interface ServerLogSummary {
  warnings: number;
  errors: number;
  /** How often each warning/error message was logged (the first 8 different ones), for the report. */
  samples: Map<string, number>;
}

/** The server as a child process (`node bin/papillon.js serve`), every port chosen by the OS. */
export class ServerProcess {
  readonly ports = new Map<string, number>();
  readonly log: ServerLogSummary = { warnings: 0, errors: 0, samples: new Map() };
  private readonly exited: Promise<number | null>;
  private stderrTail: string[] = [];
  private hasExited = false;

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.hasExited = true;
        resolve(code ?? (signal ? -1 : null));
      });
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.stderrTail.push(text);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /** Spawns the server and resolves once it logged `ready` (and which ports it listens on). */
  static async start(
    dataDir: string,
    options: {
      cpuProfileDir?: string;
      heapSnapshotDir?: string;
      timeoutMs: number;
      /** Settings added to this process's environment and the defaults here (a cluster node's). */
      env?: Record<string, string>;
    },
  ): Promise<ServerProcess> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PAPILLON_DATA_DIR: dataDir,
      PAPILLON_MSNP_PORT: '0',
      PAPILLON_SB_PORT: '0',
      PAPILLON_HTTP_PORT: '0',
      PAPILLON_HTTPS_PORT: '0',
      PAPILLON_XMPP_PORT: '0',
      PAPILLON_XMPPS_PORT: '0',
      PAPILLON_LOG_LEVEL: 'info',
      ...options.env,
    };
    const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
    if (options.heapSnapshotDir) {
      nodeArgs.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${options.heapSnapshotDir}`);
    }
    const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'bin', 'papillon.js'), 'serve'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ServerProcess(child);
    await server.waitReady(options.timeoutMs);
    return server;
  }

  private waitReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        reject(new Error(`server not ready after ${timeoutMs} ms${this.describeStderr()}`));
      }, timeoutMs);
      const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
      // Read every line for the whole run: an unread pipe would block the server.
      lines.on('line', (line) => {
        let entry: {
          level?: number;
          msg?: string;
          listener?: string;
          port?: number;
          err?: { message?: string };
        };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          return;
        }
        if (typeof entry.listener === 'string' && typeof entry.port === 'number') {
          this.ports.set(entry.listener, entry.port);
        }
        const level = entry.level ?? 0;
        if (level >= 40) {
          if (level >= 50) this.log.errors++;
          else this.log.warnings++;
          const text = `${level >= 50 ? 'error' : 'warn'}: ${entry.msg}${entry.err?.message ? ` (${entry.err.message})` : ''}`;
          const seen = this.log.samples.get(text);
          if (seen !== undefined || this.log.samples.size < 8) this.log.samples.set(text, (seen ?? 0) + 1);
        }
        if (!ready && entry.msg === 'ready') {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      void this.exited.then((code) => {
        if (ready) return;
        clearTimeout(timer);
        reject(new Error(`server exited (${code}) before it was ready${this.describeStderr()}`));
      });
    });
  }

  port(name: string): number {
    const port = this.ports.get(name);
    if (port === undefined) throw new Error(`the server did not log a '${name}' listener`);
    return port;
  }

  /** Resident set size in bytes (`VmRSS` of /proc/<pid>/status). */
  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    if (kb === undefined) throw new Error('no VmRSS in /proc/<pid>/status');
    return Number(kb) * 1024;
  }

  /** CPU time used so far (user + system), in milliseconds, from /proc/<pid>/stat. */
  cpuMs(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  }

  /**
   * Has the server write a heap snapshot into `dir` (it must run with `heapSnapshotDir`
   * = `dir`); resolves with its path once the file stops growing. V8 collects garbage
   * before taking it, so the snapshot holds live objects only.
   */
  async heapSnapshot(dir: string, timeoutMs: number): Promise<string> {
    const known = new Set(readdirSync(dir));
    this.child.kill('SIGUSR2');
    const until = Date.now() + timeoutMs;
    let file: string | undefined;
    let lastSize = -1;
    let stable = 0;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 250));
      file ??= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !known.has(f));
      if (!file) continue;
      const size = statSync(path.join(dir, file)).size;
      stable = size > 0 && size === lastSize ? stable + 1 : 0;
      if (stable >= 2) return path.join(dir, file);
      lastSize = size;
    }
    throw new Error(`no heap snapshot after ${timeoutMs} ms`);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `timeoutMs`. Resolves with the exit code. */
  async stop(timeoutMs: number): Promise<number | null> {
    if (this.hasExited) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** Synchronous last resort (process `exit` handler). */
  kill(): void {
    if (!this.hasExited) this.child.kill('SIGKILL');
  }

  private describeStderr(): string {
    const text = this.stderrTail.join('').trim();
    return text ? `; stderr:\n${text}` : '';
  }
}

/** The open-file limits of a process (`Max open files` in /proc/<pid>/limits); undefined if unknown. */
export function openFileLimits(pid: number | 'self' = 'self'): { soft: number; hard: number } | undefined {
  try {
    const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
    if (!m?.[1] || !m[2]) return undefined;
    const value = (v: string) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
    return { soft: value(m[1]), hard: value(m[2]) };
  } catch {
    return undefined;
  }
}
