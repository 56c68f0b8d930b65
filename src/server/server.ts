import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { LocalBus } from '../bus/local.ts';
import { RedisBus } from '../bus/redis.ts';
import type { Bus } from '../bus/types.ts';
import { type Core, createCore } from '../core/core.ts';
import type { RateStore } from '../core/rate-store.ts';
import { buildHttpApp } from '../http/app.ts';
import type { ConnectInfo } from '../http/web/index.ts';
import { startMsnpListeners } from '../msnp/listener.ts';
import type { Store } from '../store/types.ts';
import { MemoryBudget } from '../util/memory-budget.ts';
import { startXmppListeners } from '../xmpp/listener.ts';
import { type AdminServer, startAdminServer } from './admin/admin-server.ts';
import { type Config, maskUrlPassword, tlsFiles } from './config.ts';
import { lockDataDir } from './data-dir.ts';
import { protocolRoutes } from './http-plugins.ts';
import type { Logger } from './logger.ts';
import { listenerSources, PrometheusMetrics, startMetricsListener } from './metrics.ts';
import { openStore } from './open-store.ts';
import { openRedisRateStore } from './redis-rate-store.ts';
import { reload } from './reload.ts';
import { explainListenError, readTlsFiles, redisUnreachable } from './startup-errors.ts';
import { VERSION } from './version.ts';

