import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/papillon.js', import.meta.url));

/** Every listener on a free port (port 0). */
export const ANY_PORTS = {
  PAPILLON_HTTP_PORT: '0',
  PAPILLON_HTTPS_PORT: '0',
  PAPILLON_MSNP_PORT: '0',
  PAPILLON_SB_PORT: '0',
  PAPILLON_XMPP_PORT: '0',
  PAPILLON_XMPPS_PORT: '0',
};

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for a child: this one without PAPILLON_* settings, plus `env`. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PAPILLON_')));
  return { ...clean, ...env };
}

/** Runs `papillon …` as a user would (the bin entry) from `cwd`, feeding `input` on stdin. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  input = '',
  cwd = ROOT,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Starts `papillon serve` and resolves once a log line matches `ready`. */
export function startServe(
  env: Record<string, string>,
  ready: (line: Record<string, unknown>) => boolean,
): Promise<{ child: ChildProcess; lines: Record<string, unknown>[]; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env: childEnv(env) });
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`server not ready in 20 s; stderr: ${stderr}`)), 20_000);
    child.stdout?.on('data', (d) => {
      buffer += d;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
        try {
          const line = JSON.parse(text) as Record<string, unknown>;
          lines.push(line);
          if (ready(line)) {
            clearTimeout(timer);
            resolve({ child, lines, exited });
          }
        } catch {
          // not a log line
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready; stderr: ${stderr}`));
    });
  });
}
