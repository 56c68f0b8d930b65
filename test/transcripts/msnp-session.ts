import assert from 'node:assert/strict';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import type { TestServer } from '../support/papillon-server.ts';

/**
 * One scripted multi-client session for an MSNP version, as real clients of that
 * version would run it: sign in, sync, add each other (the "has added you" notice),
 * see each other come online, change status (and personal message on MSNP11+),
 * chat both ways in a switchboard with typing, and a third person joins.
 * Used by the per-version transcript tests.
 */
export interface Person {
  handle: string;
  password: string;
  name: string;
  client: MsnpTestClient;
}

export async function signIn(
  server: TestServer,
  version: number,
  handle: string,
  password: string,
  name: string,
) {
  const client = await msnpSignIn(server, { version, handle, password });
  return { handle, password, name, client } satisfies Person;
}

/** `SYN` and the lines of the list that follow, up to the last LST the header promises. */
export async function sync(version: number, client: MsnpTestClient): Promise<MsnpCommand[]> {
  const trid = client.trid();
  client.send(version >= 10 ? `SYN ${trid} 0 0` : `SYN ${trid} 0`);
  const syn = await client.expect('SYN');
  const lines: MsnpCommand[] = [syn];
  if (version <= 7) {
    // Four LST groups (FL, AL, BL, RL), each ending at index == total or "0 0".
    let lists = 0;
    while (lists < 4) {
      const cmd = await client.next();
      lines.push(cmd);
      if (cmd.name === 'LST' && (cmd.args[3] === cmd.args[4] || cmd.args[3] === '0')) lists++;
    }
    return lines;
  }
  // GTC and BLP (and PRP MFN in MSNP10+) always follow the SYN header.
  lines.push(await client.expect('GTC'), await client.expect('BLP'));
  if (version >= 10) lines.push(await client.expect('PRP'));
  const contacts = Number(syn.args[version >= 10 ? 3 : 2]);
  const groups = Number(syn.args[version >= 10 ? 4 : 3]);
  let lst = 0;
  let lsg = 0;
  while (lst < contacts || lsg < groups) {
    const cmd = await client.next();
    lines.push(cmd);
    if (cmd.name === 'LST') lst++;
    if (cmd.name === 'LSG') lsg++;
  }
  return lines;
}

export function addCommand(version: number, trid: number, handle: string): string {
  return version >= 10 ? `ADC ${trid} FL N=${handle} F=${handle}` : `ADD ${trid} FL ${handle} ${handle}`;
}

/** The RL notice the other side gets when added: `ADD 0 RL …` / `ADC 0 RL N=…`. */
export async function expectAddedBy(version: number, client: MsnpTestClient, handle: string): Promise<void> {
  const cmd = await client.expect(version >= 10 ? 'ADC' : 'ADD');
  assert.equal(cmd.args[0], '0');
  assert.equal(cmd.args[1], 'RL');
  assert.ok(
    cmd.args.some((a) => a === handle || a === `N=${handle}`),
    `RL notice names ${handle}: ${cmd.args.join(' ')}`,
  );
}

export async function addContact(version: number, from: Person, to: Person): Promise<MsnpCommand> {
  const trid = from.client.trid();
  from.client.send(addCommand(version, trid, to.handle));
  const reply = await from.client.expect(version >= 10 ? 'ADC' : 'ADD');
  assert.equal(reply.args[0], String(trid));
  assert.equal(reply.args[1], 'FL');
  return reply;
}

/** `XFR SB` on `handle`'s notification connection `ns`, then `USR` at the switchboard it names. */
export async function newSwitchboard(ns: MsnpTestClient, handle: string): Promise<MsnpTestClient> {
  ns.send(`XFR ${ns.trid()} SB`);
  const xfr = await ns.expect('XFR');
  assert.equal(xfr.args[1], 'SB');
  assert.equal(xfr.args[3], 'CKI');
  const [host, port] = (xfr.args[2] ?? '').split(':');
  const sb = await MsnpTestClient.connect(Number(port), host);
  sb.send(`USR ${sb.trid()} ${handle} ${xfr.args[4]}`);
  const usr = await sb.expect('USR');
  assert.deepEqual(usr.args.slice(1, 3), ['OK', handle]);
  return sb;
}

/** Opens a switchboard from `caller`, invites `callee`, who answers: both in. */
export async function openSwitchboard(caller: Person, callee: Person, version: number) {
  const sb = await newSwitchboard(caller.client, caller.handle);
  const calTrid = sb.trid();
  sb.send(`CAL ${calTrid} ${callee.handle}`);
  const cal = await sb.expect('CAL');
  assert.equal(cal.args[1], 'RINGING');
  const sessionId = cal.args[2] ?? '';

  const rng = await callee.client.expect('RNG');
  assert.equal(rng.args[0], sessionId);
  assert.equal(rng.args[4], caller.handle);
  const [h2, p2] = (rng.args[1] ?? '').split(':');
  const sb2 = await MsnpTestClient.connect(Number(p2), h2);
  const ansTrid = sb2.trid();
  sb2.send(`ANS ${ansTrid} ${callee.handle} ${rng.args[3]} ${sessionId}`);
  const iro = await sb2.expect('IRO');
  assert.deepEqual(iro.args.slice(0, 4), [String(ansTrid), '1', '1', caller.handle]);
  if (version >= 12) assert.equal(iro.args.length, 6, 'IRO carries the client id in MSNP12');
  const ans = await sb2.expect('ANS');
  assert.deepEqual(ans.args, [String(ansTrid), 'OK']);
  const joi = await sb.expect('JOI');
  assert.equal(joi.args[0], callee.handle);
  return { callerSb: sb, calleeSb: sb2, sessionId };
}

export function textMessage(text: string): string {
  return `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\n${text}`;
}

export function typingMessage(handle: string): string {
  return `MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: ${handle}\r\n\r\n\r\n`;
}
