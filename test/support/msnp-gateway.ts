import assert from 'node:assert/strict';
import { challengeResponse } from '../../src/msnp/challenge.ts';
import { encodePayloadCommand, type MsnpCommand, MsnpDecoder } from '../../src/msnp/codec/index.ts';
import { commandText, serverHasPayload } from './msnp-client.ts';
import { passport14Ticket, productIdFor, rstTicket } from './msnp-login.ts';
import type { TestServer } from './papillon-server.ts';

export const CONTENT_TYPE = 'application/x-msn-messenger';
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface GatewayReply {
  status: number;
  messenger: string;
  contentType: string | null;
  body: Buffer;
}

/** One raw POST to the gateway. */
export async function gatewayPost(
  base: string,
  query: string,
  body: Buffer | string = Buffer.alloc(0),
  headers: Record<string, string> = { 'Content-Type': CONTENT_TYPE },
): Promise<GatewayReply> {
  const res = await fetch(`${base}/gateway/gateway.dll?${query}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? Buffer.from(body) : body,
  });
  return {
    status: res.status,
    messenger: res.headers.get('x-msn-messenger') ?? '',
    contentType: res.headers.get('content-type'),
    body: Buffer.from(await res.arrayBuffer()),
  };
}

/**
 * An MSN client's side of the gateway, as MSN Messenger does it: the first request
 * opens, later ones send, and an empty poll collects; the SessionID is re-read from
 * every response; `Session=close` ends it. Requests are strictly one at a time.
 */
export class GatewayClient {
  sessionId = '';
  gatewayIp = '';
  closed = false;
  readonly replies: GatewayReply[] = [];
  private readonly decoder = new MsnpDecoder({ hasPayload: serverHasPayload });
  private readonly inbox: MsnpCommand[] = [];
  private lastTrid = 0;

  constructor(
    readonly base: string,
    readonly server: 'NS' | 'SB',
    readonly ip = '127.0.0.1',
  ) {}

  trid(): number {
    this.lastTrid += 1;
    return this.lastTrid;
  }

  send(...lines: string[]): Promise<GatewayReply> {
    return this.request(Buffer.from(lines.map((l) => `${l}\r\n`).join('')));
  }

  sendPayload(name: string, args: (string | number)[], payload: Buffer | string): Promise<GatewayReply> {
    return this.request(encodePayloadCommand(name, args, payload));
  }

  poll(): Promise<GatewayReply> {
    return this.request(Buffer.alloc(0));
  }

  async request(body: Buffer): Promise<GatewayReply> {
    if (this.closed) throw new Error('gateway session already closed');
    const query = !this.sessionId
      ? `Action=open&Server=${this.server}&IP=${this.ip}`
      : body.length > 0
        ? `SessionID=${this.sessionId}`
        : `Action=poll&SessionID=${this.sessionId}`;
    const reply = await gatewayPost(this.base, query, body);
    this.replies.push(reply);
    assert.equal(reply.status, 200, `gateway answered ${reply.status} (${reply.messenger})`);
    assert.equal(reply.contentType, CONTENT_TYPE);
    const fields = reply.messenger.split('; ');
    if (fields.includes('Session=close')) this.closed = true;
    for (const field of fields) {
      if (field.startsWith('SessionID=')) this.sessionId = field.slice('SessionID='.length);
      if (field.startsWith('GW-IP=')) this.gatewayIp = field.slice('GW-IP='.length);
    }
    this.inbox.push(...this.decoder.push(reply.body));
    return reply;
  }

  /** The oldest received command named `name`, polling (every 50 ms) until it comes. */
  async expect(name: string, timeoutMs = 3000): Promise<MsnpCommand> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((c) => c.name === name);
      if (i !== -1) return this.inbox.splice(i, 1)[0] as MsnpCommand;
      if (this.closed || Date.now() > deadline) {
        const got = this.inbox.map((c) => `  ${commandText(c)}`).join('\n') || '  (nothing)';
        throw new Error(
          `waiting for ${name}: ${this.closed ? 'session closed' : 'timed out'}; received:\n${got}`,
        );
      }
      await delay(50);
      await this.poll();
    }
  }

  drain(): MsnpCommand[] {
    return this.inbox.splice(0);
  }
}

/**
 * VER, CVR, USR TWN I/S over the gateway, as MSN Messenger 5.0 (MSNP8, a Passport 1.4
 * ticket) to 7.5 (MSNP12, an RST ticket) does.
 */
export async function gatewayTwnLogin(
  server: TestServer,
  base: string,
  handle: string,
  password: string,
  version: 8 | 12 = 8,
) {
  const gw = new GatewayClient(base, 'NS', 'messenger.hotmail.com');
  await gw.send(`VER ${gw.trid()} MSNP${version} CVR0`);
  const ver = await gw.expect('VER');
  assert.ok(ver.args.includes(`MSNP${version}`));
  const client = version === 8 ? '5.0.0537' : '7.5.0324';
  await gw.send(`CVR ${gw.trid()} 0x0409 winnt 5.1 i386 MSNMSGR ${client} MSMSGS ${handle}`);
  await gw.expect('CVR');
  await gw.send(`USR ${gw.trid()} TWN I ${handle}`);
  const twn = await gw.expect('USR');
  // No XFR NS over the gateway: the gateway already is the notification server.
  assert.deepEqual(twn.args.slice(1, 3), ['TWN', 'S']);
  const policy = twn.args[3] ?? '';
  const { ticket } =
    version === 8
      ? await passport14Ticket(server, handle, password, policy)
      : await rstTicket(server, handle, password, policy);
  assert.ok(ticket, 'Passport issued a ticket');
  const usrTrid = gw.trid();
  await gw.send(`USR ${usrTrid} TWN S ${ticket}`);
  const ok = await gw.expect('USR');
  assert.deepEqual(ok.args.slice(0, 3), [String(usrTrid), 'OK', handle]);
  const profile = await gw.expect('MSG');
  return { gw, profile: profile.payload?.toString() ?? '' };
}

/** The first CHG, and the CHL it brings (MSNP6+), answered as the real client does. */
export async function gatewayGoOnline(gw: GatewayClient, version = 8): Promise<void> {
  await gw.send(`CHG ${gw.trid()} NLN 0`);
  await gw.expect('CHG');
  const chl = await gw.expect('CHL');
  const product = productIdFor(version);
  const qryTrid = gw.trid();
  await gw.sendPayload('QRY', [qryTrid, product], challengeResponse(chl.args[1] ?? '', product) ?? '');
  const qry = await gw.expect('QRY');
  assert.equal(qry.args[0], String(qryTrid));
}
