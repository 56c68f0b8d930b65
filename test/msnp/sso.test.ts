import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpLoginChallenge, msnpSignIn, ssoTokens } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { ssoAnswer } from '../support/sso-client.ts';

/**
 * MSNP13–18 sign-in over the real server (MSNP wiki "MSNP15:SSO"; Pidgin retro-prpl
 * msn/nexus.c and msn/notification.c): TWN with the RST ticket for 13–14, SSO with
 * the RST proof key and the MBI_KEY_OLD answer from 15.
 */
describe('MSNP13–18 sign-in (SSO)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    // Failed sign-ins count per handle (5 lock it), so each refusal test has its own account.
    for (const name of ['sso', 'wrong', 'used']) {
      await server.server.core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: 'sso-pw',
        displayName: name,
      });
    }
  });
  after(() => server.stop());

  /** Until the server hangs up: a 911 reply closes the connection. */
  async function expect911(client: MsnpTestClient): Promise<void> {
    const reply = await client.next();
    assert.equal(reply.name, '911', `got ${reply.name} ${reply.args.join(' ')}`);
    await client.closed();
  }

  it("answers Pidgin's `VER 1 MSNP18 CVR0` with MSNP18 and its CVR", async () => {
    const { client, reply } = await msnpLoginChallenge(server, { version: 18, handle: 'sso@localhost' });
    assert.deepEqual(reply.args.slice(1, 4), ['SSO', 'S', 'MBI_KEY_OLD']);
    // 48 random bytes: Pidgin copies exactly 72 cipher bytes (64-byte nonce + padding).
    assert.match(reply.args[4] ?? '', /^[A-Za-z0-9+/]{64}$/);
    assert.ok(
      client.lines.some((l) => l.startsWith('GCF 0 ') && l.includes('<Policy type="SHIELDS"')),
      'policies pushed before USR S',
    );
    await client.close();
  });

  it("answers WLM 8.5's and Pidgin's CVR with the client's own version", async () => {
    const client = await MsnpTestClient.connect(server.port('msnp'));
    client.send('VER 1 MSNP18 CVR0');
    assert.deepEqual((await client.expect('VER')).args, ['1', 'MSNP18', 'CVR0']);
    // COMPAT: Pidgin (retro-prpl msn/notification.c ver_cmd) sends exactly this CVR.
    client.send('CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 8.5.1302 BC01 sso@localhost');
    const cvr = await client.expect('CVR');
    assert.deepEqual(cvr.args.slice(0, 4), ['2', '8.5.1302', '8.5.1302', '8.5.1302']);
    await client.close();
  });

  it('a fresh nonce per attempt', async () => {
    const a = await msnpLoginChallenge(server, { version: 15, handle: 'sso@localhost' });
    const b = await msnpLoginChallenge(server, { version: 15, handle: 'sso@localhost' });
    assert.notEqual(a.reply.args[4], b.reply.args[4]);
    await a.client.close();
    await b.client.close();
  });

  for (const version of [13, 14, 15, 16, 18]) {
    it(`MSNP${version} signs in (${version >= 15 ? 'SSO' : 'TWN with the RST ticket'}) and gets its profile`, async () => {
      const client = await msnpSignIn(server, { version, handle: 'sso@localhost', password: 'sso-pw' });
      const usr = client.lines.find((l) => l.startsWith('USR ') && l.includes(' OK '));
      assert.match(usr ?? '', /^USR \d+ OK sso@localhost 1 0$/);
      assert.ok(client.lines.includes('SBS 0 null'));
      const profile = client.lines.find((l) => l.startsWith('MSG Hotmail Hotmail')) ?? '';
      assert.match(profile, /ABCHMigrated: 1/);
      assert.match(profile, /ClientIP: /);
      assert.equal(/MPOPEnabled: 1/.test(profile), version >= 16, 'MPOPEnabled from MSNP16');
      const mspAuth = /MSPAuth: (\S+)/.exec(profile)?.[1];
      const owner = await server.server.core.tickets.verifyService(`t=${mspAuth}&p=`);
      assert.equal(owner?.handle, 'sso@localhost', 'MSPAuth is a live web-service token');
      await client.close();
    });
  }

  it('MSNP18: two endpoints of one account both stay signed in; MSNP15 still signs the other out', async () => {
    const first = await msnpSignIn(server, { version: 18, handle: 'sso@localhost', password: 'sso-pw' });
    const second = await msnpSignIn(server, { version: 18, handle: 'sso@localhost', password: 'sso-pw' });
    const out = await first.expect('OUT', 300).catch(() => undefined);
    assert.equal(out, undefined, 'no OUT OTH in MSNP16+');
    await first.close();
    await second.close();

    const old = await msnpSignIn(server, { version: 15, handle: 'sso@localhost', password: 'sso-pw' });
    const again = await msnpSignIn(server, { version: 15, handle: 'sso@localhost', password: 'sso-pw' });
    const oth = await old.expect('OUT');
    assert.deepEqual(oth.args, ['OTH']);
    await again.close();
  });

  it('a wrong MBI_KEY_OLD answer gets 911 and the ticket stays unusable for it', async () => {
    const { client, reply } = await msnpLoginChallenge(server, { version: 18, handle: 'wrong@localhost' });
    const { tokens } = await ssoTokens(server, 'wrong@localhost', 'sso-pw');
    const login = tokens.get('messengerclear.live.com');
    assert.ok(login?.secret);
    // Right key, wrong nonce: what a replayed answer from another connection looks like.
    const wrong = ssoAnswer(login.secret, 'x'.repeat(64));
    assert.notEqual(reply.args[4], 'x'.repeat(64));
    client.send(`USR ${client.trid()} SSO S ${login.ticket} ${wrong} {6b6c6f1e-0000-4000-8000-000000000001}`);
    await expect911(client);

    // Garbage and a blob made with another key are refused too.
    for (const answer of ['AAAA', ssoAnswer(Buffer.alloc(24, 7).toString('base64'), reply.args[4] ?? '')]) {
      const again = await msnpLoginChallenge(server, { version: 18, handle: 'wrong@localhost' });
      const fresh = await ssoTokens(server, 'wrong@localhost', 'sso-pw');
      const ticket = fresh.tokens.get('messengerclear.live.com')?.ticket;
      again.client.send(
        `USR ${again.client.trid()} SSO S ${ticket} ${answer} {6b6c6f1e-0000-4000-8000-000000000001}`,
      );
      await expect911(again.client);
    }
  });

  it('a used ticket gets 911; so do an unknown one and a missing machine GUID in MSNP16+', async () => {
    const { tokens } = await ssoTokens(server, 'used@localhost', 'sso-pw');
    const login = tokens.get('messengerclear.live.com');
    assert.ok(login?.secret);
    const guid = '{6b6c6f1e-0000-4000-8000-000000000002}';
    const first = await msnpLoginChallenge(server, { version: 18, handle: 'used@localhost' });
    first.client.send(
      `USR ${first.client.trid()} SSO S ${login.ticket} ${ssoAnswer(login.secret, first.reply.args[4] ?? '')} ${guid}`,
    );
    const ok = await first.client.expect('USR');
    assert.equal(ok.args[1], 'OK');

    const reuse = await msnpLoginChallenge(server, { version: 18, handle: 'used@localhost' });
    reuse.client.send(
      `USR ${reuse.client.trid()} SSO S ${login.ticket} ${ssoAnswer(login.secret, reuse.reply.args[4] ?? '')} ${guid}`,
    );
    await expect911(reuse.client);
    await first.client.close();

    const unknown = await msnpLoginChallenge(server, { version: 18, handle: 'used@localhost' });
    unknown.client.send(
      `USR ${unknown.client.trid()} SSO S t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&p= ${ssoAnswer(login.secret, unknown.reply.args[4] ?? '')} ${guid}`,
    );
    await expect911(unknown.client);

    const fresh = (await ssoTokens(server, 'used@localhost', 'sso-pw')).tokens.get('messengerclear.live.com');
    assert.ok(fresh?.secret);
    const noGuid = await msnpLoginChallenge(server, { version: 16, handle: 'used@localhost' });
    noGuid.client.send(
      `USR ${noGuid.client.trid()} SSO S ${fresh.ticket} ${ssoAnswer(fresh.secret, noGuid.reply.args[4] ?? '')}`,
    );
    await expect911(noGuid.client);
  });

  it('TWN is refused from MSNP15, and SSO before it', async () => {
    for (const [version, mechanism] of [
      [15, 'TWN'],
      [14, 'SSO'],
    ] as const) {
      const client = await MsnpTestClient.connect(server.port('msnp'));
      client.send(`VER 1 MSNP${version} CVR0`);
      await client.expect('VER');
      client.send(`USR 2 ${mechanism} I sso@localhost`);
      await expect911(client);
    }
  });
});

