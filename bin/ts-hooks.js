// Node module hooks (module.register) that compile the project's TypeScript with esbuild
// as each file is loaded: the server runs its .ts sources directly, as with tsx.
//
// Why not tsx's loader (which the tests and `npm run bench` still use): tsx always
// compiles with esbuild's `keepNames`, which wraps every named function expression —
// class-field arrows, `const f = () => …`, callbacks in object literals — in a helper
// giving it its own `name` property: about 256 bytes more per function object. A
// connection makes dozens of them, so that was ~3 KB of each idle MSNP session's ~10 KB
// (issue 14, memory per session). Stack traces keep their file and line numbers (inline
// source maps; bin/papillon.js turns them on); only anonymous functions' `name` is lost.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

/** What tsconfig.json asks of the emitted code that esbuild must know (imports kept as written). */
const TSCONFIG = { compilerOptions: { verbatimModuleSyntax: true, target: 'ES2023' } };

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts') || url.includes('/node_modules/')) {
    return nextLoad(url, context);
  }
  const file = fileURLToPath(url);
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: file,
    tsconfigRaw: TSCONFIG,
  });
  return { format: 'module', source: code, shortCircuit: true };
}
