/**
 * `npm run bench -- compare --peer prosody`: Papillon next to Prosody (Debian's
 * package) on this machine, in one run: the same accounts, rosters, certificate and
 * client load against each server in turn (A B A B …), each a separate process
 * measured the same way (RSS and CPU from /proc). It prints the figures of issue 14's
 * goals for both and their ratio. A benchmark: it prints, it asserts nothing.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { mb, ms, out } from './common.ts';
import { accountsNeeded, type CompareOptions, measureRound, type RoundFigures } from './compare-round.ts';
import { printTable } from './compare-table.ts';
import { BASE_DEFAULTS, type Harness, parseOptions as parseWith, runBench, USAGE_RATE } from './harness.ts';
import { BENCH_PASSWORD, contactsPerAccount, prepareDataDir } from './msnp-server.ts';
import {
  findOnPath,
  freePort,
  ProsodyProcess,
  prosodyAbout,
  writeProsodyAccounts,
  writeProsodyConfig,
} from './prosody.ts';
import type { XmppConn } from './xmpp-conn.ts';
import { LOGIN_STEPS, type XmppTarget } from './xmpp-login.ts';

const USAGE = `usage: npm run bench -- compare --peer prosody [options]
  Needs a \`prosody\` binary on PATH (Debian: apt-get install prosody); the run starts
  its own Prosody on free ports, as this user (the package's own daemon is not used).
  --peer NAME       the server to compare with: prosody (the default, and the only one)
  --rounds N        rounds, each Papillon then the peer (default 2: A B A B)
  --sessions N      XMPP sessions kept signed in (SCRAM-SHA-256), per server (default 1000)
  --contacts N      mutual contacts in every roster (default 50)
  --plain-logins N  PLAIN sign-ins measured after the idle-memory reading (default 500)
  --roster-fetches N  roster gets, one at a time (default 500)
${USAGE_RATE}  --concurrency C   logins in flight (default 64)
  --window W        outstanding messages per sender in the first phase (default 4)
  --archive         message archive on both: Papillon's (PAPILLON_ARCHIVE_DAYS=30) and
                    Prosody's mod_mam (default off on both)
  --timeout MS      limit for every single wait (default 15000)
`;

const PEERS = ['prosody'];

function parseOptions(args: string[]): CompareOptions | undefined {
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== '--peer') {
      rest.push(args[i] as string);
      continue;
    }
    const peer = args[++i];
    if (!peer || !PEERS.includes(peer)) throw new Error(`--peer must be one of: ${PEERS.join(', ')}`);
  }
  const o = parseWith<CompareOptions>(
    rest,
    {
      ...BASE_DEFAULTS,
      sessions: 1000,
      window: 4,
      rounds: 2,
      contacts: 50,
      plainLogins: 500,
      rosterFetches: 500,
      archive: false,
    },
    {
      '--rounds': ['rounds', 1, true],
      '--contacts': ['contacts', 0, true],
      '--plain-logins': ['plainLogins', 1, true],
      '--roster-fetches': ['rosterFetches', 1, true],
    },
    { '--archive': 'archive' },
  );
  if (o?.profile || o?.heap) throw new Error('--profile and --heap belong to `npm run bench -- xmpp`');
  return o;
}

export async function run(args: string[]): Promise<void> {
  if (!args.includes('--help') && !args.includes('-h') && !findOnPath('prosody')) {
    out('compare: skipped, no `prosody` binary on PATH.');
    out("Install Debian's package (apt-get install prosody) and run again; its own daemon is not used.");
    return;
  }
  return runBench<CompareOptions, XmppConn>({
    args,
    usage: USAGE,
    parse: parseOptions,
    name: 'compare',
    // Kept and PLAIN sessions at once, the warm-up slots, both ends in this process.
    sockets: (o) => o.sessions + o.plainLogins + 2 * o.concurrency + 64,
    heading: (o) => [
      `Papillon vs Prosody: ${o.rounds} round(s) of each, alternating; ${o.sessions} XMPP sessions ` +
        `(STARTTLS + SCRAM-SHA-256) with ${contactsPerAccount(accountsNeeded(o), o.contacts)} mutual contacts each, ` +
        `message archive ${o.archive ? 'on' : 'off'} on both`,
      `${availableParallelism()} CPUs, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (other work on the machine skews every figure; both servers share it with this client)`,
    ],
    closeConn: (c) => c.close(3000),
    body: compare,
  });
}

async function compare(h: Harness<CompareOptions, XmppConn>): Promise<void> {
  const o = h.o;
  const prosodyBin = findOnPath('prosody') as string;
  const accounts = accountsNeeded(o);

  // The same certificate, accounts (one password, SCRAM-SHA-256 with 10,000 iterations)
  // and rosters for both, written before either starts.
  let t = performance.now();
  await prepareDataDir(h.dataDir, accounts, o.contacts);
  const papillonSetup = (performance.now() - t) / 1000;
  const prosodyDir = path.join(h.dataDir, 'prosody');
  const cert = path.join(h.dataDir, 'certs', 'server-chain.crt');
  const key = path.join(h.dataDir, 'certs', 'server.key');
  t = performance.now();
  writeProsodyAccounts(prosodyDir, accounts, BENCH_PASSWORD, o.contacts);
  const configFile = writeProsodyConfig({
    dir: prosodyDir,
    port: await freePort(),
    cert,
    key,
    archive: o.archive,
  });
  out(
    `setup: certificate + ${accounts} accounts in Papillon's SQLite (${papillonSetup.toFixed(1)} s) ` +
      `and in Prosody's internal_hashed files (${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );
  out(
    `peer: ${prosodyAbout(configFile) ?? 'Prosody (version unknown)'} at ${prosodyBin}; Papillon on Node ${process.versions.node}`,
  );
  out(
    '  Papillon: SQLite; SCRAM-SHA-1/-256 keys (PLAIN checked by PBKDF2 against SCRAM-SHA-256). Prosody: internal_hashed (SCRAM-SHA-256 keys, ' +
      "PLAIN checked by PBKDF2), file storage, Debian's modules without s2s, registration, admin and mod_limits",
  );
  process.env.PAPILLON_ARCHIVE_DAYS = o.archive ? '30' : '0';

  const target = (port: number): XmppTarget => ({
    host: '127.0.0.1',
    port,
    domain: 'localhost',
    ca: readFileSync(path.join(h.dataDir, 'certs', 'ca.crt')),
    timeoutMs: o.timeoutMs,
  });
  let source: { useAliases: boolean; concurrency: number } | undefined;
  const results: Record<'Papillon' | 'Prosody', RoundFigures[]> = { Papillon: [], Prosody: [] };

  for (let round = 1; round <= o.rounds; round++) {
    // A: Papillon (`node bin/papillon.js serve`, a child process like the peer).
    out();
    out(`round ${round}/${o.rounds}, Papillon:`);
    const server = await h.startServer(accounts, o.contacts, false);
    source ??= await h.loginSource(server.port('xmpp'), '', false);
    out(`  pid ${server.pid}, xmpp port ${server.port('xmpp')}, RSS at ready ${mb(server.rss())}`);
    const a = await measureRound(h, { server, target: target(server.port('xmpp')), ...source });
    results.Papillon.push(a);
    printRound(a);
    await h.stopServer((c) => c.close(3000));

    // B: Prosody, on a fresh free port.
    out();
    out(`round ${round}/${o.rounds}, Prosody:`);
    const port = await freePort();
    writeProsodyConfig({ dir: prosodyDir, port, cert, key, archive: o.archive });
    const prosody = await ProsodyProcess.start(prosodyBin, configFile, port, 30_000);
    const kill = () => prosody.kill();
    process.once('exit', kill);
    h.cleanups.push(async () => void (await prosody.stop(5000)));
    try {
      out(`  pid ${prosody.pid}, c2s port ${port}, RSS at ready ${mb(prosody.rss())}`);
      const b = await measureRound(h, { server: prosody, target: target(port), ...source });
      results.Prosody.push(b);
      printRound(b);
    } finally {
      await Promise.allSettled(h.conns.map((c) => c.close(3000)));
      h.conns.length = 0;
      const code = await prosody.stop(10_000);
      process.off('exit', kill);
      const log = prosody.logSummary();
      out();
      out(
        `prosody stopped (exit ${code}); it logged ${log.errors} errors and ${log.warnings} warnings` +
          (log.samples.size > 0 ? ':' : ''),
      );
      for (const [line, n] of log.samples) out(`    ${String(n).padStart(5)}× ${line}`);
    }
  }
  printTable(results.Papillon, results.Prosody, o.rate);
}

/** One round's figures, in a few lines. */
function printRound(f: RoundFigures): void {
  const login = (name: string, l: RoundFigures['scram']) =>
    `  ${name}: ${l.ok} ok, ${l.failed} failed, ${l.perSecond.toFixed(0)}/s, server CPU ${ms(l.cpuMsEach)} each, ` +
    `latency p50 ${ms(l.p50)}, p99 ${ms(l.p99)}${l.failure ? ` (${l.failure})` : ''}`;
  out(login('sign-ins, SCRAM-SHA-256', f.scram));
  out(
    `    mean per step: ${LOGIN_STEPS.slice(0, -1)
      .map((n, i) => `${n} ${ms(f.stepMeans[i] ?? Number.NaN)}`)
      .join(', ')}`,
  );
  out(`  idle: ${(f.idleBytes / 1024).toFixed(1)} KB of RSS per TLS session (${f.tls})`);
  out(login('sign-ins, PLAIN', f.plain));
  out(
    `  roster get (${f.roster.items} items, ${f.roster.bytes} bytes): ` +
      `p50 ${ms(f.roster.latency.p50)}, p99 ${ms(f.roster.latency.p99)}, max ${ms(f.roster.latency.max)}`,
  );
  out(
    `  messages, as fast as possible: ${f.fast.perSecond.toFixed(0)}/s, server CPU ${f.fast.cpuUsEach.toFixed(0)} µs each, ` +
      `p50 ${ms(f.fast.latency.p50)}, p99 ${ms(f.fast.latency.p99)}` +
      (f.fast.lost + f.fast.bounced > 0 ? `; ${f.fast.lost} lost, ${f.fast.bounced} bounced` : ''),
  );
  out(
    `  messages at a fixed rate: ${f.rate.sent} sent, ${f.rate.routed} routed, ` +
      `p50 ${ms(f.rate.latency.p50)}, p99 ${ms(f.rate.latency.p99)}, max ${ms(f.rate.latency.max)}` +
      (f.rate.lost + f.rate.bounced + f.rate.skipped > 0
        ? `; ${f.rate.lost} lost, ${f.rate.bounced} bounced, ${f.rate.skipped} not sent (64 outstanding)`
        : ''),
  );
}
