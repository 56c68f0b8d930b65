import { createServer, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Core } from '../core/core.ts';
import type { CoreMetrics, Protocol, SignInPath, SignInResult } from '../core/metrics.ts';
import { NsSession } from '../msnp/ns/session.ts';
import type { Store } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';
import { listen } from '../util/listen.ts';
import type { Logger } from './logger.ts';
import type { Listener } from './server.ts';

/** What is read when Prometheus scrapes: the live state, counted then and only then. */
export interface MetricSources {
  /** One entry per signed-in session: its protocol and, for MSNP, its version (`MSNP12`). */
  sessions(): Iterable<{ protocol: Protocol; version: string }>;
  /** Switchboard conversations open on this node. */
  switchboards(): number;
  /** Offline messages stored and not yet delivered (every account). */
  offlineQueue(): Promise<number>;
}

/**
 * Prometheus metrics (prom-client), off unless `metrics` is set. The core and the
 * protocols only bump counters through `CoreMetrics`; label values come from small
 * fixed sets (a path, a result, a protocol, a store method), never a handle. Gauges
 * of live state are computed when scraped, so the hot paths pay nothing for them.
 */
export class PrometheusMetrics implements CoreMetrics {
  readonly registry = new Registry();
  private readonly signIns: Counter<'path' | 'result'>;
  private readonly routed: Counter<'from' | 'to'>;
  private readonly queries: Histogram<'operation'>;
  /** Label children, looked up once per label set: an increment is then one addition. */
  private readonly signInChildren = new Map<string, Counter.Internal>();
  private readonly routedChildren = new Map<string, Counter.Internal>();
  private sources: MetricSources | undefined;

  constructor() {
    const registers = [this.registry];
    // Process CPU, memory, file descriptors, GC and nodejs_eventloop_lag_* (event-loop lag).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    this.signIns = new Counter({
      name: 'papillon_sign_ins_total',
      help: 'Sign-in attempts by path (msnp-md5/twn/sso, passport-login2/rst, xmpp-<SASL mechanism>, web, oauth) and result (ok, failed, throttled)',
      labelNames: ['path', 'result'],
      registers,
    });
    this.routed = new Counter({
      name: 'papillon_messages_routed_total',
      help: 'Chat messages (text and nudges) delivered to an endpoint, by sender and recipient protocol',
      labelNames: ['from', 'to'],
      registers,
    });
    this.queries = new Histogram({
      name: 'papillon_store_query_seconds',
      help: 'Time taken by store operations (one or a few SQL statements each), by operation',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'papillon_sessions',
      help: 'Signed-in sessions on this node by protocol and MSNP version',
      labelNames: ['protocol', 'version'],
      registers,
      collect() {
        this.reset();
        // Both protocols always appear, at 0 when no one is on.
        this.set({ protocol: 'msnp', version: '' }, 0);
        this.set({ protocol: 'xmpp', version: '' }, 0);
        const counts = new Map<string, { protocol: Protocol; version: string; n: number }>();
        for (const s of self.sources?.sessions() ?? []) {
          const key = `${s.protocol} ${s.version}`;
          const entry = counts.get(key) ?? { ...s, n: 0 };
          entry.n++;
          counts.set(key, entry);
        }
        for (const { protocol, version, n } of counts.values()) this.set({ protocol, version }, n);
      },
    });
    new Gauge({
      name: 'papillon_switchboards_open',
      help: 'MSN switchboard conversations open on this node',
      registers,
      collect() {
        this.set(self.sources?.switchboards() ?? 0);
      },
    });
    new Gauge({
      name: 'papillon_offline_queue_length',
      help: 'Offline messages stored and not yet delivered',
      registers,
      async collect() {
        this.set((await self.sources?.offlineQueue()) ?? 0);
      },
    });
  }

  /** Where the scrape-time gauges read from, once the listeners exist. */
  watch(sources: MetricSources): void {
    this.sources = sources;
  }

  signIn(path: SignInPath, result: SignInResult): void {
    const key = `${path} ${result}`;
    let child = this.signInChildren.get(key);
    if (!child) {
      child = this.signIns.labels(path, result);
      this.signInChildren.set(key, child);
    }
    child.inc();
  }

  messageRouted(from: Protocol, to: Protocol): void {
    const key = `${from} ${to}`;
    let child = this.routedChildren.get(key);
    if (!child) {
      child = this.routed.labels(from, to);
      this.routedChildren.set(key, child);
    }
    child.inc();
  }

  /**
   * The store with every asynchronous method timed (the operation is the method name,
   * a fixed set). Methods run on the real store, so its private state is untouched.
   */
  timeStore(store: Store): Store {
    const timers = new Map<string, Histogram.Internal<'operation'>>();
    const wrapped = new Map<PropertyKey, unknown>();
    const queries = this.queries;
    return new Proxy(store, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        let fn = wrapped.get(property);
        if (!fn) {
          fn = (...args: unknown[]) => {
            const started = performance.now();
            const result = (value as (...a: unknown[]) => unknown).apply(target, args);
            if (!(result instanceof Promise)) return result;
            let timer = timers.get(property);
            if (!timer) {
              timer = queries.labels(property);
              timers.set(property, timer);
            }
            const observe = () => timer.observe((performance.now() - started) / 1000);
            result.then(observe, observe);
            return result;
          };
          wrapped.set(property, fn);
        }
        return fn;
      },
    });
  }
}

/**
 * `GET /metrics` on its own listener (the admin address, never the public HTTP port):
 * whoever can reach it sees how many people are online, which is not for the internet.
 */
export async function startMetricsListener(
  metrics: PrometheusMetrics,
  bind: string,
  port: number,
  logger: Logger,
): Promise<Listener> {
  const log = logger.child({ component: 'metrics' });
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('not found: try /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': metrics.registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        log.error({ err }, 'collecting metrics failed');
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics failed\n');
      },
    );
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  let actual: number;
  try {
    actual = await listen(server, bind, port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'is already in use'
        : code === 'EADDRNOTAVAIL'
          ? 'is not an address of this machine'
          : `cannot be used (${code ?? (err as Error).message})`;
    throw new PapillonError(
      'bad-config',
      `metrics address ${bind}:${port} ${why}: set metricsPort (PAPILLON_METRICS_PORT) or metricsBind (PAPILLON_METRICS_BIND)`,
    );
  }
  return {
    name: 'metrics',
    url: `http://${bind.includes(':') ? `[${bind}]` : bind}:${actual}/metrics`,
    port: actual,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The scrape-time sources from the running listeners: MSNP notification sessions
 * signed in (TCP and the HTTP gateway), bound XMPP sessions, the core's open
 * conversations and the store's offline queue.
 */
export function listenerSources(
  core: Core,
  msnpSessions: Iterable<unknown>,
  xmppSessions: ReadonlyMap<string, ReadonlyMap<string, unknown>>,
): MetricSources {
  return {
    *sessions() {
      for (const s of msnpSessions) {
        if (s instanceof NsSession && s.state === 'online') {
          yield { protocol: 'msnp', version: s.dialect?.name ?? '' };
        }
      }
      for (const resources of xmppSessions.values()) {
        for (let i = 0; i < resources.size; i++) yield { protocol: 'xmpp', version: '' };
      }
    },
    switchboards: () => core.conversations.openCount,
    offlineQueue: () => core.store.countOffline(),
  };
}
