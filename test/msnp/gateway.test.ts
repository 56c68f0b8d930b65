import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildHttpApp } from '../../src/http/app.ts';
import { GatewaySessions } from '../../src/msnp/gateway/gateway-sessions.ts';
import { msnpGatewayRoutes } from '../../src/msnp/gateway/routes.ts';
import { type MsnpListeners, startMsnpListeners } from '../../src/msnp/listener.ts';
import { createLogger } from '../../src/server/logger.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import {
  CONTENT_TYPE,
  GatewayClient,
  gatewayGoOnline,
  gatewayPost,
  gatewayTwnLogin,
} from '../support/msnp-gateway.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { newSwitchboard, textMessage } from '../transcripts/msnp-session.ts';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('MSNP HTTP gateway', () => {
  let server: TestServer;
  let base: string;
  const alice = { handle: 'gwalice@localhost', password: 'alice-secret', name: 'Alice G' };
  const bob = { handle: 'gwbob@localhost', password: 'bob-secret', name: 'Bob T' };
  let bobTcp: MsnpTestClient;
  let aliceGw: GatewayClient;

  before(async () => {
    server = await startTestServer();
    base = `http://127.0.0.1:${server.port('http')}`;
    for (const p of [alice, bob]) {
      await server.server.core.accounts.create({
        privacy: 'allow-all',
        handle: p.handle,
        password: p.password,
        displayName: p.name,
      });
    }
    bobTcp = await msnpSignIn(server, { version: 8, handle: bob.handle, password: bob.password });
    await msnpSetStatus(bobTcp, 8, 'NLN', { first: true });
  });
  after(async () => {
    await bobTcp.close();
    await server.stop();
  });

  it('answers CORS preflight for web clients', async () => {
    const res = await fetch(`${base}/gateway/gateway.dll?Action=open&Server=NS`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    assert.ok(res.status === 204 || res.status === 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /content-type/i);
  });

  it('signs in over MSNP8 (TWN), syncs, goes online, and sees a TCP contact by polling', async () => {
    const { gw, profile } = await gatewayTwnLogin(server, base, alice.handle, alice.password);
    aliceGw = gw;
    assert.match(profile, /text\/x-msmsgsprofile/);
    assert.match(profile, /\r\nClientPort: 0\r\n/, 'ClientPort 0 over the gateway');
    // Every response names the session and the host the client used.
    for (const reply of gw.replies) {
      assert.match(reply.messenger, /^SessionID=\d+\.\d+; GW-IP=127\.0\.0\.1:\d+$/);
    }
    assert.equal(gw.gatewayIp, `127.0.0.1:${server.port('http')}`);
    assert.ok(gw.sessionId.length < 40, 'fits the 40-byte buffer Miranda copies it into');

    await gw.send(`SYN ${gw.trid()} 0`);
    await gw.expect('SYN');
    await gw.expect('GTC');
    const blp = await gw.expect('BLP');
    assert.equal(blp.args[0], 'AL');
    await gatewayGoOnline(gw);

    // Alice adds Bob (online over TCP): the reply, then his NLN.
    const addTrid = gw.trid();
    await gw.send(`ADD ${addTrid} FL ${bob.handle} ${bob.handle}`);
    const add = await gw.expect('ADD');
    assert.deepEqual(add.args.slice(0, 2), [String(addTrid), 'FL']);
    const nln = await gw.expect('NLN');
    assert.deepEqual(nln.args.slice(0, 3), ['NLN', bob.handle, 'Bob%20T']);
    const rl = await bobTcp.expect('ADD');
    assert.deepEqual(rl.args.slice(0, 2), ['0', 'RL']);

    // Bob adds Alice back and sees her online (her presence came over HTTP).
    bobTcp.send(`ADD ${bobTcp.trid()} FL ${alice.handle} ${alice.handle}`);
    await bobTcp.expect('ADD');
    const seen = await bobTcp.expect('NLN');
    assert.deepEqual(seen.args.slice(0, 2), ['NLN', alice.handle]);
    await gw.expect('ADD'); // ADD 0 RL bob

    // Bob changes status: Alice learns it on a later poll.
    bobTcp.send(`CHG ${bobTcp.trid()} BSY 0`);
    await bobTcp.expect('CHG');
    const busy = await gw.expect('NLN');
    assert.deepEqual(busy.args.slice(0, 2), ['BSY', bob.handle]);
  });

  it('runs a switchboard over the gateway with a TCP contact', async () => {
    const gw = aliceGw;
    // Bob back to online so he can be invited.
    bobTcp.send(`CHG ${bobTcp.trid()} NLN 0`);
    await bobTcp.expect('CHG');
    await gw.expect('NLN');

    await gw.send(`XFR ${gw.trid()} SB`);
    const xfr = await gw.expect('XFR');
    assert.equal(xfr.args[1], 'SB');
    assert.equal(xfr.args[3], 'CKI');
    const [sbHost] = (xfr.args[2] ?? '').split(':');

    // The client opens Server=SB at the gateway, naming the SB host, with USR in the body.
    const sb = new GatewayClient(base, 'SB', sbHost);
    const usrTrid = sb.trid();
    await sb.send(`USR ${usrTrid} ${alice.handle} ${xfr.args[4]}`);
    const usr = await sb.expect('USR');
    assert.deepEqual(usr.args.slice(0, 3), [String(usrTrid), 'OK', alice.handle]);
    assert.notEqual(sb.sessionId, gw.sessionId);

    await sb.send(`CAL ${sb.trid()} ${bob.handle}`);
    const cal = await sb.expect('CAL');
    assert.equal(cal.args[1], 'RINGING');
    const sessionId = cal.args[2] ?? '';

    const rng = await bobTcp.expect('RNG');
    assert.equal(rng.args[0], sessionId);
    const [h, p] = (rng.args[1] ?? '').split(':');
    const bobSb = await MsnpTestClient.connect(Number(p), h);
    try {
      const ansTrid = bobSb.trid();
      bobSb.send(`ANS ${ansTrid} ${bob.handle} ${rng.args[3]} ${sessionId}`);
      const iro = await bobSb.expect('IRO');
      assert.equal(iro.args[3], alice.handle);
      await bobSb.expect('ANS');
      const joi = await sb.expect('JOI');
      assert.equal(joi.args[0], bob.handle);

      // Gateway → TCP.
      const msgTrid = sb.trid();
      await sb.sendPayload('MSG', [msgTrid, 'A'], textMessage('hello from behind a proxy'));
      const ack = await sb.expect('ACK');
      assert.equal(ack.args[0], String(msgTrid));
      const got = await bobSb.expect('MSG');
      assert.equal(got.args[0], alice.handle);
      assert.match(got.payload?.toString() ?? '', /hello from behind a proxy$/);

      // TCP → gateway.
      bobSb.sendPayload('MSG', [bobSb.trid(), 'N'], textMessage('hello back'));
      const back = await sb.expect('MSG');
      assert.equal(back.args[0], bob.handle);
      assert.equal(back.payload?.toString(), textMessage('hello back'));

      // OUT on the switchboard: Session=close, and Bob sees Alice leave.
      const out = await sb.send('OUT');
      assert.match(out.messenger, /^Session=close; SessionID=/);
      assert.ok(sb.closed);
      const bye = await bobSb.expect('BYE');
      assert.equal(bye.args[0], alice.handle);
      const again = await gatewayPost(base, `Action=poll&SessionID=${sb.sessionId}`);
      assert.equal(again.status, 400);
    } finally {
      await bobSb.close();
    }
  });

  it('answers a switchboard invitation (RNG → ANS) over the gateway', async () => {
    const gw = aliceGw;
    const bobSb = await newSwitchboard(bobTcp, bob.handle);
    try {
      bobSb.send(`CAL ${bobSb.trid()} ${alice.handle}`);
      const cal = await bobSb.expect('CAL');
      const sessionId = cal.args[2] ?? '';

      const rng = await gw.expect('RNG');
      assert.equal(rng.args[0], sessionId);
      assert.equal(rng.args[4], bob.handle);
      const [sbHost] = (rng.args[1] ?? '').split(':');
      const sb = new GatewayClient(base, 'SB', sbHost);
      const ansTrid = sb.trid();
      await sb.send(`ANS ${ansTrid} ${alice.handle} ${rng.args[3]} ${sessionId}`);
      const iro = await sb.expect('IRO');
      assert.deepEqual(iro.args.slice(0, 4), [String(ansTrid), '1', '1', bob.handle]);
      const ans = await sb.expect('ANS');
      assert.deepEqual(ans.args, [String(ansTrid), 'OK']);
      const joi = await bobSb.expect('JOI');
      assert.equal(joi.args[0], alice.handle);

      bobSb.sendPayload('MSG', [bobSb.trid(), 'U'], textMessage('you there?'));
      const msg = await sb.expect('MSG');
      assert.equal(msg.payload?.toString(), textMessage('you there?'));
      await sb.sendPayload('MSG', [sb.trid(), 'U'], textMessage('yes'));
      const reply = await bobSb.expect('MSG');
      assert.equal(reply.payload?.toString(), textMessage('yes'));

      // Bob leaves: the gateway side hears BYE on its next poll.
      await bobSb.close();
      const bye = await sb.expect('BYE');
      assert.equal(bye.args[0], bob.handle);
      await sb.send('OUT');
      assert.ok(sb.closed);
    } finally {
      await bobSb.close();
    }
  });

  it('OUT on the notification server closes the session and signs out', async () => {
    const gw = aliceGw;
    const reply = await gw.send('OUT');
    assert.equal(reply.status, 200);
    assert.match(reply.messenger, /^Session=close; SessionID=\d+\.\d+$/);
    assert.ok(gw.closed);
    const fln = await bobTcp.expect('FLN');
    assert.equal(fln.args[0], alice.handle);
    const after = await gatewayPost(base, `Action=poll&SessionID=${gw.sessionId}`);
    assert.equal(after.status, 400);
    assert.match(after.messenger, /Session=close/);
  });

  it('answers an unknown SessionID with 400 and Session=close', async () => {
    for (const query of ['SessionID=12345.67890', 'Action=poll&SessionID=12345.67890', 'Action=poll']) {
      const reply = await gatewayPost(base, query, query.includes('poll') ? '' : 'PNG\r\n');
      assert.equal(reply.status, 400, query);
      assert.match(reply.messenger, /Session=close/);
      assert.equal(reply.contentType, CONTENT_TYPE);
    }
    const injected = await gatewayPost(
      base,
      `SessionID=${encodeURIComponent('1.2\r\nX-Evil: 1')}`,
      'PNG\r\n',
    );
    assert.equal(injected.status, 400);
    assert.equal(injected.messenger, 'Session=close; SessionID=');
  });

  it('takes a body without Content-Type, and an empty SessionID on open (bitlbee)', async () => {
    const reply = await gatewayPost(base, 'SessionID=&Action=open&Server=NS', 'VER 1 MSNP8 CVR0\r\n', {});
    assert.equal(reply.status, 200);
    assert.match(reply.body.toString(), /^VER 1 MSNP8/);
    const id = /^SessionID=([^;]+);/.exec(reply.messenger)?.[1];
    assert.ok(id);
    const text = await gatewayPost(base, `SessionID=${id}`, 'OUT\r\n', { 'Content-Type': 'text/plain' });
    assert.equal(text.status, 200);
    assert.match(text.messenger, /^Session=close/);
  });

  it('signs in over MSNP2 (MD5) and closes on OUT', async () => {
    const carol = { handle: 'gwcarol@localhost', password: 'carol-secret' };
    await server.server.core.accounts.create({ privacy: 'allow-all', ...carol, displayName: 'Carol' });
    const gw = new GatewayClient(base, 'NS');
    await gw.send(`VER ${gw.trid()} MSNP2`);
    const ver = await gw.expect('VER');
    assert.deepEqual(ver.args.slice(1), ['MSNP2']);
    await gw.send(`INF ${gw.trid()}`);
    const inf = await gw.expect('INF');
    assert.equal(inf.args[1], 'MD5');
    await gw.send(`USR ${gw.trid()} MD5 I ${carol.handle}`);
    const challenge = await gw.expect('USR');
    assert.deepEqual(challenge.args.slice(1, 3), ['MD5', 'S']);
    const proof = createHash('md5')
      .update((challenge.args[3] ?? '') + carol.password)
      .digest('hex');
    const trid = gw.trid();
    await gw.send(`USR ${trid} MD5 S ${proof}`);
    const ok = await gw.expect('USR');
    assert.deepEqual(ok.args.slice(0, 3), [String(trid), 'OK', carol.handle]);
    const account = await server.server.core.accounts.find(carol.handle);
    assert.ok(account);
    assert.equal((await server.server.core.presence.endpoints(account.id)).length, 1);
    const out = await gw.send('OUT');
    assert.match(out.messenger, /^Session=close/);
    await delay(50);
    assert.equal((await server.server.core.presence.endpoints(account.id)).length, 0);
  });

  it('a wrong MD5 password ends the session with Session=close', async () => {
    await server.server.core.accounts.create({
      privacy: 'allow-all',
      handle: 'gwdan@localhost',
      password: 'dan-secret',
      displayName: 'Dan',
    });
    const gw = new GatewayClient(base, 'NS');
    await gw.send(`VER ${gw.trid()} MSNP5`, `INF ${gw.trid()}`, `USR ${gw.trid()} MD5 I gwdan@localhost`);
    const challenge = await gw.expect('USR');
    assert.equal(challenge.args[1], 'MD5');
    const reply = await gw.send(`USR ${gw.trid()} MD5 S 00000000000000000000000000000000`);
    assert.match(reply.messenger, /^Session=close/);
    const error = await gw.expect('911');
    assert.equal(error.args[0], '4');
  });
});

