/**
 * The closing table of `npm run bench -- compare`: each figure for Papillon and the
 * peer (the mean over the rounds, with the range), their ratio, and issue 14's goal.
 */
import { out } from './common.ts';
import type { RoundFigures } from './compare-round.ts';

interface Row {
  figure: string;
  value: (f: RoundFigures) => number;
  digits: number;
  /** The goal's wording and test (on Papillon's mean and the ratio Papillon / peer), if any. */
  goal?: [text: string, met: (papillon: number, ratio: number) => boolean];
}

const ROWS: Row[] = [
  {
    figure: 'XMPP sign-ins/s, SCRAM-SHA-256',
    value: (f) => f.scram.perSecond,
    digits: 0,
    goal: ["≥ Prosody's", (_, r) => r >= 1],
  },
  { figure: '  server CPU per sign-in, ms', value: (f) => f.scram.cpuMsEach, digits: 2 },
  {
    figure: 'XMPP sign-ins/s, PLAIN',
    value: (f) => f.plain.perSecond,
    digits: 0,
    goal: ["≥ Prosody's", (_, r) => r >= 1],
  },
  { figure: '  server CPU per sign-in, ms', value: (f) => f.plain.cpuMsEach, digits: 2 },
  {
    figure: 'roster get p50, ms',
    value: (f) => f.roster.latency.p50,
    digits: 2,
    goal: ['≤ 2 ms', (p) => p <= 2],
  },
  { figure: 'roster get p99, ms', value: (f) => f.roster.latency.p99, digits: 2 },
  {
    figure: 'RSS per idle TLS session, KB',
    value: (f) => f.idleBytes / 1024,
    digits: 1,
    goal: ['≤ 40 KB', (p) => p <= 40],
  },
  {
    figure: 'routed msgs/s, as fast as possible',
    value: (f) => f.fast.perSecond,
    digits: 0,
    goal: ["≥ 1.5× Prosody's", (_, r) => r >= 1.5],
  },
  { figure: '  server CPU per message, µs', value: (f) => f.fast.cpuUsEach, digits: 0 },
  {
    // Below 100: the server (or the machine) could not keep up, and the latencies are of what arrived.
    figure: 'routed at {rate} msgs/s, % of sent',
    value: (f) => (f.rate.routed / Math.max(f.rate.sent, 1)) * 100,
    digits: 1,
  },
  { figure: 'p50 at {rate} msgs/s, ms', value: (f) => f.rate.latency.p50, digits: 2 },
  {
    figure: 'p99 at {rate} msgs/s, ms',
    value: (f) => f.rate.latency.p99,
    digits: 2,
    goal: ['≤ 10 ms', (p) => p <= 10],
  },
];

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);

/** `mean` or, over several rounds, `mean (min–max)`. */
function cell(values: number[], digits: number): string {
  const m = mean(values).toFixed(digits);
  if (values.length < 2) return m;
  return `${m} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;
}

/** `rate`: the offered rate of the fixed-rate phase (msgs/s). */
export function printTable(
  papillon: RoundFigures[],
  peer: RoundFigures[],
  rate: number,
  peerName = 'Prosody',
): void {
  const header = ['figure', 'Papillon', peerName, 'ratio', 'goal', 'met'];
  const rows = ROWS.map((row) => {
    const a = papillon.map(row.value);
    const b = peer.map(row.value);
    const ratio = mean(a) / mean(b);
    const goal = row.goal;
    return [
      row.figure.replace('{rate}', rate.toLocaleString('en')),
      cell(a, row.digits),
      cell(b, row.digits),
      Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a',
      goal?.[0] ?? '',
      goal ? (goal[1](mean(a), ratio) ? 'yes' : 'no') : '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 || i >= 4 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  out();
  out(
    `Papillon vs ${peerName}: mean over ${papillon.length} round(s) each (range in brackets); ratio = Papillon ÷ ${peerName}`,
  );
  out(line(header));
  out(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) out(line(r));
}
