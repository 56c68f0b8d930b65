import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ANY_PORTS, startServe } from './cli.ts';
import type { TestServer } from './papillon-server.ts';

/** A node of a test cluster running as its own `papillon serve` process, so it can be killed (-9). */
export interface ProcessNode {
  /** Enough of a TestServer for the test clients (ports, CA). */
  server: TestServer;
  /** kill -9: no goodbye to the bus, the store or the clients. */
  kill(): Promise<void>;
}

/** Starts `papillon serve` with `env` (the cluster's database, Redis and node id) and the cluster's certificates. */
export async function startProcessNode(env: Record<string, string>, certs: string): Promise<ProcessNode> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-node-'));
  cpSync(certs, path.join(dataDir, 'certs'), { recursive: true });
  const { child, lines, exited } = await startServe(
    { PAPILLON_DATA_DIR: dataDir, ...ANY_PORTS, PAPILLON_LOG_LEVEL: 'info', ...env },
    (line) => line.msg === 'ready',
  );
  const ports = new Map<string, number>();
  for (const line of lines) {
    if (typeof line.listener === 'string' && typeof line.port === 'number')
      ports.set(line.listener, line.port);
  }
  const server = {
    dataDir,
    ca: readFileSync(path.join(dataDir, 'certs', 'ca.crt')),
    port(name: string) {
      const port = ports.get(name);
      if (port === undefined) throw new Error(`no listener ${name}`);
      return port;
    },
    stop: async () => {},
  } as unknown as TestServer;
  return {
    server,
    async kill() {
      child.kill('SIGKILL');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
