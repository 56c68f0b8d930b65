import type { Participant } from '../../core/conversations.ts';
import { normalizeHandle } from '../../util/handle.ts';
import { encodeParam } from '../codec/index.ts';
import type { Dialect } from '../dialects/dialect.ts';
import { capabilitiesToken } from '../ns/render-presence.ts';
import type { SbTicket } from './cookies.ts';

/**
 * How switchboard commands name participants, per version (§12; NINA wiki
 * Commands/JOI, IRO, BYE; Escargot's switchboard for the MSNP16+ forms): MSNP12–15
 * add the client id to JOI/IRO, MSNP16+ write `clientid:extcaps` and name each
 * endpoint `handle;{machine-guid}`, followed for an account's first endpoint by the
 * plain handle too (WLM 2009 keys its conversation window on the plain handle), and
 * up to MSNP15 an account with several endpoints appears once.
 */

/** `handle;{guid}` (MSNP16+ USR/ANS/CAL arguments) split into its parts. */
export function parseEndpointHandle(arg: string): { handle: string; machineGuid: string | undefined } {
  const at = arg.indexOf(';');
  if (at === -1) return { handle: normalizeHandle(arg), machineGuid: undefined };
  return { handle: normalizeHandle(arg.slice(0, at)), machineGuid: arg.slice(at + 1) };
}

/** Whether a `{guid}` the client named is the one its notification session signed in with. */
export function sameMachine(a: string, b: string): boolean {
  return a.replace(/[{}]/g, '').toLowerCase() === b.replace(/[{}]/g, '').toLowerCase();
}

/** The capabilities a switchboard participant shows, from its cookie. */
export function participantCapabilities(ticket: SbTicket): Record<string, string> {
  const capabilities: Record<string, string> = {
    msnpClientId: ticket.clientId,
    msnpExtCaps: ticket.extCaps ?? '0',
  };
  if (ticket.machineGuid) capabilities.msnpMachineGuid = ticket.machineGuid;
  return capabilities;
}

function capabilities(dialect: Dialect | undefined, p: Participant): (string | number)[] {
  return dialect?.joinClientId ? [capabilitiesToken(dialect, p.capabilities)] : [];
}

/**
 * The argument lists (handle, name, capabilities) that announce `p` to a client of
 * `dialect` whose own participant is `self`; `first`: no other endpoint of p's
 * account is in the conversation.
 */
export function participantLines(
  dialect: Dialect | undefined,
  self: Participant,
  p: Participant,
  first: boolean,
): (string | number)[][] {
  const name = encodeParam(p.displayName);
  const caps = capabilities(dialect, p);
  const guid = p.capabilities.msnpMachineGuid;
  if (!dialect?.mpop || !guid) {
    // One line per account, never the client's own account (MSNP2–15, or no endpoint id).
    return first && p.accountId !== self.accountId ? [[p.handle, name, ...caps]] : [];
  }
  const lines = [[`${p.handle};${guid}`, name, ...caps]];
  if (first && p.accountId !== self.accountId) lines.push([p.handle, name, ...caps]);
  return lines;
}

/** §12.2 IRO lines for the members already there when `self` answers. */
export function rosterLines(
  dialect: Dialect | undefined,
  self: Participant,
  others: readonly Participant[],
): (string | number)[][] {
  const seen = new Set<string>();
  const lines: (string | number)[][] = [];
  for (const p of others) {
    lines.push(...participantLines(dialect, self, p, !seen.has(p.accountId)));
    seen.add(p.accountId);
  }
  return lines;
}

/** §12.3 BYE lines when `p` left; `last`: no other endpoint of its account stays. */
export function leaveLines(
  dialect: Dialect | undefined,
  self: Participant,
  p: Participant,
  last: boolean,
): string[] {
  const guid = p.capabilities.msnpMachineGuid;
  if (!dialect?.mpop || !guid) return last && p.accountId !== self.accountId ? [p.handle] : [];
  const lines = [`${p.handle};${guid}`];
  if (last && p.accountId !== self.accountId) lines.push(p.handle);
  return lines;
}
