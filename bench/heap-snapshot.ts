import { readFileSync } from 'node:fs';

interface HeapSnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapSummary {
  /** Sum of every live object's own size, in bytes (a snapshot is taken after a full GC). */
  total: number;
  /** Own size per kind: the constructor name for objects, `(type)` for everything else. */
  byKind: Map<string, number>;
}

/** Live JS heap by kind, from a V8 `.heapsnapshot` (`--heapsnapshot-signal`). */
export function summarizeHeapSnapshot(file: string): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshotFile;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const byKind = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const size = snap.nodes[i + sizeAt] as number;
    const type = types[snap.nodes[i + typeAt] as number] ?? '?';
    const kind = type === 'object' ? (snap.strings[snap.nodes[i + nameAt] as number] ?? '?') : `(${type})`;
    total += size;
    byKind.set(kind, (byKind.get(kind) ?? 0) + size);
  }
  return { total, byKind };
}

/** The kinds that grew most from `before` to `after`, in bytes. */
export function heapGrowth(
  before: HeapSummary,
  after: HeapSummary,
  top: number,
): { kind: string; bytes: number }[] {
  const kinds = new Set([...before.byKind.keys(), ...after.byKind.keys()]);
  return [...kinds]
    .map((kind) => ({ kind, bytes: (after.byKind.get(kind) ?? 0) - (before.byKind.get(kind) ?? 0) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}
