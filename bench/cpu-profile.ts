import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Samples in the window, idle excluded. */
  busySamples: number;
  idleSamples: number;
  /** Whether the window matched no sample and the whole profile was used instead. */
  wholeProfile: boolean;
  /** Self time per function. */
  functions: { name: string; share: number }[];
  /** Time per function including what it calls. */
  inclusive: { name: string; share: number }[];
  /** The same, for the project's own functions (src/) only. */
  inclusiveOwn: { name: string; share: number }[];
  /** Self time per source file. */
  files: { name: string; share: number }[];
}

function shortUrl(url: string, root: string): string {
  if (url === '') return '';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  return file.startsWith(root) ? path.relative(root, file) : file.replace(/^.*\/node_modules\//, '~/');
}

/**
 * Self time per function and per file from a V8 `.cpuprofile` (`node --cpu-prof`),
 * counting only samples taken between `fromUs` and `toUs` (CLOCK_MONOTONIC µs, the
 * clock both V8's profile timestamps and `process.hrtime` use on Linux).
 */
export function summarizeCpuProfile(
  file: string,
  root: string,
  fromUs: number,
  toUs: number,
  top = 20,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const label = (frame: ProfileNode['callFrame']) => {
    const where = shortUrl(frame.url, root);
    // Modules loaded through tsx report line 0 for everything: leave the line out then.
    const line = frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : '';
    return `${frame.functionName || '(anonymous)'}${where ? ` ${where}${line}` : ''}`;
  };
  const count = (inWindow: (t: number) => boolean) => {
    const perNode = new Map<number, number>();
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      if (!inWindow(t)) continue;
      const id = profile.samples[i] as number;
      perNode.set(id, (perNode.get(id) ?? 0) + 1);
    }
    return perNode;
  };
  let perNode = count((t) => t >= fromUs && t <= toUs);
  const wholeProfile = perNode.size === 0;
  if (wholeProfile) perNode = count(() => true);

  const functions = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const files = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, hits] of perNode) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idle += hits;
      continue;
    }
    busy += hits;
    const fn = label(frame);
    functions.set(fn, (functions.get(fn) ?? 0) + hits);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (!f || f.functionName === '(root)') continue;
      const key = label(f);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + hits);
    }
    const fileKey = shortUrl(frame.url, root) || frame.functionName;
    files.set(fileKey, (files.get(fileKey) ?? 0) + hits);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => ({ name, share: busy === 0 ? 0 : hits / busy }));
  return {
    busySamples: busy,
    idleSamples: idle,
    wholeProfile,
    functions: rank(functions),
    inclusive: rank(inclusive),
    inclusiveOwn: rank(new Map([...inclusive].filter(([name]) => name.includes(' src/')))),
    files: rank(files),
  };
}
