import type { Status } from '../core/presence-model.ts';

/** §9.1 status codes ↔ the core's statuses. */
const TO_MSNP: Record<Status, string> = {
  online: 'NLN',
  busy: 'BSY',
  idle: 'IDL',
  'be-right-back': 'BRB',
  away: 'AWY',
  'on-the-phone': 'PHN',
  'out-to-lunch': 'LUN',
  invisible: 'HDN',
  offline: 'FLN',
};

const FROM_MSNP = new Map<string, Status>(
  Object.entries(TO_MSNP).map(([status, code]) => [code, status as Status]),
);

export function msnpStatus(status: Status): string {
  return TO_MSNP[status];
}

/** The core status for a `CHG` code; FLN is not something a client may set (§9.1: 201). */
export function statusFromMsnp(code: string): Status | undefined {
  const status = FROM_MSNP.get(code);
  return status === 'offline' ? undefined : status;
}
