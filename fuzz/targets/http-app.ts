import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { LocalBus } from '../../src/bus/local.ts';
import { createCore } from '../../src/core/core.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { startMsnpListeners } from '../../src/msnp/listener.ts';
import { protocolRoutes } from '../../src/server/http-plugins.ts';
import { createLogger } from '../../src/server/logger.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { startXmppListeners } from '../../src/xmpp/listener.ts';

/**
 * The HTTP app as the composition root builds it (src/server/server.ts: the MSN web
 * services, the MSNP gateway, XMPP over WebSocket and host-meta handed to
 * `buildHttpApp`, keep this in step), on a real SQLite file in a temporary directory,
 * with the MSNP and XMPP listeners on free loopback ports behind it. It records every
 * route, every error fastify's error path saw and every error-level log line, and keeps
 * a signed-in account with live credentials for the requests' placeholders.
 */

export interface Route {
  method: string;
  url: string;
}

export interface RouteError {
  error: Error & { statusCode?: number };
  /** `METHOD /pattern` of the route that failed. */
  route: string;
}

export interface FuzzApp {
  app: FastifyInstance;
  routes: Route[];
  /** Errors that reached fastify's error handling (with their route) and error log lines since the last `drain()`. */
  drain(): { errors: RouteError[]; logs: string[] };
  /** The route pattern the last request was routed to ('' for none). */
  lastRoute(): string;
  /** Placeholder values: the current account's session, tickets and tokens. */
  values: Record<string, string>;
  /** A fresh pair of accounts and credentials (the fuzzed requests delete, sign out, revoke). */
  refresh(): Promise<void>;
  /** Whether the account is still signed in on the web (a fuzzed sign-out or deletion ends it). */
  signedIn(): Promise<boolean>;
  close(): Promise<void>;
}

const PASSWORD = 'fuzzing password';

/** The route list: fastify's printed tree (every route), flattened. */
function printedRoutes(tree: string): Route[] {
  const routes: Route[] = [];
  const prefixes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    prefixes.length = depth;
    const url = prefixes.join('') + (match[2] ?? '');
    prefixes.push(match[2] ?? '');
    for (const method of (match[3] ?? '').split(', ').filter(Boolean)) routes.push({ method, url });
  }
  return routes;
}

export async function openFuzzApp(): Promise<FuzzApp> {
  const dir = mkdtempSync(path.join(tmpdir(), 'papillon-fuzz-'));
  const store = await openSqliteStore(path.join(dir, 'papillon.sqlite'));
  await store.migrate();
  const bus = new LocalBus();
  const core = createCore(store, bus);
  let logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(line);
      done();
    },
  });
  const logger = createLogger('error', { format: 'json', destination });
  const listen = { bind: '127.0.0.1', domain: 'localhost' };
  const msnp = await startMsnpListeners(core, logger, { ...listen, nsPort: 0, sbPort: 0 });
  const xmpp = await startXmppListeners(core, logger, {
    ...listen,
    port: 0,
    tlsPort: 0,
    version: 'fuzz',
    tls: undefined,
    requireTls: false,
    maxStanzaBytes: 262144,
  });
  const app = buildHttpApp({
    core,
    logger,
    version: 'fuzz',
    startedAt: Date.now(),
    plugins: protocolRoutes(msnp.context, xmpp, []),
    web: {
      domain: 'localhost',
      passwordMinLength: 8,
      signup: 'open',
      signupsPerHour: 5,
      connect: { msnpPort: msnp.nsPort, xmppPort: xmpp.port, caFile: path.join(dir, 'ca.crt') },
    },
    oauthImplicit: true,
  });
  let errors: RouteError[] = [];
  app.addHook('onError', async (request, _reply, error) => {
    errors.push({ error, route: `${request.method} ${request.routeOptions.url ?? '(no route)'}` });
  });
  let routed = '';
  app.addHook('onRequest', async (request) => {
    routed = request.routeOptions.url ?? '';
  });
  const seen: Route[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) seen.push({ method, url: route.url });
  });
  await app.ready();
  const routes = new Map<string, Route>();
  // The printed tree has the routes declared before the hook above (/health); flattening
  // it can join segments oddly, so only what the router knows as such is kept.
  const printed = printedRoutes(app.printRoutes({ commonPrefix: false })).filter((r) =>
    app.hasRoute({ method: r.method as 'GET', url: r.url }),
  );
  for (const r of [...seen, ...printed]) routes.set(`${r.method} ${r.url}`, r);

  let generation = 0;
  const values: Record<string, string> = { PASSWORD, FORMCSRF: 'fuzz-form-token-0123456789' };
  const refresh = async () => {
    generation++;
    const a = await core.accounts.create({
      handle: `fuzz${generation}a@localhost`,
      password: PASSWORD,
      displayName: 'Alice',
      privacy: 'allow-all',
    });
    const b = await core.accounts.create({ handle: `fuzz${generation}b@localhost`, password: PASSWORD });
    await core.roles.setAdmin(a.handle, true);
    await core.relationships.addForward(a.id, b.handle);
    await core.relationships.addForward(b.id, a.handle);
    const session = await core.webSessions.create(a.id);
    const ticket = await core.tickets.issueService(a.id);
    const passport = await core.tickets.issuePassport(a.id);
    const { client, secret = '' } = await core.oauth.registerClient({
      name: 'Fuzz',
      redirectUris: ['https://app.example/cb'],
      confidential: true,
      ownerId: a.id,
    });
    const tokens = await core.oauth.issueTokens({
      clientId: client.id,
      accountId: a.id,
      scopes: ['wl.messenger', 'wl.offline_access'],
      refresh: true,
    });
    Object.assign(values, {
      USER: a.handle,
      CONTACT: b.handle,
      SESSION: session.token,
      CSRF: session.csrf,
      T: ticket.t,
      P: ticket.p,
      DA: Buffer.from(passport.t).toString('base64'),
      CLIENT: client.id,
      SECRET: secret,
      BASIC: Buffer.from(`${client.id}:${secret}`).toString('base64'),
      ACCESS: tokens.accessToken,
      REFRESH: tokens.refreshToken ?? '',
    });
  };
  await refresh();

  return {
    app,
    routes: [...routes.values()],
    values,
    refresh,
    signedIn: async () => (await core.webSessions.get(values.SESSION)) !== undefined,
    lastRoute: () => routed,
    drain() {
      const out = { errors, logs };
      errors = [];
      logs = [];
      return out;
    },
    async close() {
      await app.close();
      await xmpp.stop();
      await msnp.stop();
      await bus.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
