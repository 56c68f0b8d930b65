import type { FastifyReply } from 'fastify';

/**
 * Sends a complete response with header names exactly as given.
 *
 * fastify lower-cases the names of headers set through `reply.header()` and writes
 * its own `content-length`, and Node sends names in the case it is handed. Several
 * Passport clients match response headers case-sensitively:
 * COMPAT: MSN Messenger 5–7.0 and aMSN look for `PassportURLs` literally
 * (docs/msnp-reference.md §5.3; [ESC] http/other.py notes a proxy that rewrote it to
 * `Passporturls` and broke MSN); bots compare `Authentication-Info:` with strncmp;
 * COMPAT: msn-pecan reads the RST body length only from a line starting with
 * `Content-Length: ` (pn_auth.c read_cb) and reads no body at all otherwise.
 * So these responses bypass fastify's reply pipeline (`hijack`) and are written to
 * the socket directly, `Content-Length` included.
 */
export function sendExact(
  reply: FastifyReply,
  status: number,
  headers: Readonly<Record<string, string>>,
  body = '',
): void {
  const payload = Buffer.from(body, 'utf8');
  reply.hijack();
  reply.raw.writeHead(status, { ...headers, 'Content-Length': String(payload.length) });
  reply.raw.end(payload);
}

/**
 * A SOAP answer (`text/xml; charset=utf-8`) through `sendExact`. COMPAT: msn-pecan
 * reads the body length only from `Content-Length: ` spelled so (pn_oim.c read_cb),
 * as for RST. Faults go with HTTP 500 (SOAP 1.1 §6.2) unless a caller says otherwise.
 */
export function sendSoap(reply: FastifyReply, body: string, fault = false): void {
  sendExact(reply, fault ? 500 : 200, { 'Content-Type': 'text/xml; charset=utf-8' }, body);
}
