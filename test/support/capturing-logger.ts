import { Writable } from 'node:stream';
import { createLogger } from '../../src/server/logger.ts';

/** A logger whose output is kept, line by line, as the server wrote it. */
export function capturingLogger(level: string, format: 'json' | 'pretty') {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const lines = () => text.split('\n').filter((l) => l !== '');
  return {
    logger: createLogger(level, { format, destination }),
    text: () => text,
    lines,
    /** The `msg` of each JSON line. */
    messages: () => lines().map((l) => String((JSON.parse(l) as { msg?: unknown }).msg)),
  };
}
