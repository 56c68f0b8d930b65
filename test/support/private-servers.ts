import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * Redis and PostgreSQL servers of a test's own, on free ports, which the test may stop
 * and start again (issue 11: "a Redis restart … the nodes reconnect by themselves", "a
 * PostgreSQL restart fails requests cleanly and the nodes recover"). The machine's
 * shared servers are never restarted: other tests run on them at the same time.
 */

/** A TCP port nothing listens on now (the kernel's pick, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

async function until(what: string, check: () => Promise<boolean>, deadlineMs = 15_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A `redis-server` without persistence: a restart comes back empty, as in many deployments. */
export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.startAgain();
    return redis;
  }

  /** Starts the server on its port (again) and waits until it answers PING. */
  async startAgain(): Promise<void> {
    const child = spawn(
      '/usr/bin/redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    await until(`redis-server on port ${this.port}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      const client = new Redis(this.url, {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    });
  }

  /** SIGTERM, as an operator's restart does, and waits for the process to end. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    child.kill('SIGTERM');
    await exited(child);
  }
}

/** The newest PostgreSQL server binaries installed (Debian's layout), if any. */
export function postgresBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

/**
 * A PostgreSQL cluster of its own (initdb into a temporary directory, `trust` for local
 * TCP), run with pg_ctl. PostgreSQL refuses to run as root, so as root the binaries run
 * as the `postgres` system user, which then owns the directory.
 */
export class PrivatePostgres {
  private constructor(
    readonly port: number,
    private readonly bin: string,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  static async start(): Promise<PrivatePostgres> {
    const bin = postgresBinaries();
    if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-pg-'));
    const server = new PrivatePostgres(await freePort(), bin, dir);
    try {
      mkdirSync(server.dataDir);
      if (process.getuid?.() === 0) {
        const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
        const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
        chownSync(dir, uid, gid);
        chownSync(server.dataDir, uid, gid);
      }
      server.run('initdb', [
        '-D',
        server.dataDir,
        '-U',
        'postgres',
        '-A',
        'trust',
        '--no-sync',
        '-E',
        'UTF8',
      ]);
      await server.startAgain();
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return server;
  }

  /** Runs one of the binaries (as `postgres` when we are root); its output only on failure. */
  private run(tool: string, args: string[]): void {
    const command = path.join(this.bin, tool);
    const asRoot = process.getuid?.() === 0;
    execFileSync(asRoot ? 'runuser' : command, asRoot ? ['-u', 'postgres', '--', command, ...args] : args, {
      stdio: 'pipe',
      cwd: this.dir,
    });
  }

  /** Starts the server (again) on its port and waits until it takes queries. */
  async startAgain(): Promise<void> {
    // No fsync (a throwaway cluster), no Unix socket (the temp directory may not suit it).
    const options = `-p ${this.port} -h 127.0.0.1 -k '' -F -c max_connections=50`;
    this.run('pg_ctl', ['-D', this.dataDir, '-o', options, '-l', path.join(this.dir, 'log'), '-w', 'start']);
    await this.waitReady();
  }

  /** Waits until the server takes queries (after a start, or its recovery from a crashed backend). */
  async waitReady(): Promise<void> {
    await until(`PostgreSQL on port ${this.port}`, async () => {
      const client = new pg.Client({ connectionString: this.url });
      client.on('error', () => {}); // refused or ended while the server starts
      try {
        await client.connect();
        await client.query('select 1');
        return true;
      } finally {
        await client.end().catch(() => {});
      }
    });
  }

  /** `pg_ctl stop -m fast`: open connections are ended, as at a restart. */
  async stop(): Promise<void> {
    this.run('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  /** Stops the server if it runs and removes its files. */
  async destroy(): Promise<void> {
    try {
      this.run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // not running
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
