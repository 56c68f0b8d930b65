import assert from 'node:assert/strict';
import { challengeResponse } from '../../src/msnp/challenge.ts';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import type { MsnpTestClient } from './msnp-client.ts';
import { type LoginOptions, msnpSignIn, productIdFor } from './msnp-login.ts';
import type { TestServer } from './papillon-server.ts';

/** `ADL`/`RML`/`FQY trid len` + an `<ml>` naming `handles` with list bits `l`. */
export function ml(handles: string[], l?: number, initial = false): string {
  const cs = handles.map((h) => {
    const [local, domain] = h.split('@');
    return `<d n="${domain}"><c n="${local}"${l === undefined ? '' : ` l="${l}"`} t="1"/></d>`;
  });
  return `<ml${initial ? ' l="1"' : ''}>${cs.join('')}</ml>`;
}

/**
 * Signs in and sends the initial ADL of an empty address book (`<ml l="1"></ml>`), as
 * an MSNP13+ client does before its first CHG; waits for its `ADL OK`.
 */
export async function signInEmptyList(server: TestServer, options: LoginOptions): Promise<MsnpTestClient> {
  const client = await msnpSignIn(server, options);
  client.sendPayload('ADL', [client.trid()], '<ml l="1"></ml>');
  await client.expect('ADL');
  return client;
}

/** First CHG (with capabilities as the version writes them), the CHL answer; returns the burst. */
export async function goOnline(
  client: MsnpTestClient,
  version: number,
  status = 'NLN',
): Promise<MsnpCommand[]> {
  const caps = version >= 16 ? '2788999228:48' : '1342177280';
  client.send(`CHG ${client.trid()} ${status} ${caps}`);
  const chg = await client.expect('CHG');
  assert.equal(chg.args[2], caps, 'CHG echoes the capabilities as sent');
  const chl = await client.expect('CHL');
  const product = productIdFor(version);
  client.sendPayload('QRY', [client.trid(), product], challengeResponse(chl.args[1] ?? '', product) ?? '');
  await client.expect('QRY');
  const burst: MsnpCommand[] = [];
  for (;;) {
    const next = await client.next(150).catch(() => undefined);
    if (!next) break;
    burst.push(next);
  }
  return burst;
}

/** The next `name` command for which `match` holds (earlier ones are dropped). */
export async function expectWhere(
  client: MsnpTestClient,
  name: string,
  match: (cmd: MsnpCommand) => boolean,
): Promise<MsnpCommand> {
  for (;;) {
    const cmd = await client.expect(name);
    if (match(cmd)) return cmd;
  }
}
