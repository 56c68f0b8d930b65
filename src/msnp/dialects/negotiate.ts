import type { Dialect } from './dialect.ts';
import { dialectFor } from './table.ts';

export interface Negotiated {
  dialect: Dialect | undefined;
  /** The tokens to answer with (`VER trid …`), or ['0'] when nothing is common. */
  reply: string[];
}

/**
 * §3.1: the highest MSNP version both sides know. The reply names it and echoes
 * CVR0 when the client offered it (COMPAT: aMSN's MSNP9 build rejects a VER reply
 * without CVR0; msn-pecan offers no CVR0 and looks for its own MSNPx token).
 */
export function negotiateVersion(offered: readonly string[]): Negotiated {
  let best: Dialect | undefined;
  for (const token of offered) {
    const match = /^MSNP(\d{1,2})$/.exec(token);
    const dialect = match ? dialectFor(Number(match[1])) : undefined;
    if (dialect && (!best || dialect.version > best.version)) best = dialect;
  }
  const cvr0 = offered.includes('CVR0');
  if (!best) return { dialect: undefined, reply: ['0'] };
  return { dialect: best, reply: cvr0 ? [best.name, 'CVR0'] : [best.name] };
}