describe('RST for MSNP15+ (RST.srf, //RST.srf, RST2.srf)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await server.server.core.accounts.create({
      privacy: 'allow-all',
      handle: 'rst@localhost',
      password: 'rst-pw',
      displayName: 'Rst',
    });
  });
  after(() => server.stop());

  for (const path of ['/RST.srf', '//RST.srf', '/RST2.srf']) {
    it(`${path}: one token per domain, the proof key with messengerclear.live.com only`, async () => {
      const got = await ssoTokens(server, 'rst@localhost', 'rst-pw', { path });
      assert.equal(got.status, 200);
      assert.deepEqual(
        [...got.tokens.keys()],
        [
          'messengerclear.live.com',
          'messenger.msn.com',
          'contacts.msn.com',
          'messengersecure.live.com',
          'storage.live.com',
          'sup.live.com',
        ],
      );
      const login = got.tokens.get('messengerclear.live.com');
      assert.equal(Buffer.from(login?.secret ?? '', 'base64').length, 24);
      for (const [domain, token] of got.tokens) {
        assert.match(token.ticket, /^t=[A-Za-z0-9_-]+&p=$/, domain);
        assert.match(token.expires ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, domain);
        if (domain !== 'messengerclear.live.com') assert.equal(token.secret, undefined, domain);
      }
      // SOAP 1.2 and WS-Trust 2005/02 on RST2.srf, as WLM 2009 expects; SOAP 1.1 on RST.srf.
      const soap12 = got.body.includes('http://www.w3.org/2003/05/soap-envelope');
      assert.equal(soap12, path === '/RST2.srf');
      assert.equal(got.body.includes('<wst:Lifetime>'), path === '/RST2.srf');
    });
  }

  it('the contacts.msn.com token is a web-service token; the login ticket is not', async () => {
    const { tokens } = await ssoTokens(server, 'rst@localhost', 'rst-pw');
    const tickets = server.server.core.tickets;
    for (const domain of [
      'contacts.msn.com',
      'messenger.msn.com',
      'storage.live.com',
      'messengersecure.live.com',
    ]) {
      const account = await tickets.verifyService(tokens.get(domain)?.ticket ?? '');
      assert.equal(account?.handle, 'rst@localhost', domain);
    }
    assert.equal(await tickets.verifyService(tokens.get('messengerclear.live.com')?.ticket ?? ''), undefined);
    const days = (Date.parse(tokens.get('contacts.msn.com')?.expires ?? '') - Date.now()) / 86_400_000;
    assert.ok(days > 0.9, 'service tokens last a day, and say so');
  });

  it('a wrong password gets the FailedAuthentication fault on both endpoints', async () => {
    const rst = await ssoTokens(server, 'rst@localhost', 'nope', { path: '//RST.srf' });
    assert.equal(rst.status, 200);
    assert.match(rst.body, /<faultcode>wsse:FailedAuthentication<\/faultcode>/);
    assert.equal(rst.tokens.size, 0);
    const rst2 = await ssoTokens(server, 'rst@localhost', 'nope', { path: '/RST2.srf' });
    assert.match(rst2.body, /wst:FailedAuthentication/);
    assert.match(rst2.body, /http:\/\/www\.w3\.org\/2003\/05\/soap-envelope/);
    assert.equal(rst2.tokens.size, 0);
  });
});
