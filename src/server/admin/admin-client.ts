import { connect } from 'node:net';
import { PapillonError } from '../../util/errors.ts';
import { type AdminResponse, adminSocketPath, lineReader } from './protocol.ts';

/** No server answers on the data directory's admin socket. */
export class NoServerRunning extends PapillonError {
  constructor(dataDir: string) {
    super('conflict', `no server is running on ${dataDir}`);
  }
}

/**
 * Sends one command to the server running on `dataDir` and returns its result. Throws
 * `NoServerRunning` when none runs there, a PapillonError with the server's message when
 * the command fails.
 */
export function adminRequest(
  dataDir: string,
  command: string,
  args: Record<string, unknown> = {},
  timeoutMs = 30_000,
): Promise<unknown> {
  const path = adminSocketPath(dataDir);
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(new PapillonError('conflict', `the server on ${dataDir} did not answer ${command}`)),
        ),
      timeoutMs,
    );
    socket.once('connect', () => socket.write(`${JSON.stringify({ id: 1, command, args })}\n`));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        settle(() => reject(new NoServerRunning(dataDir)));
      } else if (err.code === 'EACCES') {
        settle(() =>
          reject(
            new PapillonError(
              'not-authorized',
              `${path}: permission denied (run as the server's user or root)`,
            ),
          ),
        );
      } else {
        settle(() => reject(new PapillonError('conflict', `${path}: ${err.message}`)));
      }
    });
    socket.on(
      'data',
      lineReader(
        (line) => {
          let response: AdminResponse;
          try {
            response = JSON.parse(line) as AdminResponse;
          } catch {
            return settle(() =>
              reject(new PapillonError('conflict', `the server sent a bad answer: ${line}`)),
            );
          }
          if (response.ok) settle(() => resolve(response.result));
          else settle(() => reject(new PapillonError('conflict', response.error)));
        },
        () => settle(() => reject(new PapillonError('conflict', 'the server sent too much'))),
      ),
    );
    socket.on('close', () =>
      settle(() =>
        reject(new PapillonError('conflict', `the server on ${dataDir} closed the admin connection`)),
      ),
    );
  });
}

/** `adminRequest`, or `undefined` when no server runs (the caller works on the store instead). */
export async function adminRequestIfRunning(
  dataDir: string,
  command: string,
  args: Record<string, unknown> = {},
): Promise<{ result: unknown } | undefined> {
  try {
    return { result: await adminRequest(dataDir, command, args) };
  } catch (err) {
    if (err instanceof NoServerRunning) return undefined;
    throw err;
  }
}
