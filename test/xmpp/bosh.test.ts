import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { request as httpsRequestRaw } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildHttpApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/server/logger.ts';
import { boshRoutes } from '../../src/xmpp/bosh/routes.ts';
import { startXmppListeners } from '../../src/xmpp/listener.ts';
import { startServerWithMiaAndXan } from '../support/msn-xmpp-contacts.ts';
import { httpsRequest, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HTTPBIND = 'http://jabber.org/protocol/httpbind';
const XBOSH = 'urn:xmpp:xbosh';
const hasBody = (body: string) => (el: ReturnType<typeof xml>) =>
  el.is('message') && el.getChildText('body') === body;

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Where BOSH requests go: the test server's HTTPS port (its CA trusted) or a plain HTTP URL. */
type Endpoint = { server: TestServer } | { port: number };

/** One POST to /http-bind; `abort` resolves when the request should be dropped (a lost connection). */
function post(
  endpoint: Endpoint,
  body: string,
  options: { headers?: Record<string, string>; abort?: Promise<void>; method?: string } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const common = {
      host: '127.0.0.1',
      path: '/http-bind',
      method: options.method ?? 'POST',
      headers: { 'Content-Type': 'text/xml; charset=utf-8', ...options.headers },
      agent: false as const,
    };
    const onResponse = (res: import('node:http').IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    };
    const req =
      'server' in endpoint
        ? httpsRequestRaw(
            {
              ...common,
              port: endpoint.server.port('https'),
              ca: endpoint.server.ca,
              servername: 'localhost',
            },
            onResponse,
          )
        : httpRequest({ ...common, port: endpoint.port }, onResponse);
    req.on('error', reject);
    void options.abort?.then(() => req.destroy(new Error('dropped')));
    req.end(body);
  });
}

