import { type DestinationStream, pino } from 'pino';
import PinoPretty from 'pino-pretty';

export type Logger = pino.Logger;

export type LogFormat = 'pretty' | 'json';

export interface LoggerOptions {
  /** Default: `pretty` when stdout is a terminal, `json` otherwise (a service manager, a pipe). */
  format?: LogFormat | undefined;
  /** Where lines go; default stdout. Tests capture the output here. */
  destination?: DestinationStream | undefined;
  name?: string;
}

/**
 * Field names whose values never reach a log line, wherever a caller put them: a
 * second guard behind the redaction the trace lines do themselves.
 */
const REDACT = [
  'password',
  'ticket',
  'token',
  'accessToken',
  'refreshToken',
  '*.password',
  '*.ticket',
  '*.token',
  'req.headers.authorization',
  'req.headers.cookie',
];

/**
 * JSON lines (`msg` written for people, the other fields for machines) or, on a
 * terminal, pino-pretty's one-line-per-event form with the date, which the fail2ban
 * filter also reads.
 */
export function createLogger(level: string, opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const settings = {
    name: opts.name ?? 'papillon',
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  if (format === 'pretty') {
    const pretty = PinoPretty({
      colorize: opts.destination === undefined && process.stdout.isTTY,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l o',
      ignore: 'hostname',
      singleLine: false,
      sync: true,
      ...(opts.destination ? { destination: opts.destination as NodeJS.WritableStream } : {}),
    });
    return pino(settings, pretty);
  }
  return opts.destination ? pino(settings, opts.destination) : pino(settings);
}
