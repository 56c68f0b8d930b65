import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildHttpApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/server/logger.ts';
import { startXmppListeners } from '../../src/xmpp/listener.ts';
import { xmppWebSocketRoutes } from '../../src/xmpp/websocket/routes.ts';
import { startServerWithMiaAndXan } from '../support/msn-xmpp-contacts.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { httpsRequest, startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { RawWsClient, RefusedError } from '../support/xmpp-websocket.ts';
import { sync, textMessage } from '../transcripts/msnp-session.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
const roster = () => xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' }));
const chat = (to: string, body: string) => xml('message', { to, type: 'chat' }, xml('body', {}, body));
const hasBody = (body: string) => (el: ReturnType<typeof xml>) =>
  el.is('message') && el.getChildText('body') === body;

/** The refusal status of an upgrade that must fail. */
async function refusedWith(promise: Promise<RawWsClient>): Promise<number> {
  try {
    const c = await promise;
    c.close();
  } catch (err) {
    if (err instanceof RefusedError) return err.status;
    throw err;
  }
  assert.fail('the upgrade was accepted');
}

function httpGet(server: TestServer, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port('http'), path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

// A web client (xmpp.js over wss://…/xmpp-websocket) on the same network as a TCP XMPP
// client (Xan) and MSN Messenger 7.5 (Mia, MSNP12).
describe('XMPP over WebSocket (RFC 7395)', () => {
  let server: TestServer;
  let webId: string;
  const open: Array<{ stop(): Promise<void> } | { close(): unknown }> = [];
  const web = (resource = 'browser') =>
    connectXmpp(server, { username: 'web', password: 'web-secret', resource, transport: 'websocket' });

  before(async () => {
    server = await startServerWithMiaAndXan({ PAPILLON_XMPP_WEB_ORIGINS: 'https://app.example.org' });
    const core = server.server.core;
    const w = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'web@localhost',
      password: 'web-secret',
      displayName: 'Web',
    });
    webId = w.id;
    for (const other of ['mia@localhost', 'xan@localhost']) {
      const o = await core.accounts.get(other);
      await core.relationships.addForward(w.id, other);
      await core.relationships.addForward(o.id, w.handle);
    }
  });
  after(async () => {
    for (const c of open.splice(0)) await ('stop' in c ? c.stop() : c.close());
    await server.stop();
  });

  it('offline messages wait for the web client and arrive at its sign-in', async () => {
    const xan = await connectXmpp(server, { username: 'xan', password: 'xan-secret', resource: 'gajim' });
    open.push(xan);
    await xan.xmpp.send(chat('web@localhost', 'while you were away'));
    const core = server.server.core;
    for (let i = 0; i < 40 && (await core.offline.count(webId)) < 1; i++) await sleep(25);
    assert.equal(await core.offline.count(webId), 1);

    const w = await web('first');
    open.push(w);
    await w.xmpp.send(xml('presence'));
    const kept = await w.waitFor(hasBody('while you were away'));
    assert.equal(kept.attrs.from, 'xan@localhost/gajim');
    assert.ok(kept.getChild('delay', 'urn:xmpp:delay'), 'XEP-0203 stamp');
    await w.stop();
    await xan.stop();
  });

  describe('a signed-in web client', () => {
    let w: TestXmppClient;
    let xan: TestXmppClient;
    before(async () => {
      w = await web();
      xan = await connectXmpp(server, { username: 'xan', password: 'xan-secret', resource: 'gajim' });
      open.push(w, xan);
    });

    it('signs in with the JID it asked for and gets the same roster MSN clients see', async () => {
      assert.equal(w.jid, 'web@localhost/browser');
      const result = await w.iq(roster());
      const items = result.getChild('query')?.getChildren('item') ?? [];
      assert.deepEqual(items.map((i) => i.attrs.jid).sort(), ['mia@localhost', 'xan@localhost']);
      assert.ok(items.every((i) => i.attrs.subscription === 'both'));
    });

    it('chats with a TCP XMPP client both ways', async () => {
      await w.xmpp.send(xml('presence'));
      await xan.xmpp.send(xml('presence'));
      await w.waitFor((el) => el.is('presence') && el.attrs.from === 'xan@localhost/gajim');
      await w.xmpp.send(chat('xan@localhost', 'hello from the browser ☺'));
      const got = await xan.waitFor(hasBody('hello from the browser ☺'));
      assert.equal(got.attrs.from, 'web@localhost/browser');
      await xan.xmpp.send(chat('web@localhost/browser', 'hello from Gajim <&>'));
      const back = await w.waitFor(hasBody('hello from Gajim <&>'));
      assert.equal(back.attrs.from, 'xan@localhost/gajim');
    });

    it('chats with an MSNP12 client through a switchboard both ways', async () => {
      const mia = await msnpSignIn(server, { version: 12, handle: 'mia@localhost', password: 'mia-secret' });
      open.push(mia);
      await sync(12, mia);
      await msnpSetStatus(mia, 12, 'NLN', { first: true });
      await w.waitFor((el) => el.is('presence') && el.attrs.from === 'mia@localhost/msn', 5000);

      await w.xmpp.send(chat('mia@localhost', 'Hi Mia, from a web page'));
      const rng = await mia.expect('RNG');
      assert.equal(rng.args[4], 'web@localhost');
      const [host, port] = (rng.args[1] ?? '').split(':');
      const sb = await MsnpTestClient.connect(Number(port), host);
      open.push(sb);
      sb.send(`ANS ${sb.trid()} mia@localhost ${rng.args[3]} ${rng.args[0]}`);
      assert.equal((await sb.expect('IRO')).args[3], 'web@localhost');
      await sb.expect('ANS');
      assert.match((await sb.expect('MSG')).payload?.toString() ?? '', /\r\n\r\nHi Mia, from a web page$/);

      const trid = sb.trid();
      sb.sendPayload('MSG', [trid, 'A'], textMessage('Hi Web, from MSN Messenger'));
      assert.deepEqual((await sb.expect('ACK')).args, [String(trid)]);
      const reply = await w.waitFor(hasBody('Hi Web, from MSN Messenger'));
      assert.equal(reply.attrs.from, 'mia@localhost/msn');
      sb.send('OUT');
      await sb.closed();
      await mia.close();
    });

    it('resumes its session over a new WebSocket after the old one dies (XEP-0198)', async () => {
      const sm = (
        w.xmpp as unknown as { streamManagement: { id: string; on(e: string, f: () => void): void } }
      ).streamManagement;
      for (let i = 0; i < 40 && !sm.id; i++) await sleep(25);
      assert.ok(sm.id, 'the library enabled resumable stream management');
      const resumed = new Promise<void>((resolve) => sm.on('resumed', resolve));
      // The WebSocket under the library's wrapper: gone without a closing handshake.
      (w.xmpp as unknown as { socket: { socket: { terminate(): void } } }).socket.socket.terminate();
      await xan.xmpp.send(chat('web@localhost/browser', 'in the tunnel'));
      await resumed;
      await w.waitFor(hasBody('in the tunnel'));
      await w.xmpp.send(chat('xan@localhost', 'out of the tunnel'));
      await xan.waitFor(hasBody('out of the tunnel'));
    });
  });

  describe('framing and limits, with a bare WebSocket', () => {
    const connect = async (options = {}) => {
      const c = await RawWsClient.connect(server, options);
      open.push(c);
      return c;
    };

    it('answers <open/> with <open/>, then features in their own message: SASL with PLAIN over wss, no STARTTLS', async () => {
      const c = await connect();
      assert.equal(c.ws.protocol, 'xmpp');
      const { open: header, features } = await c.open();
      assert.match(
        header,
        /^<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' id='[^']+' from='localhost' version='1.0' xml:lang='en'\/>$/,
      );
      assert.match(features, /^<stream:features xmlns:stream='http:\/\/etherx.jabber.org\/streams'>/);
      assert.match(features, /<mechanism>PLAIN<\/mechanism>/);
      assert.doesNotMatch(features, /starttls/);
      // §3.6: <close/> both ways, then the WebSocket closes.
      c.send(`<close xmlns='${FRAMING}'/>`);
      assert.equal(await c.next(), `<close xmlns='${FRAMING}'/>`);
      assert.equal(await c.whenClosed, 1000);
    });

    it('restarts the stream after SASL with a new <open/>, binds, and writes stanzas that stand alone', async () => {
      const c = await connect();
      await c.login('web', 'web-secret', 'raw');
      // A message of whitespace is nothing; an XML declaration may precede the element (§3.3.3).
      c.send(' \n');
      c.send(
        `<?xml version='1.0' encoding='UTF-8'?><iq type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>`,
      );
      const pong = await c.waitFor((m) => m.includes('ping1'));
      assert.match(pong, /^<iq xmlns='jabber:client' /);
      assert.equal(c.messages.filter((m) => m.startsWith('<open ')).length, 2);
    });

    it('a binary message is a stream error (§3.2: text only)', async () => {
      const c = await connect();
      await c.open();
      c.send(Buffer.from(`<presence xmlns='jabber:client'/>`));
      assert.match(await c.next(), /<bad-format /);
      await c.whenClosed;
    });

    it('a stanza before <open/> is answered with <open/>, a stream error and <close/>', async () => {
      const c = await connect();
      c.send(`<presence xmlns='jabber:client'/>`);
      assert.match(await c.next(), /^<open /);
      assert.match(await c.next(), /<bad-format /);
      assert.equal(await c.next(), `<close xmlns='${FRAMING}'/>`);
      await c.whenClosed;
    });

    it('a message with two elements is a stream error', async () => {
      const c = await connect();
      await c.open();
      c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>=</auth><presence/>`);
      const error = await c.next();
      assert.match(
        error,
        /^<stream:error xmlns:stream='http:\/\/etherx.jabber.org\/streams'><not-well-formed /,
      );
      assert.equal(await c.next(), `<close xmlns='${FRAMING}'/>`);
      await c.whenClosed;
    });

    it('a part of an element is a stream error, not the start of the next message', async () => {
      for (const message of [
        `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>`,
        `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>=</auth><presence`,
      ]) {
        const c = await connect();
        await c.open();
        c.send(message);
        assert.match(await c.next(), /<not-well-formed /, message);
        await c.whenClosed;
      }
    });

    it('restricted XML is refused as on TCP', async () => {
      const c = await connect();
      await c.open();
      c.send(`<!DOCTYPE x [<!ENTITY a 'b'>]><presence/>`);
      assert.match(await c.next(), /<restricted-xml /);
      await c.whenClosed;
    });

    it('a message over the stanza limit ends the stream with policy-violation', async () => {
      const c = await connect();
      await c.login('web', 'web-secret', 'big');
      const limit = server.server.config.xmppMaxStanzaBytes;
      c.send(`<message to='xan@localhost'><body>${'x'.repeat(limit)}</body></message>`);
      const error = await c.waitFor((m) => m.startsWith('<stream:error'));
      assert.match(error, /<policy-violation /);
      assert.equal(await c.whenClosed, 1000);
    });

    it('refuses an upgrade without the xmpp sub-protocol', async () => {
      assert.equal(await refusedWith(RawWsClient.connect(server, { protocols: ['chat'] })), 400);
      assert.equal(await refusedWith(RawWsClient.connect(server, { protocols: [] })), 400);
      // Offered among others, it is the one chosen.
      const c = await connect({ protocols: ['chat', 'xmpp'] });
      assert.equal(c.ws.protocol, 'xmpp');
    });

    it("refuses pages of other origins, except the configured ones and the server's own", async () => {
      const port = server.port('https');
      assert.equal(await refusedWith(RawWsClient.connect(server, { origin: 'https://evil.example' })), 403);
      assert.equal(await refusedWith(RawWsClient.connect(server, { origin: 'null' })), 403);
      await connect({ origin: `https://localhost:${port}` });
      await connect({ origin: 'https://app.example.org' });
    });

    it('a plain GET is told to upgrade', async () => {
      const res = await httpsRequest(server, { path: '/xmpp-websocket' });
      assert.equal(res.status, 426);
    });
  });

  it('lists the WebSocket endpoint in host-meta and host-meta.json (XEP-0156)', async () => {
    const port = server.port('https');
    const headers = { Host: `localhost:${port}` };
    const xrd = await httpsRequest(server, { path: '/.well-known/host-meta', headers });
    assert.equal(xrd.status, 200);
    assert.match(String(xrd.headers['content-type']), /^application\/xrd\+xml/);
    assert.equal(xrd.headers['access-control-allow-origin'], '*');
    assert.match(xrd.body, /<XRD xmlns='http:\/\/docs.oasis-open.org\/ns\/xri\/xrd-1.0'>/);
    assert.ok(
      xrd.body.includes(
        `<Link rel="urn:xmpp:alt-connections:websocket" href="wss://localhost:${port}/xmpp-websocket"/>`,
      ),
      xrd.body,
    );
    const jrd = await httpsRequest(server, { path: '/.well-known/host-meta.json', headers });
    assert.equal(jrd.status, 200);
    assert.deepEqual(JSON.parse(jrd.body), {
      links: [
        { rel: 'urn:xmpp:alt-connections:websocket', href: `wss://localhost:${port}/xmpp-websocket` },
        { rel: 'urn:xmpp:alt-connections:xbosh', href: `https://localhost:${port}/http-bind` },
      ],
    });
    // On the plain HTTP port, the plain scheme.
    const plain = await httpGet(server, '/.well-known/host-meta.json');
    assert.match(plain.body, /"href":"ws:\/\/127\.0\.0\.1:\d+\/xmpp-websocket"/);
  });
});