/** The attributes of a response's `<body>` start tag. */
function attrsOf(body: string): Record<string, string> {
  const tag = /^<body\b([^>]*?)\/?>/.exec(body)?.[1] ?? assert.fail(`not a body: ${body}`);
  return Object.fromEntries([...tag.matchAll(/([\w:]+)='([^']*)'/g)].map((m) => [m[1], m[2]]));
}

/** A BOSH client made of raw HTTP requests (XEP-0124/0206), one request at a time unless told. */
class RawBosh {
  sid = '';
  rid = 1_000_000 + Math.floor(Math.random() * 1_000_000);
  /** Payload of every response, in order, as text. */
  readonly received: string[] = [];

  constructor(readonly endpoint: Endpoint) {}

  body(attrs: Record<string, string>, payload = ''): string {
    const all = { rid: String(this.rid++), ...(this.sid ? { sid: this.sid } : {}), ...attrs };
    const list = Object.entries(all)
      .map(([k, v]) => ` ${k}='${v}'`)
      .join('');
    return `<body xmlns='${HTTPBIND}' xmlns:xmpp='${XBOSH}'${list}${payload ? `>${payload}</body>` : '/>'}`;
  }

  async create(attrs: Record<string, string> = {}): Promise<Response> {
    const res = await post(
      this.endpoint,
      this.body({
        to: 'localhost',
        'xml:lang': 'en',
        ver: '1.11',
        wait: '1',
        hold: '1',
        'xmpp:version': '1.0',
        ...attrs,
      }),
    );
    this.sid = attrsOf(res.body).sid ?? '';
    this.received.push(res.body);
    return res;
  }

  async send(payload = '', attrs: Record<string, string> = {}): Promise<Response> {
    const res = await post(this.endpoint, this.body(attrs, payload));
    this.received.push(res.body);
    return res;
  }

  /** Sends `payload`, then empty requests, until a response matches. */
  async until(match: RegExp, payload = '', timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let res = await this.send(payload);
    while (!match.test(res.body)) {
      assert.ok(Date.now() < deadline, `no response matched ${match}: ${this.received.join('\n')}`);
      assert.notEqual(attrsOf(res.body).type, 'terminate', res.body);
      res = await this.send();
    }
    return res.body;
  }

  async login(user: string, password: string, resource: string): Promise<void> {
    const create = await this.create();
    if (!/<mechanisms/.test(create.body)) await this.until(/<mechanisms/);
    const plain = Buffer.from(`\0${user}\0${password}`).toString('base64');
    await this.until(
      /<success /,
      `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain}</auth>`,
    );
    // XEP-0206 §6: the restart's answer has the new stream's features.
    const restarted = await this.send('', { 'xmpp:restart': 'true', to: 'localhost' });
    if (!/<bind /.test(restarted.body)) await this.until(/<bind /);
    await this.until(
      /<jid>/,
      `<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`,
    );
  }
}

describe('BOSH (XEP-0124, XEP-0206) at /http-bind', () => {
  let server: TestServer;
  let xan: TestXmppClient;
  const https = () => ({ server });

  before(async () => {
    server = await startServerWithMiaAndXan({ PAPILLON_XMPP_WEB_ORIGINS: 'https://app.example.org' });
    const core = server.server.core;
    const w = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'web@localhost',
      password: 'web-secret',
      displayName: 'Web',
    });
    const x = await core.accounts.get('xan@localhost');
    await core.relationships.addForward(w.id, x.handle);
    await core.relationships.addForward(x.id, w.handle);
    xan = await connectXmpp(server, { username: 'xan', password: 'xan-secret', resource: 'gajim' });
    await xan.xmpp.send(xml('presence'));
  });
  after(async () => {
    await xan.stop();
    await server.stop();
  });

  it('answers the session creation request with the session attributes and the stream features', async () => {
    const c = new RawBosh(https());
    const res = await c.create({ wait: '300', hold: '5' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/xml; charset=utf-8');
    const a = attrsOf(res.body);
    assert.match(a.sid ?? '', /^[\w-]{24}$/);
    assert.equal(a.wait, '60', 'wait capped');
    assert.equal(a.hold, '1', 'hold capped');
    assert.equal(a.requests, '2');
    assert.equal(a.ver, '1.11');
    assert.equal(a.from, 'localhost');
    assert.equal(a['xmpp:version'], '1.0');
    assert.ok(a.polling && a.inactivity && a.authid);
    assert.equal(a['xmlns:xmpp'], XBOSH);
    assert.match(
      res.body,
      /<stream:features[^>]*><mechanisms xmlns=["']urn:ietf:params:xml:ns:xmpp-sasl["']>.*PLAIN/,
    );
    assert.doesNotMatch(res.body, /starttls/);
    const other = new RawBosh(https());
    await other.create();
    assert.notEqual(other.sid, c.sid);
    await c.send('', { type: 'terminate' });
    await other.send('', { type: 'terminate' });
  });

  it('signs in with PLAIN over HTTPS, restarts, binds, gets the roster and chats with a TCP client', async () => {
    const c = new RawBosh(https());
    await c.login('web', 'web-secret', 'bosh');
    const roster = await c.until(
      /id='r1'|id="r1"/,
      `<iq xmlns='jabber:client' type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>`,
    );
    assert.match(roster, /jid="xan@localhost"/);
    await c.until(/from="xan@localhost\/gajim"/, `<presence xmlns='jabber:client'/>`);
    await c.send(
      `<message xmlns='jabber:client' to='xan@localhost' type='chat'><body>hi from BOSH</body></message>`,
    );
    const got = await xan.waitFor(hasBody('hi from BOSH'));
    assert.equal(got.attrs.from, 'web@localhost/bosh');

    // Hold: an empty request waits, and is answered as soon as a message comes (§8).
    const started = Date.now();
    const held = c.send();
    await sleep(200);
    await xan.xmpp.send(
      xml('message', { to: 'web@localhost/bosh', type: 'chat' }, xml('body', {}, 'back <&>')),
    );
    const answer = await held;
    assert.match(answer.body, /<body>back &lt;&amp;&gt;<\/body>/);
    assert.match(answer.body, /<message xmlns=["']jabber:client["'] /);
    assert.ok(Date.now() - started < 900, 'answered before `wait`');

    // Nothing to say: an empty body after `wait` (1 s here).
    const t0 = Date.now();
    const empty = await c.send();
    assert.ok(Date.now() - t0 >= 900, 'held for `wait`');
    assert.equal(attrsOf(empty.body).type, undefined);
    assert.doesNotMatch(empty.body, /<message/);

    // §13: terminate ends the session; the contact sees it go.
    const end = await c.send('', { type: 'terminate' });
    assert.equal(attrsOf(end.body).type, 'terminate');
    const gone = await xan.waitFor(
      (el) => el.is('presence') && el.attrs.from === 'web@localhost/bosh' && el.attrs.type === 'unavailable',
    );
    assert.ok(gone);
    const after = await c.send();
    assert.equal(attrsOf(after.body).type, 'terminate');
  });

  it('processes requests that arrive out of order in rid order (§14.3)', async () => {
    const c = new RawBosh(https());
    await c.login('web', 'web-secret', 'order');
    const msg = (text: string) =>
      `<message xmlns='jabber:client' to='xan@localhost/gajim' type='chat'><body>${text}</body></message>`;
    const order: string[] = [];
    const record = (el: ReturnType<typeof xml>) => {
      const text = el.getChildText('body');
      if (text === 'first' || text === 'second') order.push(text);
    };
    xan.xmpp.on('stanza', record);
    const first = c.body({}, msg('first'));
    const second = c.body({}, msg('second'));
    const late = post(https(), second);
    await sleep(300);
    assert.deepEqual(order, [], 'held back until its turn');
    const early = post(https(), first);
    await xan.waitFor(hasBody('first'));
    await xan.waitFor(hasBody('second'));
    xan.xmpp.removeListener('stanza', record);
    assert.deepEqual(order, ['first', 'second']);
    await Promise.all([late, early]);
    await c.send('', { type: 'terminate' });
  });

  it('a request lost with its answer is sent again with the same rid and gets the same answer', async () => {
    const c = new RawBosh(https());
    await c.login('web', 'web-secret', 'lossy');
    await c.until(/from="xan@localhost\/gajim"/, `<presence xmlns='jabber:client'/>`);
    // An empty request held for output; its connection drops before the answer comes.
    const body = c.body({});
    let drop = () => {};
    const lost = post(https(), body, { abort: new Promise((r) => (drop = r)) });
    await sleep(150);
    drop();
    await assert.rejects(lost);
    await xan.xmpp.send(
      xml('message', { to: 'web@localhost/lossy', type: 'chat' }, xml('body', {}, 'in the void')),
    );
    await sleep(300);
    const again = await post(https(), body);
    assert.match(again.body, /<body>in the void<\/body>/);
    const thrice = await post(https(), body);
    assert.equal(thrice.body, again.body);
    // The session goes on from the next rid.
    c.rid = Number(attrsOf(body).rid) + 1;
    await c.send(
      `<message xmlns='jabber:client' to='xan@localhost/gajim' type='chat'><body>still here</body></message>`,
    );
    await xan.waitFor(hasBody('still here'));
    await c.send('', { type: 'terminate' });
  });

  it('a rid beyond the window ends the session with item-not-found; an unknown sid is item-not-found', async () => {
    const c = new RawBosh(https());
    await c.create();
    c.rid += 5;
    const far = await c.send();
    assert.deepEqual([attrsOf(far.body).type, attrsOf(far.body).condition], ['terminate', 'item-not-found']);
    c.rid -= 6;
    const after = await c.send();
    assert.equal(attrsOf(after.body).type, 'terminate');

    const stranger = new RawBosh(https());
    stranger.sid = 'not-a-session';
    const res = await stranger.send();
    assert.deepEqual([attrsOf(res.body).type, attrsOf(res.body).condition], ['terminate', 'item-not-found']);
  });

  it('a session made over HTTPS is not usable over plain HTTP', async () => {
    const c = new RawBosh(https());
    await c.create();
    const plain = new RawBosh({ port: server.port('http') });
    plain.sid = c.sid;
    plain.rid = c.rid;
    const res = await plain.send();
    assert.equal(attrsOf(res.body).condition, 'item-not-found');
  });

  it("refuses pages of other origins; allows the configured ones and the server's own with CORS", async () => {
    const c = new RawBosh(https());
    const evil = await post(
      https(),
      c.body({ to: 'localhost', 'xmpp:version': '1.0', wait: '1', hold: '1' }),
      {
        headers: { Origin: 'https://evil.example' },
      },
    );
    assert.equal(evil.status, 403);
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
    const preflight = await post(https(), '', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example.org', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.org');
    for (const origin of ['https://app.example.org', `https://localhost:${server.port('https')}`]) {
      const ok = new RawBosh(https());
      const res = await post(
        https(),
        ok.body({ to: 'localhost', 'xmpp:version': '1.0', wait: '1', hold: '1' }),
        {
          headers: { Origin: origin, Host: `localhost:${server.port('https')}` },
        },
      );
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], origin);
      ok.sid = attrsOf(res.body).sid ?? '';
      await ok.send('', { type: 'terminate' });
    }
  });

  it('is listed in host-meta (XEP-0156)', async () => {
    const port = server.port('https');
    const jrd = await httpsRequest(server, {
      path: '/.well-known/host-meta.json',
      headers: { Host: `localhost:${port}` },
    });
    assert.deepEqual(
      JSON.parse(jrd.body).links.find((l: { rel: string }) => l.rel === 'urn:xmpp:alt-connections:xbosh'),
      { rel: 'urn:xmpp:alt-connections:xbosh', href: `https://localhost:${port}/http-bind` },
    );
  });
});

// Limits, on an app of their own with small ones (plain HTTP, TLS not required).
describe('BOSH limits', () => {
  let server: TestServer;
  let listeners: Awaited<ReturnType<typeof startXmppListeners>>;
  let app: ReturnType<typeof buildHttpApp>;
  let endpoint: Endpoint;

  before(async () => {
    server = await startServerWithMiaAndXan();
    const logger = createLogger('silent');
    listeners = await startXmppListeners(server.server.core, logger, {
      bind: '127.0.0.1',
      port: 0,
      tlsPort: 0,
      domain: 'localhost',
      version: 'test',
      tls: undefined,
      requireTls: false,
      maxStanzaBytes: 262144,
    });
    app = buildHttpApp({
      core: server.server.core,
      logger,
      version: 'test',
      startedAt: Date.now(),
      plugins: [
        boshRoutes(listeners, {
          origins: [],
          maxUnauthenticatedPerAddress: 2,
          inactivity: 1,
          lingerMs: 5000,
        }),
      ],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    endpoint = { port: (app.server.address() as AddressInfo).port };
  });
  after(async () => {
    await app.close();
    await listeners.stop();
    await server.stop();
  });

  it('caps the sessions one address holds before signing in', async () => {
    const a = new RawBosh(endpoint);
    const b = new RawBosh(endpoint);
    assert.equal((await a.create()).status, 200);
    assert.equal((await b.create()).status, 200);
    const refused = await new RawBosh(endpoint).create();
    assert.equal(refused.status, 429);
    assert.deepEqual(
      [attrsOf(refused.body).type, attrsOf(refused.body).condition],
      ['terminate', 'policy-violation'],
    );
    await a.send('', { type: 'terminate' });
    const c = new RawBosh(endpoint);
    assert.equal((await c.create()).status, 200, 'a slot is free again');
    await b.send('', { type: 'terminate' });
    await c.send('', { type: 'terminate' });
  });

  it('a polling client (hold 0) that polls faster than `polling` is ended with policy-violation', async () => {
    const c = new RawBosh(endpoint);
    const created = await c.create({ hold: '0' });
    assert.equal(attrsOf(created.body).hold, '0');
    assert.equal(attrsOf(created.body).requests, '1');
    const first = await c.send();
    assert.equal(attrsOf(first.body).type, undefined);
    const second = await c.send();
    assert.deepEqual(
      [attrsOf(second.body).type, attrsOf(second.body).condition],
      ['terminate', 'policy-violation'],
    );
  });

  it('a session with no request for `inactivity` seconds ends', async () => {
    const c = new RawBosh(endpoint);
    await c.create();
    await sleep(1600);
    const late = await c.send();
    assert.equal(attrsOf(late.body).type, 'terminate');
  });

  it('a body that is not XML is bad-request', async () => {
    const res = await post(endpoint, '<body rid="1" xmlns="http://jabber.org/protocol/httpbind">');
    assert.deepEqual([attrsOf(res.body).type, attrsOf(res.body).condition], ['terminate', 'bad-request']);
  });
});

describe('BOSH at shutdown', () => {
  it('a held request is answered with the end of the session before the server stops', async () => {
    const server = await startServerWithMiaAndXan();
    const c = new RawBosh({ server });
    await c.create({ wait: '30' });
    const held = c.send();
    await sleep(100);
    const started = Date.now();
    await server.stop();
    assert.ok(Date.now() - started < 3000, 'no wait for a held request to time out');
    const res = await held;
    assert.equal(attrsOf(res.body).type, 'terminate');
    assert.match(res.body, /<system-shutdown /);
  });
});
