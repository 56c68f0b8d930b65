/**
 * `npm run bench -- msnp [options]`: MSNP12 logins per second, server memory per idle
 * notification-server session, and switchboard message relay throughput and latency,
 * against the real server (`node bin/papillon.js serve`) in a child process.
 * `--version 18`: the same for Windows Live Messenger 2009's full MSNP18 sign-in
 * (msnp18.ts), next to MSNP12 figures from the same run.
 * It prints figures and targets; it asserts nothing.
 */
import { BASE_DEFAULTS, parseOptions as parseWith, runBench, USAGE_RATE, USAGE_TAIL } from './harness.ts';
import type { MsnpConn } from './msnp-conn.ts';
import { switchboardPhases } from './msnp-switchboard.ts';
import { contactsOf, type MsnpOptions, msnp12Phase } from './msnp12.ts';
import { bench18 } from './msnp18.ts';

const VERSIONS = [12, 18];

const USAGE = `usage: npm run bench -- msnp [options]
  --version V       12 (MSN Messenger 7.5, default) or 18 (Windows Live Messenger
                    2009: SSO over RST2.srf, address book, ADL; also signs in the
                    same accounts with MSNP12 first, for comparison)
  --sessions N      sessions to sign in (default 2000)
  --contacts K      mutual contacts per account (default 0; 100 with --version 18)
  --no-baseline     --version 18 without the MSNP12 sign-ins
  --pairs P         switchboard pairs for the message phases (default sessions/2)
${USAGE_RATE}  --concurrency C   logins / switchboard set-ups in flight (default 64)
  --addresses A     loopback source addresses (127.77.x.y) the logins in flight share,
                    as users behind A NATs (default: one per login in flight)
  --new-tls         each login's RST.srf on a new HTTPS connection with a full TLS
                    handshake, as distinct users (default: one kept-alive connection
                    per address)
  --window W        outstanding messages per pair in the first phase (default 8)
${USAGE_TAIL}`;

function parseOptions(args: string[]): MsnpOptions | undefined {
  const o = parseWith<MsnpOptions>(
    args,
    {
      ...BASE_DEFAULTS,
      pairs: undefined,
      window: 8,
      version: 12,
      contacts: undefined,
      noBaseline: false,
      addresses: undefined,
      newTls: false,
    },
    {
      '--pairs': ['pairs', 1, true],
      '--version': ['version', 2, true],
      '--contacts': ['contacts', 0, true],
      '--addresses': ['addresses', 1, true],
    },
    { '--no-baseline': 'noBaseline', '--new-tls': 'newTls' },
  );
  if (o && !VERSIONS.includes(o.version)) throw new Error(`--version must be one of ${VERSIONS.join(', ')}`);
  return o;
}

export function run(args: string[]): Promise<void> {
  const pairsWanted = (o: MsnpOptions) =>
    Math.min(o.pairs ?? Math.floor(o.sessions / 2), Math.floor(o.sessions / 2));
  return runBench<MsnpOptions, MsnpConn>({
    args,
    usage: USAGE,
    parse: parseOptions,
    name: 'msnp',
    // Every session holds a socket in this process and one in the server; each pair two more.
    sockets: (o) => o.sessions + 2 * pairsWanted(o) + 2 * o.concurrency + 64,
    heading: (o) => [
      `MSNP benchmark: ${o.sessions} MSNP${o.version} sessions with ${contactsOf(o)} contacts each, ` +
        `${pairsWanted(o)} switchboard pairs, concurrency ${o.concurrency}` +
        (o.addresses === undefined ? '' : ` from ${o.addresses} address${o.addresses === 1 ? '' : 'es'}`),
    ],
    closeConn: (c) => c.close(3000, true),
    body: async (h) => {
      if (h.o.version === 18) return bench18(h, pairsWanted(h.o));
      const phase = await msnp12Phase(h, true);
      // 5. Switchboards and the message phases.
      await switchboardPhases(h, phase.logins.sessions, pairsWanted(h.o));
    },
  });
}
