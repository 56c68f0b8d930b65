import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { MsnpCommand } from '../../src/msnp/codec/index.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { soapPost } from '../support/msnp-web.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';

// Issue 13: offline messages are delivered at least once. MSNP2–12 clients get them in a
// switchboard the server opens (ns/offline-delivery.ts), where nothing acknowledges what
// the server writes: they leave the store only once the switchboard connection stayed
// up a moment or the client left with OUT. MSNP13+ fetch OIMs and delete them
// (services/rsi.ts): nothing leaves the store before DeleteMessages.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TEXTS = ['first', 'second', 'third'];
const RSI = 'http://www.hotmail.msn.com/ws/2004/09/oim/rsi';

/** A TCP reset: the client is gone without OUT. */
function reset(client: MsnpTestClient): Promise<void> {
  (client as unknown as { socket: Socket }).socket.resetAndDestroy();
  return client.closed();
}

describe('offline messages for MSNP clients: delivered again until the client has them', () => {
  let server: TestServer;
  const ids: Record<string, string> = {};

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    for (const name of ['xan', 'bea', 'bob', 'ben', 'dan']) {
      const account = await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: `${name}-pw`,
        displayName: name === 'xan' ? 'Xan' : name,
      });
      ids[name] = account.id;
      if (name !== 'xan') await core.relationships.addForward(account.id, 'xan@localhost');
    }
  });
  after(async () => {
    await server.stop();
  });

  const core = () => server.server.core;
  const stored = (name: string) => core().offline.count(ids[name] ?? '');
  const storedIds = async (name: string) => (await core().offline.pending(ids[name] ?? '')).map((m) => m.id);

  async function storedBecomes(name: string, count: number, ms = 4000): Promise<void> {
    for (let waited = 0; waited < ms && (await stored(name)) !== count; waited += 25) await sleep(25);
    assert.equal(await stored(name), count);
  }

  async function saveFromXan(name: string): Promise<string[]> {
    for (const text of TEXTS)
      await core().offline.save(ids[name] ?? '', 'xan@localhost', { kind: 'chat', text, senderName: 'Xan' });
    return storedIds(name);
  }

  async function signIn(name: string, version: number): Promise<MsnpTestClient> {
    const ns = await msnpSignIn(server, { version, handle: `${name}@localhost`, password: `${name}-pw` });
    await msnpSetStatus(ns, version, 'NLN', { first: true });
    return ns;
  }

  /** Answers the server's ring and reads the messages up to its BYE. */
  async function answerRing(
    name: string,
    rng: MsnpCommand,
  ): Promise<{ sb: MsnpTestClient; texts: string[] }> {
    assert.equal(rng.args[4], 'xan@localhost');
    const [host, port] = (rng.args[1] ?? '').split(':');
    const sb = await MsnpTestClient.connect(Number(port), host);
    sb.send(`ANS ${sb.trid()} ${name}@localhost ${rng.args[3]} ${rng.args[0]}`);
    await sb.expect('ANS');
    const texts: string[] = [];
    for (;;) {
      const cmd = await sb.next();
      if (cmd.name === 'IRO') continue;
      if (cmd.name === 'BYE') return { sb, texts };
      assert.equal(cmd.name, 'MSG', sb.lines.join(' | '));
      const payload = cmd.payload?.toString('utf8') ?? '';
      texts.push(payload.slice(payload.indexOf('\r\n\r\n') + 4));
    }
  }

  async function expectNoRing(ns: MsnpTestClient, ms = 500): Promise<void> {
    await sleep(ms);
    assert.deepEqual(
      ns.drain().filter((c) => c.name === 'RNG'),
      [],
      'no RNG',
    );
  }

  for (const [name, version] of [
    ['bea', 5],
    ['bob', 12],
  ] as const) {
    it(`MSNP${version}: reset right after the switchboard wrote them, rung again with the same messages; OUT takes them`, async () => {
      const saved = await saveFromXan(name);
      const ns = await signIn(name, version);
      const first = await answerRing(name, await ns.expect('RNG'));
      assert.deepEqual(first.texts, TEXTS);
      await Promise.all([reset(first.sb), reset(ns)]);
      // Back in the store at once, the same messages (ids, and the times XMPP would show).
      await sleep(100);
      assert.deepEqual(await storedIds(name), saved);

      const again = await signIn(name, version);
      const second = await answerRing(name, await again.expect('RNG'));
      assert.deepEqual(second.texts, TEXTS);
      // §12.3 OUT: the client leaves the switchboard itself; it has them.
      second.sb.send('OUT');
      await second.sb.closed();
      await storedBecomes(name, 0, 1000);
      await again.close();

      const third = await signIn(name, version);
      await expectNoRing(third);
      await third.close();
    });
  }

  it('MSNP8: a switchboard that stays up a moment is enough', async () => {
    await saveFromXan('ben');
    const ns = await signIn('ben', 8);
    const { sb, texts } = await answerRing('ben', await ns.expect('RNG'));
    assert.deepEqual(texts, TEXTS);
    assert.equal(await stored('ben'), TEXTS.length, 'held while the connection might still drop');
    await storedBecomes('ben', 0);
    await Promise.all([reset(sb), reset(ns)]);
    const next = await signIn('ben', 8);
    await expectNoRing(next);
    await next.close();
  });

  it('MSNP13 OIM: fetched but not deleted before a reset, listed again; DeleteMessages takes it', async () => {
    const saved = await saveFromXan('dan');
    const signIn13 = async () => {
      const ns = await msnpSignIn(server, { version: 13, handle: 'dan@localhost', password: 'dan-pw' });
      for (;;) {
        const payload = (await ns.expect('MSG')).payload?.toString('utf8') ?? '';
        if (payload.includes('text/x-msmsgsinitialmdatanotification')) {
          return {
            ns,
            listed: [...payload.matchAll(/<M>(?:(?!<\/M>).)*?<I>([^<]+)<\/I>/g)].map((m) => m[1]),
          };
        }
      }
    };
    const ticket = await core().tickets.issueService(ids.dan ?? '');
    const rsi = (operation: string) =>
      soapPost(
        server,
        '/rsi/rsi.asmx',
        'rsi.hotmail.com',
        `${RSI}/${/^<(\w+)/.exec(operation)?.[1]}`,
        `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><PassportCookie xmlns="${RSI}"><t>${ticket.t}</t><p>${ticket.p}</p></PassportCookie></soap:Header><soap:Body>${operation}</soap:Body></soap:Envelope>`,
      );

    const first = await signIn13();
    assert.deepEqual(first.listed, saved);
    for (const id of saved) {
      const got = await rsi(`<GetMessage xmlns="${RSI}"><messageId>${id}</messageId></GetMessage>`);
      assert.equal(got.status, 200, got.body);
    }
    await reset(first.ns);
    const second = await signIn13();
    assert.deepEqual(second.listed, saved, 'the same messages, listed again');
    const ids13 = saved.map((id) => `<messageId>${id}</messageId>`).join('');
    await rsi(`<DeleteMessages xmlns="${RSI}"><messageIds>${ids13}</messageIds></DeleteMessages>`);
    assert.equal(await stored('dan'), 0);
    await second.ns.close();
    const third = await signIn13();
    assert.deepEqual(third.listed, []);
    await third.ns.close();
  });
});