// The idle timeout of TCP streams, on a listener of its own with a short one (and no TLS).
describe('an idle XMPP WebSocket', () => {
  it('is kept by WebSocket pings and closed with <connection-timeout/> without them', async () => {
    const server = await startServerWithMiaAndXan();
    const logger = createLogger('silent');
    const listeners = await startXmppListeners(server.server.core, logger, {
      bind: '127.0.0.1',
      port: 0,
      tlsPort: 0,
      domain: 'localhost',
      version: 'test',
      tls: undefined,
      requireTls: true,
      maxStanzaBytes: 262144,
      idleTimeoutMs: 400,
    });
    const app = buildHttpApp({
      core: server.server.core,
      logger,
      version: 'test',
      startedAt: Date.now(),
      plugins: [xmppWebSocketRoutes(listeners, { origins: [] })],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/xmpp-websocket`;
    const c = await RawWsClient.connect(server, { url });
    try {
      await c.open();
      for (let i = 0; i < 10; i++) {
        c.ws.ping();
        await sleep(100);
      }
      assert.equal(c.closeCode, undefined, 'a second of pings kept it open');
      assert.equal(c.messages.length, 2);
      const error = await c.waitFor((m) => m.startsWith('<stream:error'), 2000);
      assert.match(error, /<connection-timeout /);
      assert.equal(await c.whenClosed, 1000);
    } finally {
      c.close();
      await app.close();
      await listeners.stop();
      await server.stop();
    }
  });
});

describe('XMPP over WebSocket at shutdown', () => {
  it('each session gets <system-shutdown/> and <close/> before the server stops', async () => {
    const server = await startServerWithMiaAndXan();
    const c = await RawWsClient.connect(server);
    try {
      await c.login('xan', 'xan-secret', 'web');
      const started = Date.now();
      await server.stop();
      assert.ok(Date.now() - started < 2000, 'no wait for a WebSocket to time out');
      assert.equal(await c.whenClosed, 1000);
      const at = c.messages.findIndex((m) => m.startsWith('<stream:error'));
      assert.match(c.messages[at] ?? '', /<system-shutdown /);
      assert.equal(c.messages[at + 1], `<close xmlns='${FRAMING}'/>`);
    } finally {
      c.close();
    }
  });
});

// RFC 6120 §5.3.1 as on TCP: with TLS required (the default) and a certificate, ws:// on
// the plain HTTP port is refused; without the requirement it gets SCRAM but never PLAIN.
describe('XMPP over plain-HTTP WebSocket', () => {
  for (const requireTls of [true, false]) {
    it(`with xmppRequireTls ${requireTls}`, async () => {
      const server = await startTestServer({ PAPILLON_XMPP_REQUIRE_TLS: String(requireTls) });
      try {
        const c = await RawWsClient.connect(server, { scheme: 'ws' });
        try {
          const { features } = await c.open();
          if (requireTls) {
            assert.match(features, /^<stream:error [^>]*><policy-violation /);
            await c.whenClosed;
          } else {
            assert.match(features, /<mechanism>SCRAM-SHA-256<\/mechanism>/);
            assert.doesNotMatch(features, /PLAIN|starttls/);
          }
        } finally {
          c.close();
        }
      } finally {
        await server.stop();
      }
    });
  }
});
