/**
 * `npm run bench -- <name>`: benchmarks print figures; they are never tests.
 * Each benchmark is a module exporting `run(args)`.
 */
const BENCHMARKS: Record<
  string,
  { describe: string; load: () => Promise<{ run(args: string[]): Promise<void> }> }
> = {
  cluster: {
    describe:
      'XMPP chat msgs/s and p50/p99 with senders and recipients on different nodes (Redis bus), next to one node; idle memory of 3 nodes vs 1',
    load: () => import('./cluster.ts'),
  },
  compare: {
    describe:
      '--peer prosody: Papillon next to Prosody (if installed), same accounts, certificate and XMPP load, A B A B: sign-ins/s, roster get, memory per session, msgs/s, p99',
    load: () => import('./compare.ts'),
  },
  credentials: {
    describe:
      'cost of one plaintext password check (SCRAM-SHA-256 keys; argon2id beside it) and one SCRAM key derivation',
    load: () => import('./credentials.ts'),
  },
  msnp: {
    describe:
      'MSNP12 (--version 18: WLM 2009, next to MSNP12) logins/s, server memory per idle session, switchboard msgs/s and latency',
    load: () => import('./msnp.ts'),
  },
  soak: {
    describe:
      'N sessions (half XMPP, half MSNP12) held with light traffic for M minutes under slowloris and non-reading clients: errors, lost messages, RSS over time, p99',
    load: () => import('./soak.ts'),
  },
  'tls-floor': {
    describe:
      "Node's own memory per idle connection (bare TCP, TLS 1.3, TLS 1.2, STARTTLS server; no Papillon)",
    load: () => import('./tls-floor.ts'),
  },
  xmpp: {
    describe: 'XMPP logins/s (STARTTLS, SCRAM), server memory per idle TLS session, chat msgs/s and latency',
    load: () => import('./xmpp.ts'),
  },
};

const [name, ...args] = process.argv.slice(2);
const bench = name ? BENCHMARKS[name] : undefined;
if (!bench) {
  process.stdout.write('usage: npm run bench -- <name> [options]\n\n');
  for (const [key, b] of Object.entries(BENCHMARKS))
    process.stdout.write(`  ${key.padEnd(14)} ${b.describe}\n`);
  process.exitCode = name ? 1 : 0;
} else {
  await (await bench.load()).run(args);
}
