import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bus } from '../../src/bus/types.ts';
import { createCertificates } from '../../src/cli/certs.ts';
import { loadConfig } from '../../src/server/config.ts';
import { createLogger, type Logger } from '../../src/server/logger.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { ANY_PORTS } from './cli.ts';

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  ca: Buffer;
  port(name: string): number;
  stop(): Promise<void>;
}

/**
 * The real server (SQLite file, every listener on a free port, HTTPS with a
 * `papillon certs` certificate) in a fresh data directory. `bus`: one shared with
 * other servers, as nodes of one cluster (support/cluster.ts); `certs`: a `papillon
 * certs` directory to use instead of a new one (the nodes of a cluster share one CA).
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { logger?: Logger; bus?: Bus; certs?: string } = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'papillon-e2e-'));
  if (options.certs) cpSync(options.certs, path.join(dataDir, 'certs'), { recursive: true });
  else await createCertificates({ dir: path.join(dataDir, 'certs'), domain: 'localhost' });
  const config = loadConfig({
    env: {
      PAPILLON_DATA_DIR: dataDir,
      ...ANY_PORTS,
      PAPILLON_LOG_LEVEL: process.env.PAPILLON_TEST_LOG_LEVEL ?? 'silent',
      ...env,
    },
  });
  const server = await startServer(
    config,
    options.logger ?? createLogger(config.logLevel),
    options.bus ? { bus: options.bus } : {},
  );
  return {
    server,
    dataDir,
    ca: readFileSync(path.join(dataDir, 'certs', 'ca.crt')),
    port(name: string) {
      const listener = server.listeners.find((l) => l.name === name);
      if (!listener) throw new Error(`no listener ${name}`);
      return listener.port;
    },
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * An HTTPS request to the test server, verified against its CA under `servername`
 * (a legacy MSN host name, say). No Host header is added unless `headers` has one.
 */
export function httpsRequest(
  server: TestServer,
  options: {
    path: string;
    method?: string;
    servername?: string;
    headers?: Record<string, string>;
    body?: string;
  },
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port('https'),
        path: options.path,
        method: options.method ?? 'GET',
        ca: server.ca,
        servername: options.servername ?? 'localhost',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
