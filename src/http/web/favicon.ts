import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/** The butterfly, drawn for Papillon (favicon.svg beside this file). */
const ICON = readFileSync(new URL('./favicon.svg', import.meta.url));

/**
 * `GET /favicon.ico` and `/favicon.svg`: browsers ask for the icon on every site, and
 * a 404 each time is noise in the logs. SVG at the `.ico` path is understood by
 * current browsers, which look at the content type, not the name.
 */
export function registerFavicon(app: FastifyInstance): void {
  for (const path of ['/favicon.ico', '/favicon.svg']) {
    app.get(path, async (_request, reply) =>
      reply
        .header('content-type', 'image/svg+xml')
        .header('cache-control', 'public, max-age=86400')
        .send(ICON),
    );
  }
}
