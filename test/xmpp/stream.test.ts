import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { tlsFiles } from '../../src/server/config.ts';
import { createLogger } from '../../src/server/logger.ts';
import { startXmppListeners, type XmppListeners } from '../../src/xmpp/listener.ts';
import { NS } from '../../src/xmpp/namespaces.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import {
  is,
  type RawTarget,
  RawXmppClient,
  SaslFailure,
  targetOf,
  type XmlElement,
  xml,
} from '../support/xmpp-raw.ts';

/** RFC 6120 protocol tests against the real server, with a raw client that can misbehave. */
describe('XMPP streams (RFC 6120) over real sockets', () => {
  let server: TestServer;
  let target: RawTarget;
  const clients: RawXmppClient[] = [];
  const track = (c: RawXmppClient) => {
    clients.push(c);
    return c;
  };
  const connect = async (transport: 'plain' | 'direct' = 'plain') =>
    track(await RawXmppClient.connect(target, { transport }));
  const login = async (name: string, resource?: string, transport: 'starttls' | 'direct' = 'starttls') =>
    track(
      await RawXmppClient.login(target, {
        username: name,
        password: `${name}-secret`,
        ...(resource === undefined ? {} : { resource }),
        transport,
      }),
    );

  /** What a user sees when the server is fine: a fresh login, and a message across. */
  let round = 0;
  const stillServing = async () => {
    round++;
    const carol = await login('carol', `check-${round}`);
    const dave = await login('dave', `check-${round}`, 'direct');
    await carol.presence();
    await dave.presence();
    await carol.send(
      xml('message', { to: `dave@localhost/check-${round}`, type: 'chat' }, xml('body', {}, `ping ${round}`)),
    );
    const got = await dave.expect(is.body(`ping ${round}`));
    assert.equal(got.attrs.from, `carol@localhost/check-${round}`);
    await carol.close();
    await dave.close();
  };

  /** A client of `name` (mallory by default) that is bound and has sent presence. */
  const attacker = async (name = 'mallory') => {
    const c = await login(name);
    await c.presence();
    return c;
  };

  before(async () => {
    server = await startTestServer();
    target = targetOf(server);
    const core = server.server.core;
    for (const name of ['alice', 'bob', 'carol', 'dave', 'eve', 'frank', 'mallory', 'trent']) {
      await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-secret`,
      });
    }
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  describe('stream headers (RFC 6120 §4.7, §4.9)', () => {
    it('answers a header for another domain with our header, <host-unknown/>, and a close', async () => {
      const c = await connect();
      await c.write(c.streamHeader({ to: 'example.org' }));
      const error = await c.expectStreamError();
      assert.equal(error.condition, 'host-unknown');
      // §4.9.1.2: the error still comes inside a stream the server opened.
      assert.equal(c.headers[0]?.from, 'localhost');
      assert.equal(c.serverClosedStream, true);
      assert.equal(c.log.filter((el) => el.name === 'features').length, 0, 'no features offered');
    });

    it('refuses a default namespace other than jabber:client with <invalid-namespace/>', async () => {
      const c = await connect();
      await c.write(c.streamHeader({ xmlns: 'jabber:server' }));
      assert.equal((await c.expectStreamError()).condition, 'invalid-namespace');
    });

    it('refuses a stream element outside the streams namespace with <invalid-namespace/>', async () => {
      const c = await connect();
      await c.write(
        `<stream:stream xmlns='jabber:client' xmlns:stream='urn:example:not-streams' to='localhost' version='1.0'>`,
      );
      assert.equal((await c.expectStreamError()).condition, 'invalid-namespace');
    });

    it('refuses a header without a version (pre-1.0 XMPP) with <unsupported-version/>', async () => {
      const c = await connect();
      await c.write(c.streamHeader({ version: undefined }));
      assert.equal((await c.expectStreamError()).condition, 'unsupported-version');
    });

    it('opens a stream: id, from, version 1.0 and the jabber:client namespace', async () => {
      const c = await connect();
      await c.open({ to: 'LOCALHOST' });
      const header = c.headers[0] ?? {};
      assert.equal(header.xmlns, NS.client);
      assert.equal(header.from, 'localhost');
      assert.equal(header.version, '1.0');
      assert.ok((header.id ?? '').length >= 16, 'a stream id with enough entropy (§4.7.3)');
      c.destroy();
    });
  });

  describe('STARTTLS and SASL (RFC 6120 §5, §6)', () => {
    const childNames = (features: XmlElement) => features.getChildren().map((c) => `${c.xmlns} ${c.name}`);
    const mechanisms = (features: XmlElement) =>
      features
        .getChild('mechanisms', NS.sasl)
        ?.getChildren('mechanism')
        .map((m) => m.text()) ?? [];

    it('offers only <starttls><required/></starttls> before TLS, and the SASL mechanisms after', async () => {
      const c = await connect();
      const plain = await c.open();
      // §5.3.1: TLS is mandatory-to-negotiate, so nothing else is advertised with it.
      assert.deepEqual(childNames(plain), [`${NS.tls} starttls`]);
      assert.ok(plain.getChild('starttls', NS.tls)?.getChild('required'));
      assert.deepEqual(mechanisms(plain), [], 'no mechanism (PLAIN least of all) in the clear');

      const secure = await c.starttls();
      assert.deepEqual(childNames(secure), [`${NS.sasl} mechanisms`], 'no second STARTTLS (§5.4.3.3)');
      const offered = mechanisms(secure);
      assert.equal(offered[0], 'SCRAM-SHA-256', 'the strongest first');
      for (const m of ['SCRAM-SHA-1', 'PLAIN']) assert.ok(offered.includes(m), m);
      assert.equal(c.headers.length, 2, 'a new stream after TLS (§5.4.3.3)');
      c.destroy();
    });

    it('offers the SASL mechanisms at once over direct TLS (XEP-0368), and refuses STARTTLS there', async () => {
      const c = await connect('direct');
      const features = await c.open();
      assert.deepEqual(childNames(features), [`${NS.sasl} mechanisms`]);
      assert.ok(mechanisms(features).includes('PLAIN'));
      await c.write(`<starttls xmlns='${NS.tls}'/>`);
      // §5.4.2.2: <failure/> in the TLS namespace, then the stream is closed.
      await c.expect((el) => el.name === 'failure' && el.xmlns === NS.tls);
      await c.closed();
    });

    it('refuses <auth/> before STARTTLS when TLS is required with <policy-violation/>', async () => {
      // RFC 6120 §5.3.1 makes TLS mandatory-to-negotiate here; going on without it breaks
      // local policy (§4.9.3.14). The credentials are never looked at.
      const c = await connect();
      await c.open();
      await c.send(
        xml(
          'auth',
          { xmlns: NS.sasl, mechanism: 'PLAIN' },
          Buffer.from('\0alice\0alice-secret').toString('base64'),
        ),
      );
      const error = await c.expectStreamError();
      assert.equal(error.condition, 'policy-violation');
      assert.equal(c.log.filter((el) => el.name === 'success').length, 0);
    });

    it('refuses a stanza before STARTTLS with <policy-violation/>', async () => {
      const c = await connect();
      await c.open();
      await c.send(xml('iq', { type: 'get', id: 'early', to: 'localhost' }, xml('ping', { xmlns: NS.ping })));
      assert.equal((await c.expectStreamError()).condition, 'policy-violation');
      assert.equal(c.log.filter((el) => el.attrs.id === 'early').length, 0);
    });

    it('signs in with SCRAM-SHA-256 over STARTTLS: server signature checked, bind, stanzas', async () => {
      const c = await connect();
      await c.open();
      await c.starttls();
      // authenticate() checks the server's v= signature (RFC 5802 §3, mutual authentication).
      const features = await c.authenticate('alice', 'alice-secret', 'SCRAM-SHA-256');
      // §6.4.6 new stream; RFC 6120 §7.4 binding, RFC 6121 §2.6.1 / §3.4 features.
      assert.ok(features.getChild('bind', NS.bind));
      assert.ok(features.getChild('ver', NS.rosterVersioning));
      assert.ok(features.getChild('sub', NS.preApproval));
      assert.equal(features.getChild('mechanisms', NS.sasl), undefined);
      assert.equal(c.headers.length, 3);
      assert.equal(await c.bind('scram256'), 'alice@localhost/scram256');
      const pong = await c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: NS.ping })));
      assert.equal(pong.attrs.type, 'result');
      await c.close();
    });

    it('signs in with SCRAM-SHA-256 over direct TLS and exchanges a message', async () => {
      const a = await login('alice', 'direct-a', 'direct');
      const b = await login('bob', 'direct-b', 'direct');
      assert.equal(a.jid, 'alice@localhost/direct-a');
      await a.presence();
      await b.presence();
      await a.send(xml('message', { to: b.jid, type: 'chat', id: 'd1' }, xml('body', {}, 'over direct TLS')));
      const got = await b.expect(is.body('over direct TLS'));
      assert.equal(got.attrs.from, a.jid);
      assert.equal(got.attrs.id, 'd1');
      await a.close();
      await b.close();
    });

    it('signs in with SCRAM-SHA-1 and PLAIN over TLS too', async () => {
      for (const mechanism of ['SCRAM-SHA-1', 'PLAIN'] as const) {
        const c = track(
          await RawXmppClient.login(target, { username: 'bob', password: 'bob-secret', mechanism }),
        );
        assert.match(c.jid, /^bob@localhost\/.+/);
        await c.close();
      }
    });

    it('lets a client retry after failed attempts, and closes the stream after the third failure', async () => {
      const c = await connect();
      await c.open();
      await c.starttls();
      for (const attempt of [1, 2]) {
        const err = await c.authenticate('eve', 'wrong password', 'SCRAM-SHA-256').catch((e: unknown) => e);
        assert.ok(err instanceof SaslFailure, `attempt ${attempt} fails`);
        assert.equal(err.condition, 'not-authorized');
        assert.equal(c.isClosed, false, 'the stream stays open for a retry (§6.4.5)');
      }
      const third = await c.authenticate('eve', 'wrong again', 'PLAIN').catch((e: unknown) => e);
      assert.ok(third instanceof SaslFailure);
      // §6.4.5: past the retries, a stream error that SHOULD be <policy-violation/>.
      assert.equal((await c.expectStreamError()).condition, 'policy-violation');

      const d = await connect();
      await d.open();
      await d.starttls();
      await d.authenticate('frank', 'wrong', 'SCRAM-SHA-256').catch(() => {});
      const unknown = await d.saslAuth('DIGEST-MD5');
      assert.equal(unknown.name, 'failure');
      assert.ok(unknown.getChild('invalid-mechanism'), 'RFC 6120 §6.5.8');
      await d.authenticate('frank', 'frank-secret', 'SCRAM-SHA-256');
      assert.equal(await d.bind('after-retries'), 'frank@localhost/after-retries');
      await d.close();
    });

    it('ignores bytes pipelined after <starttls/> (STARTTLS command injection, §5.4.3.3)', async () => {
      const c = await connect();
      await c.open();
      // The injected bytes arrive in the same write as <starttls/>, before the TLS handshake.
      const injected =
        `<iq type='get' id='injected' to='localhost'><ping xmlns='${NS.ping}'/></iq>` +
        `<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${Buffer.from('\0bob\0bob-secret').toString('base64')}</auth>`;
      const features = await c.starttls(injected);
      assert.ok(features.getChild('mechanisms', NS.sasl), 'a fresh, unauthenticated stream');
      assert.equal(features.getChild('bind', NS.bind), undefined);
      await c.authenticate('alice', 'alice-secret');
      assert.equal(await c.bind('after-injection'), 'alice@localhost/after-injection');
      const pong = await c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: NS.ping })));
      assert.equal(pong.attrs.type, 'result');
      assert.equal(
        c.log.filter((el) => el.attrs.id === 'injected').length,
        0,
        'the injected iq is never answered',
      );
      assert.equal(c.log.filter((el) => el.name === 'success').length, 1, 'only our own SASL success');
      assert.equal(c.streamError, undefined);
      await c.close();
    });

    it('refuses stanzas before a resource is bound with <not-authorized/> (§7.1)', async () => {
      const c = await connect();
      await c.open();
      await c.starttls();
      await c.authenticate('bob', 'bob-secret');
      await c.send(xml('message', { to: 'alice@localhost', type: 'chat' }, xml('body', {}, 'unbound')));
      assert.equal((await c.expectStreamError()).condition, 'not-authorized');
    });
  });

  describe('resource binding (RFC 6120 §7)', () => {
    it('makes up a resource when none is asked for, different for each session', async () => {
      const a = await login('trent');
      const b = await login('trent');
      assert.match(a.jid, /^trent@localhost\/.+/);
      assert.match(b.jid, /^trent@localhost\/.+/);
      assert.notEqual(a.jid, b.jid);
      await a.close();
      await b.close();
    });

    it('a second session binding the same resource replaces the first, which gets <conflict/>', async () => {
      const core = server.server.core;
      const alice = await core.accounts.get('alice@localhost');
      const bob = await core.accounts.get('bob@localhost');
      // Bob watches Alice (allow-all privacy): he sees what her resource does.
      await core.relationships.addForward(bob.id, 'alice@localhost');
      const watcher = await login('bob', 'watcher');
      await watcher.presence();

      const first = await login('alice', 'desk');
      await first.presence({}, xml('status', {}, 'first'));
      await watcher.expect(is.presence((p) => p.attrs.from === 'alice@localhost/desk' && !p.attrs.type));

      const second = await login('alice', 'desk');
      const error = await first.expectStreamError();
      // §7.7.2.2: the server may terminate the existing session with <conflict/>.
      assert.equal(error.condition, 'conflict');
      assert.equal(second.jid, 'alice@localhost/desk');
      await second.presence({}, xml('status', {}, 'second'));
      await watcher.expect(is.presence((p) => p.getChildText('status') === 'second'));

      // The new session is the one that gets what is sent to the resource and the bare JID.
      await watcher.send(
        xml('message', { to: 'alice@localhost/desk', type: 'chat' }, xml('body', {}, 'full')),
      );
      await second.expect(is.body('full'));
      await watcher.send(xml('message', { to: 'alice@localhost', type: 'chat' }, xml('body', {}, 'bare')));
      await second.expect(is.body('bare'));
      await new Promise((r) => setTimeout(r, 200));
      const endpoints = await core.presence.endpoints(alice.id);
      assert.deepEqual(
        endpoints.map((e) => [e.endpointId, e.presence.status]),
        [['xmpp:desk', 'online']],
        'the replaced session leaves the new one registered and online',
      );
      assert.equal((await core.presence.seenBy(bob.id, alice.id)).statusText, 'second');

      // The replacement is registered like any session: another resource learns of it at its
      // initial presence (RFC 6121 §4.2.2), and a third session taking the resource replaces it in turn.
      const laptop = await login('alice', 'laptop');
      await laptop.presence();
      await laptop.expect(is.presence((p) => p.attrs.from === 'alice@localhost/desk'));
      const third = await login('alice', 'desk');
      assert.equal((await second.expectStreamError()).condition, 'conflict');
      await third.presence();
      await laptop.expect(is.presence((p) => p.attrs.from === 'alice@localhost/desk' && !p.attrs.type));
      await third.close();
      await laptop.close();
      await watcher.close();
      await core.relationships.removeForward(bob.id, alice.id);
    });
  });

  describe('keepalives and closing (RFC 6120 §4.4, §4.6)', () => {
    it('accepts whitespace keepalives between stanzas', async () => {
      const c = await login('bob', 'keepalive');
      for (const ws of [' ', '\n', '\r\n\t  ', ' '.repeat(5000)]) await c.write(ws);
      await c.write(` <iq type='get' id='ka' to='localhost'><ping xmlns='${NS.ping}'/></iq>\n \n`);
      const pong = await c.expect((el) => el.attrs.id === 'ka');
      assert.equal(pong.attrs.type, 'result');
      await c.write('\n');
      assert.equal(c.streamError, undefined);
      await c.close();
    });

    it('closes its stream and the connection when the client closes its stream', async () => {
      const c = await login('bob', 'closer');
      await c.presence();
      await c.write('</stream:stream>');
      await c.closed();
      assert.equal(c.serverClosedStream, true, 'our </stream:stream> came back');
      assert.equal(c.streamError, undefined);
    });
  });

  describe('hostile XML (RFC 6120 §11, §13.12)', () => {
    const laughs =
      "<!DOCTYPE lolz [<!ENTITY lol 'lol'>" +
      Array.from(
        { length: 9 },
        (_, i) => `<!ENTITY lol${i + 1} '${`&lol${i === 0 ? '' : i};`.repeat(10)}'>`,
      ).join('') +
      ']>';

    it('billion laughs: a DTD before the stream, or an entity in a stanza, is <restricted-xml/>', async () => {
      const c = await connect();
      await c.write(`<?xml version='1.0'?>${laughs}${c.streamHeader().replace("<?xml version='1.0'?>", '')}`);
      assert.equal((await c.expectStreamError()).condition, 'restricted-xml');
      await stillServing();

      const m = await attacker();
      await m.write(`<message to='bob@localhost' type='chat'><body>&lol9;</body></message>`);
      assert.equal((await m.expectStreamError()).condition, 'restricted-xml');
      await stillServing();

      const d = await attacker();
      await d.write(`${laughs}<message to='bob@localhost' type='chat'><body>&lol9;</body></message>`);
      assert.equal((await d.expectStreamError()).condition, 'restricted-xml');
      await stillServing();
    });

    it('external entities are <restricted-xml/> and nothing is fetched', async () => {
      const c = await connect();
      await c.write(
        `<?xml version='1.0'?><!DOCTYPE foo [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>${c.streamHeader().replace("<?xml version='1.0'?>", '')}`,
      );
      assert.equal((await c.expectStreamError()).condition, 'restricted-xml');
      const m = await attacker();
      await m.write(
        `<!DOCTYPE foo [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]><message to='mallory@localhost'><body>&xxe;</body></message>`,
      );
      assert.equal((await m.expectStreamError()).condition, 'restricted-xml');
      assert.equal(m.log.filter((el) => el.name === 'message').length, 0);
      await stillServing();
    });

    it('a comment or a processing instruction is <restricted-xml/>', async () => {
      for (const payload of [
        `<message to='bob@localhost'><!-- hidden --><body>x</body></message>`,
        '<!-- between stanzas -->',
        `<message to='bob@localhost'><?evil run?><body>x</body></message>`,
        '<?evil run?>',
        `<?xml version='1.0'?>`,
      ]) {
        const m = await attacker();
        await m.write(payload);
        assert.equal((await m.expectStreamError()).condition, 'restricted-xml', payload);
      }
      await stillServing();
    });

    it('a 10 MB stanza sent in pieces after authentication is <policy-violation/>', async () => {
      const m = await attacker();
      await m.write(`<message to='bob@localhost' type='chat'><body>`);
      const piece = 'A'.repeat(64 * 1024);
      let sent = 0;
      while (sent < 10 * 1024 * 1024 && !m.streamError && !m.isClosed) {
        await m.write(piece);
        sent += piece.length;
      }
      assert.equal((await m.expectStreamError(5000)).condition, 'policy-violation');
      assert.ok(sent < 10 * 1024 * 1024, `refused early (after ${sent} bytes), not after reading it all`);
      await stillServing();
    });

    it('deep nesting is <policy-violation/>', async () => {
      const m = await attacker();
      await m.write(`<message to='bob@localhost'>${'<a>'.repeat(5000)}`);
      assert.equal((await m.expectStreamError()).condition, 'policy-violation');
      await stillServing();
    });

    it('malformed XML is <not-well-formed/>', async () => {
      for (const payload of [
        `<message to='bob@localhost'><body>x</message>`,
        `<message to='a@localhost' to='b@localhost'/>`,
        `<message to='bob@localhost'><body>a < b</body></message>`,
        'text outside any stanza<presence/>',
      ]) {
        const m = await attacker();
        await m.write(payload);
        assert.equal((await m.expectStreamError()).condition, 'not-well-formed', payload);
      }
      const bytes = await attacker();
      await bytes.write(Buffer.from([0x3c, 0x6d, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x6d, 0x3e]));
      assert.equal((await bytes.expectStreamError()).condition, 'unsupported-encoding');
      await stillServing();
    });

    it('an unclosed stanza just waits (until the idle timeout) while others are served', async () => {
      const m = await attacker();
      await m.write(`<message to='bob@localhost' type='chat'><body>never fini`);
      await stillServing();
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(m.isClosed, false);
      assert.equal(m.streamError, undefined);
      // Finishing it later is fine: the stream was never broken.
      await m.write(
        `shed</body></message><iq type='get' id='late' to='localhost'><ping xmlns='${NS.ping}'/></iq>`,
      );
      assert.equal((await m.expect((el) => el.attrs.id === 'late')).attrs.type, 'result');
      m.destroy();
    });
  });

  describe('idle connections', () => {
    let listeners: XmppListeners;
    before(async () => {
      // A second listener on the same core, with a short idle timeout.
      const files = tlsFiles(server.server.config);
      assert.ok(files);
      listeners = await startXmppListeners(server.server.core, createLogger('silent'), {
        bind: '127.0.0.1',
        port: 0,
        tlsPort: 0,
        domain: 'localhost',
        version: 'test',
        tls: { cert: readFileSync(files.cert), key: readFileSync(files.key) },
        requireTls: true,
        maxStanzaBytes: 262144,
        idleTimeoutMs: 400,
      });
    });
    after(() => listeners.stop());

    it('closes a silent connection (half a stanza, or no stream at all) with <connection-timeout/>', async () => {
      const idle: RawTarget = { port: listeners.port, tlsPort: listeners.tlsPort, ca: server.ca };
      const half = track(
        await RawXmppClient.login(idle, { username: 'bob', password: 'bob-secret', resource: 'idle' }),
      );
      await half.write(`<message to='alice@localhost'><body>half`);
      const silent = track(await RawXmppClient.connect(idle));
      assert.equal((await half.expectStreamError(2000)).condition, 'connection-timeout');
      assert.equal((await silent.expectStreamError(2000)).condition, 'connection-timeout');
      assert.ok(silent.headers.length === 1, 'the error comes in a stream the server opened');
      await stillServing();
    });
  });
});