/** A listening service: a name for the logs, and a polite stop. */
export interface Listener {
  name: string;
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface RunningServer {
  core: Core;
  config: Config;
  listeners: readonly Listener[];
  /** Stops accepting, closes sessions politely, flushes the store. Idempotent. */
  stop(): Promise<void>;
  /** What SIGHUP does (src/server/reload.ts): returns what changed; throws if the new files are unusable. */
  reload(): Promise<string[]>;
  /** The admin channel's Unix socket (`papillon status`, `kick`, …). */
  adminSocket: string;
}

/** What the process around the server provides (`papillon serve`); tests leave them out. */
export interface ServerHooks {
  /** Reads the configuration again for a reload; default: the one the server started with. */
  loadConfig?: () => Config;
  /** Stop the server and end the process (`papillon shutdown`); default: `stop()`. */
  requestStop?: (reason: string) => void;
  /** Reopen log files on reload. */
  reopenLogs?: () => void;
  /** A bus shared with other servers, instead of the configured one (tests: several nodes in one process). */
  bus?: Bus;
}

async function listenHttp(
  app: FastifyInstance,
  name: string,
  scheme: 'http' | 'https',
  host: string,
  port: number,
): Promise<Listener> {
  await app.listen({ host, port });
  const address = app.server.address() as AddressInfo;
  return { name, url: `${scheme}://${host}:${address.port}`, port: address.port, stop: () => app.close() };
}

/**
 * The composition root: the only place that names concrete implementations.
 * Builds store, bus and core from the config and starts the listeners.
 */
export async function startServer(
  config: Config,
  logger: Logger,
  hooks: ServerHooks = {},
): Promise<RunningServer> {
  const startedAt = Date.now();
  const unlock = lockDataDir(config.dataDir);
  let opened: Awaited<ReturnType<typeof openStore>>;
  try {
    opened = await openStore(config);
  } catch (err) {
    unlock();
    throw err;
  }
  const { store, applied, where } = opened;
  logger.info({ store: store.kind, where, migrations: applied }, `store: ${store.kind} at ${where}`);
  let bus: Bus | undefined;
  let rates: RateStore | undefined;
  let admin: AdminServer | undefined;
  const listeners: Listener[] = [];
  try {
    bus =
      hooks.bus ?? (config.redisUrl ? await openRedisBus(config, config.redisUrl, logger) : new LocalBus());
    // Limits every node counts together (throttles, sign-ups); unset: this process's memory.
    rates = config.redisUrl ? await openRedisRateStore(config, config.redisUrl, logger) : undefined;
    // Metrics (config `metrics`): counters the core bumps, store operations timed.
    const metrics = config.metrics ? new PrometheusMetrics() : undefined;
    const core = createCore(metrics ? metrics.timeStore(store) : store, bus, {
      ...(metrics ? { metrics } : {}),
      ...(rates ? { rateStore: rates } : {}),
      oauthAccessTokenSeconds: config.oauthAccessTokenSeconds,
      archiveDays: config.archiveDays,
      legacyMd5Login: config.legacyMd5Login,
      conversationIdleMs: config.sbIdleSeconds * 1000,
      onArchiveError: (err) => logger.error({ err }, 'archiving a message failed'),
    });
    // Issue 13: offline deliveries a previous run left unfinished (kill -9) are void: this
    // node's (a configured node id), or every one when this server is alone (no cluster bus).
    const interrupted = await core.offline.releaseNode(
      !hooks.bus && !config.redisUrl ? undefined : bus.nodeId,
    );
    if (interrupted > 0)
      logger.info(
        { recipients: interrupted },
        'offline messages of interrupted deliveries are deliverable again',
      );
    // legacyMd5Login off: no MD5 form stays in the database (README, "Accounts and passwords").
    const md5Dropped = await core.credentials.dropMd5Forms();
    if (md5Dropped > 0) logger.info(`legacyMd5Login is off: dropped ${md5Dropped} stored MSNP2–7 MD5 forms`);
    // Issue 13: what clients make the process hold (unread output, unhandled input), for all protocols.
    const budget = new MemoryBudget(config.memoryBudgetMb ? config.memoryBudgetMb * 1024 * 1024 : undefined);
    const msnp = await startMsnpListeners(core, logger, {
      flow: { budget },
      bind: config.bind,
      nsPort: config.msnpPort,
      sbPort: config.sbPort,
      domain: config.domain,
      publicHost: config.publicHost,
      sbIdleMs: config.sbIdleSeconds * 1000,
      proxyProtocol: config.proxyProtocol,
      maxUnauthenticatedPerAddress: config.unauthenticatedPerAddress,
    });
    // Stopped first at shutdown: MSNP sessions are told OUT SSD before the HTTP side goes.
    listeners.push(
      {
        name: 'msnp',
        url: `msnp://${config.bind}:${msnp.nsPort}`,
        port: msnp.nsPort,
        stop: () => msnp.stop(),
      },
      {
        name: 'msnp-sb',
        url: `msnp://${config.bind}:${msnp.sbPort}`,
        port: msnp.sbPort,
        stop: async () => {},
      },
    );
    const tlsPaths = tlsFiles(config);
    const tlsPem = tlsPaths ? readTlsFiles(tlsPaths) : undefined;
    const xmpp = await startXmppListeners(core, logger, {
      flow: { budget },
      bind: config.bind,
      port: config.xmppPort,
      tlsPort: config.xmppsPort,
      domain: config.domain,
      version: VERSION,
      tls: tlsPem,
      requireTls: config.xmppRequireTls,
      maxStanzaBytes: config.xmppMaxStanzaBytes,
      resumeTimeoutMs: config.xmppResumeSeconds * 1000,
      proxyProtocol: config.proxyProtocol,
      loginTimeoutMs: config.xmppLoginTimeoutSeconds * 1000,
      tlsHandshakeTimeoutMs: config.tlsHandshakeTimeoutSeconds * 1000,
      maxUnauthenticatedPerAddress: config.unauthenticatedPerAddress,
    });
    listeners.push({
      name: 'xmpp',
      url: `xmpp://${config.bind}:${xmpp.port}`,
      port: xmpp.port,
      stop: () => xmpp.stop(),
    });
    if (xmpp.tlsPort !== undefined) {
      const port = xmpp.tlsPort;
      listeners.push({ name: 'xmpps', url: `xmpps://${config.bind}:${port}`, port, stop: async () => {} });
    }
    // One object, read by the web pages at each request: a reload changes it in place.
    const web = {
      domain: config.domain,
      passwordMinLength: config.passwordMinLength,
      signup: config.signup,
      signupInviteCode: config.signupInviteCode,
      signupsPerHour: config.signupsPerHour,
      // The Connect page: the HTTP ports are filled in below, once known.
      connect: {
        publicHost: config.publicHost,
        msnpPort: msnp.nsPort,
        xmppPort: xmpp.port,
        xmppsPort: xmpp.tlsPort,
        // Read at each request: a CA made by `papillon certs` later is offered at once.
        caFile: path.join(config.dataDir, 'certs', 'ca.crt'),
      } as ConnectInfo,
    };
    const appOptions = {
      core,
      logger,
      version: VERSION,
      startedAt,
      plugins: protocolRoutes(msnp.context, xmpp, config.xmppWebOrigins),
      web,
      oauthImplicit: config.oauthImplicit,
      trustProxy: config.trustProxy,
      proxyProtocol: config.proxyProtocol,
      publicUrl: config.publicUrl,
      timeouts: {
        requestMs: config.httpRequestTimeoutSeconds * 1000,
        tlsHandshakeMs: config.tlsHandshakeTimeoutSeconds * 1000,
      },
    };

    listeners.push(await listenHttp(buildHttpApp(appOptions), 'http', 'http', config.bind, config.httpPort));
    web.connect.httpPort = listeners.at(-1)?.port;
    let https: FastifyInstance | undefined;
    if (tlsPem) {
      // fastify takes TLS options at construction; the routes are the same app.
      https = buildHttpApp({ ...appOptions, https: tlsPem });
      listeners.push(await listenHttp(https, 'https', 'https', config.bind, config.httpsPort));
      web.connect.httpsPort = listeners.at(-1)?.port;
    } else {
      logger.warn(
        'HTTPS disabled: no certificate (run `papillon certs`, or set PAPILLON_TLS_CERT and PAPILLON_TLS_KEY)',
      );
    }
    if (metrics) {
      metrics.watch(listenerSources(core, msnp.context.sessions, xmpp.context.sessions));
      listeners.push(await startMetricsListener(metrics, config.metricsBind, config.metricsPort, logger));
    }
    for (const l of listeners)
      logger.info({ listener: l.name, port: l.port, url: l.url }, `${l.name} listening on ${l.url}`);

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (admin?.close() ?? Promise.resolve())
        .then(() =>
          shutdown(
            listeners,
            bus as Bus,
            store,
            logger,
            () => core.archive.flush(),
            () => core.conversations.close(),
          ),
        )
        .finally(() => rates?.close())
        .finally(unlock);
      return stopping;
    };
    const reloadNow = () =>
      reload({
        config,
        loadConfig: hooks.loadConfig ?? (() => config),
        logger,
        web,
        xmpp,
        https,
        ...(hooks.reopenLogs ? { reopenLogs: hooks.reopenLogs } : {}),
      });
    admin = await startAdminServer(
      config.dataDir,
      {
        core,
        version: VERSION,
        startedAt,
        store: `${store.kind} (${where})`,
        bus: config.redisUrl ? `redis (node ${config.nodeId})` : 'local (one node)',
        requestStop: hooks.requestStop ?? (() => void stop()),
        reload: reloadNow,
      },
      logger,
    );
    return { core, config, listeners, stop, reload: reloadNow, adminSocket: admin.path };
  } catch (err) {
    await admin?.close();
    await shutdown(listeners, bus, store, logger)
      .finally(() => rates?.close())
      .finally(unlock);
    throw explainListenError(err, config);
  }
}

