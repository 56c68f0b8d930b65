/**
 * The admin channel: how the `papillon` CLI talks to the running server. A Unix socket
 * in the data directory (0600: only the service user and root reach it), one JSON
 * object per line each way: `{"id":1,"command":"status","args":{}}` is answered by
 * `{"id":1,"ok":true,"result":…}` or `{"id":1,"ok":false,"error":"…"}`.
 */
import path from 'node:path';

export const ADMIN_SOCKET_NAME = 'papillon.sock';

/** Lines longer than this are refused (a request is a command and a few words). */
export const MAX_LINE_BYTES = 64 * 1024;

export function adminSocketPath(dataDir: string): string {
  return path.resolve(dataDir, ADMIN_SOCKET_NAME);
}

export interface AdminRequest {
  id: number;
  command: string;
  args?: Record<string, unknown>;
}

export type AdminResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number | null; ok: false; error: string };

export interface SessionRow {
  handle: string;
  protocol: 'msnp' | 'xmpp';
  /** `MSNP18`, or the XMPP resource. */
  detail: string;
  address: string;
  /** ISO 8601. */
  since: string;
}

export interface StatusResult {
  version: string;
  uptimeSeconds: number;
  store: string;
  bus: string;
  sessions: { total: number; msnp: number; xmpp: number; msnpVersions: Record<string, number> };
}

/** Splits a byte stream into lines; calls `onLine` for each, `onOverflow` once if a line is too long. */
export function lineReader(onLine: (line: string) => void, onOverflow: () => void): (chunk: Buffer) => void {
  let buffer = '';
  let overflowed = false;
  return (chunk) => {
    if (overflowed) return;
    buffer += chunk.toString('utf8');
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line !== '') onLine(line);
      nl = buffer.indexOf('\n');
    }
    if (Buffer.byteLength(buffer) > MAX_LINE_BYTES) {
      overflowed = true;
      onOverflow();
    }
  };
}
