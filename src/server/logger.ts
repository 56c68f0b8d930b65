import { pino } from 'pino';

export type Logger = pino.Logger;

/** JSON lines on stdout; `msg` is written for people, the other fields for machines. */
export function createLogger(level: string, name = 'papillon'): Logger {
  return pino({ name, level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
