import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sendCachedFile, strongEtag } from './cached-file.ts';

/**
 * Converse.js (npm `converse.js`), served from its installed package at run time: nothing
 * is copied into this repository and nothing comes from a CDN. The URL carries the
 * package's version, so the files can be cached for a year: a new version is a new URL.
 *
 * Only the files the chat page loads are served, found once at start-up: the bundle and
 * its stylesheet, the chunks it imports lazily (`chunkjs/`: translations and date
 * formats, loaded relative to the bundle's own URL), `emoji.json` (fetched from
 * `assets_path`), the fonts the stylesheet names, its images and sounds. Not served:
 * source maps, the unminified build, and OMEMO's library and WebAssembly (OMEMO is off).
 * A request is looked up by its exact path in that list, so `..` or an encoded
 * separator can never reach any other file.
 */

interface Asset {
  file: string;
  type: string;
  etag: string;
}

/** Served file types by extension, and where under dist/ each may be. */
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
};

function wanted(relative: string): boolean {
  if (['converse.min.js', 'converse.min.css', 'emoji.json'].includes(relative)) return true;
  const ext = path.extname(relative);
  if (relative.startsWith('chunkjs/')) return ext === '.js';
  if (relative.startsWith('webfonts/')) return ext === '.ttf' || ext === '.woff2';
  if (relative.startsWith('images/')) return ext === '.png' || ext === '.svg';
  if (relative.startsWith('sounds/')) return ext === '.mp3' || ext === '.ogg';
  return false;
}

/** The installed package's dist/ folder and version. */
function locateConverse(): { dist: string; version: string } {
  const require = createRequire(import.meta.url);
  const bundle = require.resolve('converse.js/dist/converse.min.js');
  const dist = path.dirname(bundle);
  const pkg = JSON.parse(readFileSync(path.join(dist, '..', 'package.json'), 'utf8')) as { version?: string };
  if (typeof pkg.version !== 'string' || !/^[0-9A-Za-z.+-]+$/.test(pkg.version)) {
    throw new Error(`converse.js: no usable version in ${dist}/../package.json`);
  }
  return { dist, version: pkg.version };
}

function listAssets(dist: string, version: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile()) {
        const relative = path.relative(dist, file).split(path.sep).join('/');
        const type = TYPES[path.extname(relative)];
        if (type === undefined || !wanted(relative)) continue;
        const { size, mtimeMs } = statSync(file);
        assets.set(relative, { file, type, etag: strongEtag(`${version} ${relative} ${size} ${mtimeMs}`) });
      }
    }
  };
  walk(dist);
  return assets;
}

export interface ChatAssets {
  /** Where the files are, e.g. `/chat/assets/14.0.0`: Converse's `assets_path`. */
  base: string;
  /** How many files are served. */
  count: number;
}

/** Registers `GET /chat/assets/<version>/<file>`; throws at start-up when converse.js is not installed. */
export function registerChatAssets(app: FastifyInstance): ChatAssets {
  const { dist, version } = locateConverse();
  const assets = listAssets(dist, version);
  for (const required of ['converse.min.js', 'converse.min.css']) {
    if (!assets.has(required)) throw new Error(`converse.js: ${required} is missing from ${dist}`);
  }
  const base = `/chat/assets/${version}`;
  app.get(`${base}/*`, async (request, reply) => {
    const name = (request.params as { '*'?: string })['*'] ?? '';
    const asset = assets.get(name);
    if (asset === undefined) return reply.callNotFound();
    // A new version is a new URL, so a year and `immutable` (RFC 8246).
    const cached = {
      etag: asset.etag,
      cacheControl: 'public, max-age=31536000, immutable',
      type: asset.type,
    };
    return sendCachedFile(request, reply, cached, () => readFile(asset.file));
  });
  return { base, count: assets.size };
}
