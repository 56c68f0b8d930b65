import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { isPapillonError, PapillonError } from '../../util/errors.ts';
import type { Logger } from '../logger.ts';
import { ADMIN_COMMANDS, type AdminContext } from './commands.ts';
import { type AdminRequest, type AdminResponse, adminSocketPath, lineReader } from './protocol.ts';

export interface AdminServer {
  path: string;
  close(): Promise<void>;
}

/** Whether something answers on the socket (a live server), as opposed to a file left by a crash. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function parseRequest(line: string): AdminRequest | undefined {
  try {
    const value = JSON.parse(line) as Partial<AdminRequest>;
    if (typeof value !== 'object' || value === null) return undefined;
    if (typeof value.id !== 'number' || typeof value.command !== 'string') return undefined;
    if (value.args !== undefined && (typeof value.args !== 'object' || value.args === null)) return undefined;
    return value as AdminRequest;
  } catch {
    return undefined;
  }
}

/**
 * Serves the admin channel on `<dataDir>/papillon.sock`, 0600 (created under a 0177
 * umask, so it is never reachable by others, even for an instant).
 */
export async function startAdminServer(
  dataDir: string,
  ctx: AdminContext,
  logger: Logger,
): Promise<AdminServer> {
  const path = adminSocketPath(dataDir);
  const log = logger.child({ component: 'admin' });
  if (existsSync(path)) {
    if (await answers(path)) {
      throw new PapillonError(
        'conflict',
        `another server is running on ${dataDir} (its admin socket ${path} answers)`,
      );
    }
    unlinkSync(path); // left by a server that did not stop cleanly
  }
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (err) => log.debug({ err: err.message }, 'admin socket error'));
    const reply = (response: AdminResponse) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
    };
    socket.on(
      'data',
      lineReader(
        (line) => {
          const request = parseRequest(line);
          if (!request) return reply({ id: null, ok: false, error: 'not a request: {"id":n,"command":"…"}' });
          const run = Object.hasOwn(ADMIN_COMMANDS, request.command)
            ? ADMIN_COMMANDS[request.command]
            : undefined;
          if (!run) return reply({ id: request.id, ok: false, error: `unknown command ${request.command}` });
          log.info({ command: request.command }, `admin: ${request.command}`);
          run(ctx, request.args ?? {}).then(
            (result) => reply({ id: request.id, ok: true, result }),
            (err: unknown) => {
              if (isPapillonError(err)) return reply({ id: request.id, ok: false, error: err.message });
              log.error({ err, command: request.command }, `admin command ${request.command} failed`);
              reply({ id: request.id, ok: false, error: `internal error: ${(err as Error).message}` });
            },
          );
        },
        () => {
          reply({ id: null, ok: false, error: 'request too long' });
          socket.end();
        },
      ),
    );
  });
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Node binds a Unix socket synchronously inside listen(): the umask covers that and nothing else.
  const previousUmask = process.umask(0o177);
  try {
    server.listen(path);
  } finally {
    process.umask(previousUmask);
  }
  await listening;
  chmodSync(path, 0o600);
  log.info({ path }, `admin socket at ${path}`);
  return {
    path,
    async close() {
      ctx.countdown?.cancel();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