/** The cluster bus; Redis unreachable at start stops the start, naming the setting. */
async function openRedisBus(config: Config, url: string, logger: Logger): Promise<Bus> {
  const nodeTimeoutMs = config.nodeTimeoutSeconds * 1000;
  try {
    const bus = await RedisBus.open({
      url,
      nodeId: config.nodeId,
      keyPrefix: config.redisKeyPrefix,
      nodeTimeoutMs,
      // Three beats per timeout: one late beat is no death.
      heartbeatMs: Math.min(5000, Math.floor(nodeTimeoutMs / 3)),
      onError: (err) => logger.warn({ err }, `Redis bus: ${err.message}`),
    });
    logger.info({ nodeId: config.nodeId, redis: maskUrlPassword(url) }, `bus: Redis, node ${config.nodeId}`);
    return bus;
  } catch (err) {
    throw redisUnreachable(url, err);
  }
}

async function shutdown(
  listeners: Listener[],
  bus: Bus | undefined,
  store: Store,
  logger: Logger,
  flush?: () => Promise<void>,
  leaveCluster?: () => Promise<void>,
): Promise<void> {
  // Listeners first (stop accepting, say goodbye to sessions), then the bus, then the store.
  const results = await Promise.allSettled(listeners.map((l) => l.stop()));
  for (const [i, r] of results.entries()) {
    if (r.status === 'rejected') logger.error({ err: r.reason }, `stopping ${listeners[i]?.name} failed`);
  }
  // Members of other nodes' conversations leave them while the bus still carries that.
  await leaveCluster?.();
  await bus?.close();
  // Archive writes still behind delivery go in before the store closes.
  await flush?.();
  await store.close();
}