describe('MSNP HTTP gateway sessions (short timeouts)', () => {
  let server: TestServer;
  let listeners: MsnpListeners;
  let sessions: GatewaySessions;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    server = await startTestServer();
    const logger = createLogger('silent');
    const core = server.server.core;
    // A second MSNP front on the same core, so the gateway can have test-sized limits.
    listeners = await startMsnpListeners(core, logger, {
      bind: '127.0.0.1',
      nsPort: 0,
      sbPort: 0,
      domain: 'localhost',
    });
    sessions = new GatewaySessions(listeners.context, { idleTimeoutMs: 200, maxSessions: 3 });
    app = buildHttpApp({
      core,
      logger,
      version: 'test',
      startedAt: Date.now(),
      plugins: [msnpGatewayRoutes(listeners.context, { sessions })],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
    for (const name of ['erin', 'frank']) {
      await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-secret`,
        displayName: name,
      });
    }
  });
  after(async () => {
    await listeners.stop();
    await app.close();
    await server.stop();
  });

  it('closes a session that stops polling, and its presence goes', async () => {
    const core = server.server.core;
    const frank = await msnpSignIn(server, {
      version: 8,
      handle: 'frank@localhost',
      password: 'frank-secret',
    });
    try {
      await msnpSetStatus(frank, 8, 'NLN', { first: true });
      frank.send(`ADD ${frank.trid()} FL erin@localhost erin@localhost`);
      await frank.expect('ADD');

      const erin = await core.accounts.find('erin@localhost');
      assert.ok(erin);
      const ticket = await core.tickets.issue(erin.id);
      const gw = new GatewayClient(base, 'NS');
      await gw.send(
        `VER ${gw.trid()} MSNP8 CVR0`,
        `CVR ${gw.trid()} 0x0409 winnt 5.1 i386 MSNMSGR 5.0.0537 MSMSGS x`,
      );
      await gw.send(`USR ${gw.trid()} TWN I erin@localhost`);
      await gw.send(`USR ${gw.trid()} TWN S t=${ticket.t}&p=`);
      const twn = await gw.expect('USR', 1000);
      assert.equal(twn.args[1], 'TWN');
      const ok = await gw.expect('USR', 1000);
      assert.equal(ok.args[1], 'OK');
      await gatewayGoOnline(gw);
      const nln = await frank.expect('NLN');
      assert.equal(nln.args[1], 'erin@localhost');
      assert.equal(sessions.size, 1);
      frank.drain(); // the FLN that answered adding Erin while she was offline

      // No request for longer than the idle timeout: closed like a dropped connection.
      const fln = await frank.expect('FLN', 2000);
      assert.equal(fln.args[0], 'erin@localhost');
      assert.equal(sessions.size, 0);
      assert.equal((await core.presence.endpoints(erin.id)).length, 0);
      const late = await gatewayPost(base, `Action=poll&SessionID=${gw.sessionId}`);
      assert.equal(late.status, 400);
      assert.match(late.messenger, /Session=close/);
    } finally {
      await frank.close();
    }
  });

  it('refuses a second request while one is outstanding', async () => {
    const gw = new GatewayClient(base, 'NS');
    await gw.send(`VER ${gw.trid()} MSNP8 CVR0`);
    const entry = sessions.get(gw.sessionId);
    assert.ok(entry && entry.kind === 'NS');
    // Keep the session's command queue busy, so the next request waits on it.
    entry.session.enqueue(() => delay(300));
    const first = gatewayPost(base, `Action=poll&SessionID=${gw.sessionId}`);
    while (!entry.busy) await delay(5);
    const second = await gatewayPost(
      base,
      `SessionID=${gw.sessionId}`,
      `CVR ${gw.trid()} 0x0409 winnt 5.1\r\n`,
    );
    assert.equal(second.status, 400);
    assert.doesNotMatch(second.messenger, /Session=close/, 'the session itself lives on');
    const firstReply = await first;
    assert.equal(firstReply.status, 200);
    // Still usable afterwards.
    const out = await gw.send('OUT');
    assert.match(out.messenger, /^Session=close/);
  });

  it('refuses opens beyond the session limit with 503', async () => {
    const open = () => gatewayPost(base, 'Action=open&Server=NS', `VER 1 MSNP8\r\n`);
    const replies = [await open(), await open(), await open()];
    for (const r of replies) assert.equal(r.status, 200);
    const refused = await open();
    assert.equal(refused.status, 503);
    assert.match(refused.messenger, /Session=close/);
    // They idle out (200 ms), after which opens work again.
    await delay(400);
    assert.equal(sessions.size, 0);
    const again = await open();
    assert.equal(again.status, 200);
  });

  it('closes a switchboard session that never authenticates', async () => {
    const sb = new GatewayClient(base, 'SB');
    const reply = await sb.send('CAL 1 erin@localhost');
    assert.match(reply.messenger, /^Session=close/);
    const error = await sb.expect('911');
    assert.equal(error.args[0], '1');
  });
});

describe('MSNP login deadline (TCP and gateway)', () => {
  let server: TestServer;
  let listeners: MsnpListeners;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    server = await startTestServer();
    const logger = createLogger('silent');
    const core = server.server.core;
    listeners = await startMsnpListeners(core, logger, {
      bind: '127.0.0.1',
      nsPort: 0,
      sbPort: 0,
      domain: 'localhost',
      loginTimeoutMs: 500,
    });
    app = buildHttpApp({
      core,
      logger,
      version: 'test',
      startedAt: Date.now(),
      plugins: [msnpGatewayRoutes(listeners.context)],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
    await core.accounts.create({ privacy: 'allow-all', handle: 'gina@localhost', password: 'gina-secret' });
  });
  after(async () => {
    await listeners.stop();
    await app.close();
    await server.stop();
  });

  it('closes a TCP connection that does not sign in, on the NS and on a switchboard', async () => {
    const ns = await MsnpTestClient.connect(listeners.nsPort);
    ns.send('VER 1 MSNP8 CVR0');
    await ns.expect('VER');
    const sb = await MsnpTestClient.connect(listeners.sbPort);
    await Promise.all([ns.closed(2000), sb.closed(2000)]);
  });

  it('ends a gateway session that does not sign in; its next request hears Session=close', async () => {
    const gw = new GatewayClient(base, 'NS');
    await gw.send(`VER ${gw.trid()} MSNP8 CVR0`);
    await gw.expect('VER');
    await delay(800);
    assert.match((await gw.poll()).messenger, /^Session=close/);
  });

  it('keeps a gateway session that signed in in time', async () => {
    const core = server.server.core;
    const ticket = await core.tickets.issue((await core.accounts.get('gina@localhost')).id);
    const gw = new GatewayClient(base, 'NS');
    await gw.send(`VER ${gw.trid()} MSNP8 CVR0`, `USR ${gw.trid()} TWN I gina@localhost`);
    await gw.send(`USR ${gw.trid()} TWN S t=${ticket.t}&p=`);
    assert.equal((await gw.expect('USR')).args[1], 'TWN');
    assert.equal((await gw.expect('USR')).args[1], 'OK');
    await delay(800);
    await gw.send('PNG');
    await gw.expect('QNG');
    assert.equal(gw.closed, false);
    await gw.send('OUT');
  });
});
