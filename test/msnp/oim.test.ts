import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import type { Core } from '../../src/core/core.ts';
import { challengeResponse } from '../../src/msnp/challenge.ts';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { soapPost } from '../support/msnp-web.ts';
import { httpsRequest, startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, xml } from '../support/xmpp-client.ts';

// Offline messages through MSN's OIM web services (src/msnp/services/oim.ts, rsi.ts,
// src/msnp/ns/oim-notification.ts), as Pidgin (msn/oim.c) and msn-pecan (pn_oim.c) use them.

const WLM85 = 'PROD0119GSJUC$18';
const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false, parseTagValue: false });

/** Takes every stored message of the account out of the queue (as a client's DeleteMessages would). */
async function emptyQueue(core: Core, accountId: string): Promise<void> {
  await core.offline.take(
    accountId,
    (await core.offline.pending(accountId)).map((m) => m.id),
  );
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** A Store2 request exactly shaped as msn-pecan's send_send_request writes it. */
function store2Body(options: {
  from: string;
  to: string;
  ticket: string;
  lockKey: string;
  text: string;
  seq: number;
}) {
  // A ticket already XML-escaped (msn-pecan copies it from the RST answer) goes in as it is.
  const esc = (s: string) =>
    s.includes('&amp;') ? s : s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const body =
    b64(options.text)
      .match(/.{1,76}/g)
      ?.join('\r\n') ?? '';
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><From memberName="${options.from}" friendlyName="=?utf-8?B?${b64('Someone Else')}?=" xml:lang="en-US" proxy="MSNMSGR" xmlns="http://messenger.msn.com/ws/2004/09/oim/" msnpVer="MSNP15" buildVer="8.5.1288.816"/><To memberName="${options.to}" xmlns="http://messenger.msn.com/ws/2004/09/oim/"/><Ticket passport="${esc(options.ticket)}" appid="${WLM85}" lockkey="${options.lockKey}" xmlns="http://messenger.msn.com/ws/2004/09/oim/"/><Sequence xmlns="http://schemas.xmlsoap.org/ws/2003/03/rm"><Identifier xmlns="http://schemas.xmlsoap.org/ws/2002/07/utility">http://messenger.msn.com</Identifier><MessageNumber>${options.seq}</MessageNumber></Sequence></soap:Header><soap:Body><MessageType xmlns="http://messenger.msn.com/ws/2004/09/oim/">text</MessageType><Content xmlns="http://messenger.msn.com/ws/2004/09/oim/">MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\nX-OIM-Message-Type: OfflineMessage\r\nX-OIM-Run-Id: {3A3BD1D6-4D5E-4E8B-9B1C-0E5F3A0F2B11}\r\nX-OIM-Sequence-Num: ${options.seq}\r\n\r\n${body}</Content></soap:Body></soap:Envelope>`;
}

function rsiBody(ticket: { t: string; p: string }, operation: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><PassportCookie xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><t>${ticket.t}</t><p>${ticket.p}</p></PassportCookie></soap:Header><soap:Body>${operation}</soap:Body></soap:Envelope>`;
}

describe('OIM: offline messages through the MSN web services', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const names = ['ann', 'bob', 'cat', 'dan', 'eve', 'fay'];
    const displayNames: Record<string, string> = { ann: 'Ann ☀' };
    const ids = [];
    for (const name of names) {
      const displayName = displayNames[name] ?? name;
      ids.push(
        (
          await core.accounts.create({
            privacy: 'allow-all',
            handle: `${name}@localhost`,
            password: `${name}-pw`,
            displayName,
          })
        ).id,
      );
    }
    for (const [i, id] of ids.entries()) {
      for (const other of names) {
        if (other !== names[i]) await core.relationships.addForward(id, `${other}@localhost`);
      }
    }
  });
  after(async () => {
    await server.stop();
  });

  async function idOf(name: string): Promise<string> {
    return (await server.server.core.accounts.get(`${name}@localhost`)).id;
  }

  async function serviceTicket(name: string): Promise<{ t: string; p: string }> {
    return server.server.core.tickets.issueService(await idOf(name));
  }

  function post(path: string, host: string, action: string, body: string) {
    return soapPost(server, path, host, action, body);
  }

  function store2(options: {
    from: string;
    to: string;
    ticket: string;
    lockKey: string;
    text: string;
    seq?: number;
  }) {
    return post(
      '/OimWS/oim.asmx',
      'ows.messenger.msn.com',
      'http://messenger.live.com/ws/2006/09/oim/Store2',
      store2Body({ seq: 1, ...options }),
    );
  }

  function rsi(ticket: { t: string; p: string }, operation: string) {
    const name = /^<(\w+)/.exec(operation)?.[1] ?? '';
    return post(
      '/rsi/rsi.asmx',
      'rsi.hotmail.com',
      `http://www.hotmail.msn.com/ws/2004/09/oim/rsi/${name}`,
      rsiBody(ticket, operation),
    );
  }

  /**
   * The messengersecure.live.com token as msn-pecan gets it: RST.srf's third token
   * (`Compact2`), its text copied as it stands in the XML (pn_auth.c process_body).
   */
  async function pecanSecureToken(name: string): Promise<string> {
    const rst = (address: string, id: number, policy: string) =>
      `<wst:RequestSecurityToken Id="RST${id}"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>${address}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>${policy ? `<wsse:PolicyReference URI="${policy}"></wsse:PolicyReference>` : ''}</wst:RequestSecurityToken>`;
    const body = `<?xml version="1.0" encoding="utf-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wssc="http://schemas.xmlsoap.org/ws/2004/04/sc" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust"><Header><wsse:Security><wsse:UsernameToken Id="user"><wsse:Username>${name}@localhost</wsse:Username><wsse:Password>${name}-pw</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body><ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">${rst('http://Passport.NET/tb', 0, '')}${rst('messenger.msn.com', 1, '?id=507')}${rst('messengersecure.live.com', 2, 'MBI_SSL')}</ps:RequestMultipleSecurityTokens></Body></Envelope>`;
    const res = await post('/RST.srf', 'login.live.com', '', body);
    const token = /<wsse:BinarySecurityToken Id="Compact2">([^<]*)</.exec(res.body)?.[1];
    assert.ok(token, res.body);
    return token;
  }

  /** Sends an OIM as Pidgin and msn-pecan do: no lock key, answer the challenge, resend. */
  async function sendOim(from: string, to: string, text: string, passportAttribute?: string): Promise<void> {
    const ticket = await serviceTicket(from);
    const passport = passportAttribute ?? `t=${ticket.t}&p=${ticket.p}`;
    const first = await store2({
      from: `${from}@localhost`,
      to: `${to}@localhost`,
      ticket: passport,
      lockKey: '',
      text,
    });
    const challenge = /<LockKeyChallenge [^>]*>(\d+)</.exec(first.body)?.[1];
    assert.ok(challenge, first.body);
    const lockKey = challengeResponse(challenge, WLM85) ?? '';
    const second = await store2({
      from: `${from}@localhost`,
      to: `${to}@localhost`,
      ticket: passport,
      lockKey,
      text,
    });
    assert.equal(second.status, 200, second.body);
    assert.doesNotMatch(second.body, /Fault/);
  }

  function faultCode(body: string): string | undefined {
    return /<faultcode[^>]*>([^<]*)<\/faultcode>/.exec(body)?.[1];
  }

  /** The `<M>` entries of a Mail-Data value. */
  function messagesIn(md: string): Array<Record<string, string>> {
    const parsed = parser.parse(md) as { MD?: { M?: unknown } };
    const m = parsed.MD?.M;
    return (m === undefined ? [] : Array.isArray(m) ? m : [m]) as Array<Record<string, string>>;
  }

  function mailDataOf(msg: MsnpCommand): string {
    const payload = msg.payload?.toString('utf8') ?? '';
    return /\r\nMail-Data: (.*)\r\n/.exec(payload)?.[1] ?? '';
  }

  /** Signs in at MSNP13 and returns the client and the initial Mail-Data. */
  async function signIn13(name: string): Promise<{ ns: MsnpTestClient; md: string }> {
    const ns = await msnpSignIn(server, { version: 13, handle: `${name}@localhost`, password: `${name}-pw` });
    for (;;) {
      const msg = await ns.expect('MSG');
      const payload = msg.payload?.toString('utf8') ?? '';
      if (payload.includes('text/x-msmsgsinitialmdatanotification')) return { ns, md: mailDataOf(msg) };
    }
  }

  it('refuses a Store2 until the lock-key challenge is answered, and checks the answer', async () => {
    const core = server.server.core;
    const ticket = await serviceTicket('ann');
    const passport = `t=${ticket.t}&p=${ticket.p}`;
    const base = { from: 'ann@localhost', to: 'bob@localhost', ticket: passport, text: 'locked?' };

    const first = await store2({ ...base, lockKey: '' });
    assert.equal(faultCode(first.body), 'q0:AuthenticationFailed');
    const challenge = /<LockKeyChallenge [^>]*>(\d+)</.exec(first.body)?.[1];
    assert.ok(challenge, first.body);
    assert.doesNotMatch(first.body, /RequiredAuthPolicy/);

    // A wrong answer, or the right answer for another challenge, stores nothing.
    const wrong = await store2({ ...base, lockKey: challengeResponse('12345678901234567890', WLM85) ?? '' });
    assert.equal(faultCode(wrong.body), 'q0:AuthenticationFailed');
    assert.match(wrong.body, /<LockKeyChallenge /);
    assert.equal(await core.offline.count(await idOf('bob')), 0);

    const right = await store2({ ...base, lockKey: challengeResponse(challenge, WLM85) ?? '', seq: 7 });
    assert.equal(right.status, 200, right.body);
    assert.match(right.headers['content-type'] as string, /^text\/xml/);
    assert.match(right.body, /<AcknowledgmentRange Upper="7" Lower="7"\/>/);
    const stored = await core.offline.pending(await idOf('bob'));
    assert.deepEqual(
      stored.map((m) => [m.senderHandle, m.content.text]),
      [['ann@localhost', 'locked?']],
    );
    // The sender is the ticket's account, whatever the From header says.
    await emptyQueue(core, await idOf('bob'));
  });

  it('answers bad tickets, unknown recipients and broken requests with the faults clients know', async () => {
    const bad = await store2({
      from: 'ann@localhost',
      to: 'bob@localhost',
      ticket: 't=nope&p=',
      lockKey: '',
      text: 'x',
    });
    assert.equal(faultCode(bad.body), 'q0:AuthenticationFailed');
    assert.match(bad.body, /<RequiredAuthPolicy[^>]*>MBI_SSL</);
    assert.doesNotMatch(bad.body, /LockKeyChallenge/);

    await sendOim('ann', 'cat', 'warm-up'); // the lock key is now known for ann
    await emptyQueue(server.server.core, await idOf('cat'));
    const ticket = await serviceTicket('ann');
    const first = await store2({
      from: 'ann@localhost',
      to: 'bob@localhost',
      ticket: `t=${ticket.t}&p=`,
      lockKey: '',
      text: 'x',
    });
    const challenge = /<LockKeyChallenge [^>]*>(\d+)</.exec(first.body)?.[1] ?? '';
    const lockKey = challengeResponse(challenge, WLM85) ?? '';
    const nobody = await store2({
      from: 'ann@localhost',
      to: 'nobody@localhost',
      ticket: `t=${ticket.t}&p=`,
      lockKey,
      text: 'x',
    });
    assert.equal(faultCode(nobody.body), 'q0:SystemUnavailable');

    const garbage = await post(
      '/OimWS/oim.asmx',
      'ows.messenger.msn.com',
      'Store2',
      '<soap:Envelope><unclosed>',
    );
    assert.equal(garbage.status, 500);
    assert.ok(faultCode(garbage.body));
    const rsiGarbage = await post('/rsi/rsi.asmx', 'rsi.hotmail.com', 'GetMetadata', 'not xml at all <');
    assert.ok(faultCode(rsiGarbage.body));
    const badRsiTicket = await rsi(
      { t: 'nope', p: '' },
      '<GetMetadata xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi" />',
    );
    assert.equal(faultCode(badRsiTicket.body), 'q0:AuthenticationFailed');
    // The server is fine afterwards.
    const health = await httpsRequest(server, { path: '/health' });
    assert.equal(health.status, 200);
  });

  it('lists an OIM in Mail-Data at MSNP13 sign-in; GetMessage returns it intact; DeleteMessages removes it', async () => {
    const text = 'Grüße aus Köln ☕ 😀\r\nzweite Zeile & <tags>';
    const before = Date.now();
    await sendOim('ann', 'dan', text);
    const after = Date.now();

    const { ns, md } = await signIn13('dan');
    const listed = messagesIn(md);
    assert.equal(listed.length, 1, md);
    const entry = listed[0] ?? {};
    assert.equal(entry.E, 'ann@localhost');
    assert.equal(entry.RS, '0');
    assert.equal(entry.N, `=?utf-8?B?${b64('Ann ☀')}?=`);
    const id = entry.I ?? '';
    assert.ok(id);

    const ticket = await serviceTicket('dan');
    const meta = await rsi(ticket, '<GetMetadata xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi" />');
    assert.equal(messagesIn(/<MD>.*<\/MD>/.exec(meta.body)?.[0] ?? '')[0]?.I, id);

    const got = await rsi(
      ticket,
      `<GetMessage xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><messageId>${id}</messageId><alsoMarkAsRead>false</alsoMarkAsRead></GetMessage>`,
    );
    assert.equal(got.status, 200, got.body);
    // msn-pecan reads the raw body: the MIME's own CRLF CRLF is the first in it.
    const raw = got.body;
    const headerEnd = raw.indexOf('\r\n\r\n');
    assert.ok(headerEnd > raw.indexOf('<GetMessageResult>'));
    const result = String(
      (parser.parse(raw) as { Envelope: { Body: { GetMessageResponse: { GetMessageResult: string } } } })
        .Envelope.Body.GetMessageResponse.GetMessageResult,
    ).replace(/\r\n/g, '\n');
    const [head = '', body = ''] = result.split('\n\n');
    assert.match(head, /^From: =\?utf-8\?B\?[^?]+\?= <ann@localhost>$/m);
    assert.match(head, /^X-OIM-Message-Type: OfflineMessage$/m);
    assert.match(head, /^X-OIM-originatingSource: /m);
    assert.match(head, /^X-OIM-Sequence-Num: 1$/m);
    assert.match(head, /^Content-Type: text\/plain; charset=UTF-8$/m);
    assert.equal(Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8'), text);
    // The original time, in the form Pidgin and msn-pecan scan.
    const date = /^Date: (\d{1,2}) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) \+0000$/m.exec(head);
    assert.ok(date, head);
    const sent = Date.parse(`${date[2]} ${date[1]}, ${date[3]} ${date[4]}:${date[5]}:${date[6]} UTC`);
    assert.ok(sent >= Math.floor(before / 1000) * 1000 && sent <= after, `${sent} in [${before}, ${after}]`);

    // Fetching does not delete it: only DeleteMessages does.
    assert.equal(await server.server.core.offline.count(await idOf('dan')), 1);
    const deleted = await rsi(
      ticket,
      `<DeleteMessages xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><messageIds><messageId>${id}</messageId></messageIds></DeleteMessages>`,
    );
    assert.equal(deleted.status, 200, deleted.body);
    assert.equal(await server.server.core.offline.count(await idOf('dan')), 0);
    const again = await rsi(ticket, '<GetMetadata xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi" />');
    assert.deepEqual(messagesIn(/<MD>.*<\/MD>/.exec(again.body)?.[0] ?? ''), []);
    await ns.close();

    const { ns: later, md: laterMd } = await signIn13('dan');
    assert.deepEqual(messagesIn(laterMd), []);
    await later.close();
  });

  it('lists messages an XMPP user left to an MSNP13 user, and does not ring the MSNP13 client', async () => {
    const xmpp = await connectXmpp(server, { username: 'eve', password: 'eve-pw', resource: 'gajim' });
    try {
      await xmpp.xmpp.send(
        xml('message', { to: 'fay@localhost', type: 'chat' }, xml('body', {}, 'from XMPP ✓')),
      );
      for (let i = 0; i < 100 && (await server.server.core.offline.count(await idOf('fay'))) === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await xmpp.stop();
    }
    const { ns, md } = await signIn13('fay');
    const listed = messagesIn(md);
    assert.deepEqual(
      listed.map((m) => m.E),
      ['eve@localhost'],
    );
    await msnpSetStatus(ns, 13, 'NLN', { first: true }).catch(() => []);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      ns.drain().filter((c) => c.name === 'RNG'),
      [],
    );
    const ticket = await serviceTicket('fay');
    const got = await rsi(
      ticket,
      `<GetMessage xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><messageId>${listed[0]?.I}</messageId><alsoMarkAsRead>false</alsoMarkAsRead></GetMessage>`,
    );
    const result = /<GetMessageResult>([\s\S]*)<\/GetMessageResult>/.exec(got.body)?.[1] ?? '';
    const body = result.split('\r\n\r\n')[1] ?? '';
    assert.equal(Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8'), 'from XMPP ✓');
    await ns.close();
  });

  it('tells a signed-in MSNP13 client when an OIM arrives', async () => {
    const { ns } = await signIn13('cat');
    await sendOim('bob', 'cat', 'you there?');
    for (;;) {
      const msg = await ns.expect('MSG');
      const payload = msg.payload?.toString('utf8') ?? '';
      if (!payload.includes('text/x-msmsgsoimnotification')) continue;
      assert.deepEqual(
        messagesIn(mailDataOf(msg)).map((m) => m.E),
        ['bob@localhost'],
      );
      break;
    }
    await ns.close();
    await emptyQueue(server.server.core, await idOf('cat'));
  });

  it('delivers an OIM sent at MSNP12 (msn-pecan) to an MSNP12 recipient by switchboard and to XMPP with its time', async () => {
    await sendOim('ann', 'eve', 'pecan says hi', await pecanSecureToken('ann'));
    const ns = await msnpSignIn(server, { version: 12, handle: 'eve@localhost', password: 'eve-pw' });
    await msnpSetStatus(ns, 12, 'NLN', { first: true });
    const rng = await ns.expect('RNG');
    assert.equal(rng.args[4], 'ann@localhost');
    const [host, port] = (rng.args[1] ?? '').split(':');
    const sb = await MsnpTestClient.connect(Number(port), host);
    sb.send(`ANS ${sb.trid()} eve@localhost ${rng.args[3]} ${rng.args[0]}`);
    const msg = await sb.expect('MSG');
    assert.match(msg.payload?.toString('utf8') ?? '', /\r\n\r\npecan says hi$/);
    await sb.close();
    await ns.close();

    const stampFloor = new Date(Date.now() - 60_000).toISOString();
    await sendOim('ann', 'bob', 'for your Gajim');
    const xmpp = await connectXmpp(server, { username: 'bob', password: 'bob-pw', resource: 'gajim' });
    try {
      await xmpp.xmpp.send(xml('presence'));
      const got = await xmpp.waitFor(
        (el) => el.is('message') && el.getChildText('body') === 'for your Gajim',
      );
      assert.equal(got.attrs.from, 'ann@localhost');
      const stamp = got.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp as string | undefined;
      assert.ok(stamp && stamp >= stampFloor && Date.parse(stamp) <= Date.now(), String(got));
    } finally {
      await xmpp.stop();
    }
  });

  it('an OIM for someone available over XMPP right then reaches their client at once, once', async () => {
    const xmpp = await connectXmpp(server, { username: 'dan', password: 'dan-pw', resource: 'dino' });
    const other = await connectXmpp(server, { username: 'dan', password: 'dan-pw', resource: 'phone' });
    try {
      await xmpp.xmpp.send(xml('presence'));
      await other.xmpp.send(xml('presence'));
      // Each resource hears the other: both are available.
      await xmpp.waitFor((el) => el.is('presence') && el.attrs.from === other.jid);
      await other.waitFor((el) => el.is('presence') && el.attrs.from === xmpp.jid);
      const isIt = (el: { is(name: string): boolean; getChildText(name: string): string | null }) =>
        el.is('message') && el.getChildText('body') === 'while you were here';
      let copies = 0;
      for (const c of [xmpp, other]) c.xmpp.on('stanza', (el) => void (isIt(el) && copies++));
      // Ann's MSN client sees Dan offline (he is not on her list) and sends an OIM.
      await sendOim('ann', 'dan', 'while you were here');
      const got = await Promise.any([xmpp.waitFor(isIt, 3000), other.waitFor(isIt, 3000)]);
      assert.equal(got.attrs.from, 'ann@localhost');
      assert.ok(got.getChild('delay', 'urn:xmpp:delay'), String(got));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(copies, 1, 'one resource gets it, once');
      assert.equal(await server.server.core.offline.count(await idOf('dan')), 0, 'nothing left stored');
    } finally {
      await xmpp.stop();
      await other.stop();
    }
  });
});
