/**
 * SIGHUP (and `papillon reload`): what changes without a restart. New certificate files
 * for every TLS listener (connections made from now on get them; those already up keep
 * theirs), the log level, and the web pages' sign-up mode, invite code and password
 * minimum. Every other setting needs a restart, and the reload says which changed.
 */
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { WebSettings } from '../http/web/index.ts';
import { PapillonError } from '../util/errors.ts';
import type { XmppListeners } from '../xmpp/listener.ts';
import { type Config, tlsFiles } from './config.ts';
import type { Logger } from './logger.ts';
import { readTlsFiles } from './startup-errors.ts';

/** Settings a reload applies to the running server (the README lists the same). */
export const RELOADABLE_SETTINGS = [
  'logLevel',
  'signup',
  'signupInviteCode',
  'passwordMinLength',
  'tlsCert',
  'tlsKey',
] as const satisfies readonly (keyof Config)[];

export interface ReloadTargets {
  /** The configuration the server runs with; updated in place for the reloadable keys. */
  config: Config;
  /** Reads the configuration again (file and environment), as at start. */
  loadConfig: () => Config;
  logger: Logger;
  /** The web pages' settings object, read at each request. */
  web: WebSettings;
  xmpp: Pick<XmppListeners, 'setTls'>;
  /** The HTTPS app, when HTTPS is served. */
  https: FastifyInstance | undefined;
  /** Reopens log files (a file destination after logrotate); absent when logging to stdout. */
  reopenLogs?: () => void;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Applies what can change live; returns one line per change for the log and the CLI. */
export async function reload(t: ReloadTargets): Promise<string[]> {
  const next = t.loadConfig();
  const changes: string[] = [];

  const tls = tlsFiles(next);
  if (tls) {
    const pem = readTlsFiles(tls);
    try {
      // Checks the key against the certificate before any listener takes them.
      createSecureContext(pem);
    } catch (err) {
      throw new PapillonError(
        'bad-config',
        `cannot use ${tls.cert} with ${tls.key}: ${(err as Error).message}; the server keeps its certificate`,
      );
    }
    const options = { ...pem, minVersion: 'TLSv1.2' as const };
    const applied: string[] = [];
    if (t.https) {
      // fastify types its server as http.Server; an app built with `https` options has a tls.Server.
      (t.https.server as unknown as TlsServer).setSecureContext(options);
      applied.push('HTTPS');
    }
    if (t.xmpp.setTls(pem)) applied.push('XMPP');
    if (applied.length > 0) changes.push(`certificate reloaded from ${tls.cert} (${applied.join(', ')})`);
    else changes.push(`certificate found at ${tls.cert}: restart to serve HTTPS and XMPP TLS with it`);
  }

  if (next.logLevel !== t.config.logLevel) {
    t.logger.level = next.logLevel;
    changes.push(`logLevel: ${t.config.logLevel} → ${next.logLevel}`);
  }
  for (const key of ['signup', 'signupInviteCode', 'passwordMinLength'] as const) {
    Object.assign(t.web, { [key]: next[key] });
    if (same(next[key], t.config[key])) continue;
    const shown = key === 'signupInviteCode' ? 'changed' : `${t.config[key]} → ${next[key]}`;
    changes.push(`${key}: ${shown}`);
  }

  const needRestart = (Object.keys({ ...t.config, ...next }) as (keyof Config)[]).filter(
    (key) => !(RELOADABLE_SETTINGS as readonly string[]).includes(key) && !same(next[key], t.config[key]),
  );
  if (needRestart.length > 0) changes.push(`changed, applied at the next restart: ${needRestart.join(', ')}`);

  for (const key of RELOADABLE_SETTINGS) Object.assign(t.config, { [key]: next[key] });
  t.reopenLogs?.();
  return changes;
}
