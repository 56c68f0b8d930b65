import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Form bodies are small; an avatar upload is the largest (see MAX_MULTIPART_BYTES). */
const MAX_FORM_BYTES = 64 * 1024;
/** A 256 KiB image plus the multipart framing and the other fields. */
export const MAX_MULTIPART_BYTES = 256 * 1024 + 16 * 1024;
const MAX_PARTS = 16;

/** A `multipart/form-data` body, before it is split into parts (done by the route). */
export class MultipartBody {
  constructor(
    readonly contentType: string,
    readonly bytes: Buffer,
  ) {}
}

/**
 * Body parsers for HTML forms, added to an (encapsulated) plugin: URL-encoded bodies
 * (HTML §4.10.21.7, the WHATWG `application/x-www-form-urlencoded` parser, which is
 * also what RFC 6749 Appendix B asks of OAuth requests) become `URLSearchParams`, so a
 * repeated parameter is still visible; multipart bodies are kept as bytes.
 * Any other content type reaches the route as `undefined` body, which refuses it.
 */
export function addFormParsers(app: FastifyInstance): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: MAX_FORM_BYTES },
    (_request, body, done) => done(null, new URLSearchParams(body as string)),
  );
  app.addContentTypeParser(
    'multipart/form-data',
    { parseAs: 'buffer', bodyLimit: MAX_MULTIPART_BYTES },
    (request, body, done) =>
      done(null, new MultipartBody(request.headers['content-type'] ?? '', body as Buffer)),
  );
  // JSON and anything else: read (bounded) and dropped; the routes answer "not a form".
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_FORM_BYTES }, (_request, _body, done) =>
    done(null, undefined),
  );
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: MAX_FORM_BYTES },
    (_request, _body, done) => done(null, undefined),
  );
}

/** The URL-encoded form of a request, or undefined when the body is not one. */
export function formOf(request: FastifyRequest): URLSearchParams | undefined {
  return request.body instanceof URLSearchParams ? request.body : undefined;
}

/** The query string of a request, parsed like a form (repeats kept). */
export function queryOf(request: FastifyRequest): URLSearchParams {
  const q = request.url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : request.url.slice(q + 1));
}

/** A field's value, or '' when absent. */
export function field(form: URLSearchParams | undefined, name: string): string {
  return form?.get(name) ?? '';
}

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/**
 * Splits a `multipart/form-data` body (RFC 7578 §4, framing of RFC 2046 §5.1.1):
 * `--boundary CRLF headers CRLF CRLF content CRLF --boundary … --boundary--`.
 * Undefined when the framing is broken or there are too many parts.
 */
export function parseMultipart(body: MultipartBody): Map<string, FormPart> | undefined {
  // RFC 2046 §5.1.1: boundary := 1–70 characters, possibly quoted in the header.
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(body.contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (boundary === undefined) return undefined;
  const bytes = body.bytes;
  const delimiter = Buffer.from(`--${boundary}`);
  const parts = new Map<string, FormPart>();
  let start = bytes.indexOf(delimiter);
  if (start < 0) return undefined;
  for (let count = 0; ; count += 1) {
    let pos = start + delimiter.length;
    // The close delimiter `--boundary--` ends the body.
    if (bytes[pos] === 0x2d && bytes[pos + 1] === 0x2d) return parts;
    if (count >= MAX_PARTS) return undefined;
    // Transport padding (white space) may follow the delimiter, then CRLF.
    while (bytes[pos] === 0x20 || bytes[pos] === 0x09) pos += 1;
    if (bytes[pos] !== 0x0d || bytes[pos + 1] !== 0x0a) return undefined;
    pos += 2;
    const headerEnd = bytes.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) return undefined;
    const next = bytes.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd);
    if (next < 0) return undefined;
    const headers = bytes.subarray(pos, headerEnd).toString('utf8');
    const data = bytes.subarray(headerEnd + 4, next);
    const part = partHeaders(headers);
    if (part === undefined) return undefined;
    if (!parts.has(part.name)) parts.set(part.name, { ...part, data });
    start = next + 2;
  }
}

function partHeaders(text: string): Omit<FormPart, 'data'> | undefined {
  let name: string | undefined;
  let filename: string | undefined;
  let contentType: string | undefined;
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const header = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (header === 'content-disposition') {
      // RFC 7578 §4.2: form-data; name="field"; filename="file.png"
      if (!/^form-data\s*(;|$)/i.test(value)) return undefined;
      name = /;\s*name="([^"]*)"/i.exec(value)?.[1] ?? /;\s*name=([^\s;]+)/i.exec(value)?.[1];
      filename = /;\s*filename="([^"]*)"/i.exec(value)?.[1];
    } else if (header === 'content-type') {
      contentType = value;
    }
  }
  if (name === undefined) return undefined;
  return {
    name,
    ...(filename === undefined ? {} : { filename }),
    ...(contentType === undefined ? {} : { contentType }),
  };
}
