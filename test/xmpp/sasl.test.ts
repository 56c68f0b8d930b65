import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { hash as argon2Hash } from '@node-rs/argon2';
import { ARGON2_OPTIONS } from '../../src/core/credentials.ts';
import { partialCredentials } from '../../src/core/legacy-hash.ts';
import { hash, hmac, SCRAM_ITERATIONS, type ScramAlgorithm, saltedPassword } from '../../src/core/scram.ts';
import { NoTokens, type TokenGrant, type TokenValidator, XMPP_SCOPE } from '../../src/core/tokens.ts';
import type { AccountRow } from '../../src/store/types.ts';
import {
  createMechanism,
  mechanismsFor,
  type SaslContext,
  type SaslMechanism,
  type SaslStep,
} from '../../src/xmpp/sasl/mechanism.ts';
import { type CoreFixture, coreFixture } from '../support/core-fixture.ts';

const DOMAIN = 'example.com';
const PASSWORD = 'Tr0ub4dor&3 sasl';

/** A fresh client address per exchange, so the throttle only bites where a test wants it to. */
let addressCounter = 0;
function freshAddress(): string {
  addressCounter += 1;
  return `10.0.${Math.floor(addressCounter / 250)}.${addressCounter % 250}`;
}

function mechanism(fx: CoreFixture, name: string, ctx: Partial<SaslContext> = {}): SaslMechanism {
  const m = createMechanism(name, {
    core: fx.core,
    domain: DOMAIN,
    address: freshAddress(),
    secure: true,
    ...ctx,
  });
  assert.ok(m, `${name} exists`);
  assert.equal(m.name, name);
  return m;
}

function challengeData(step: SaslStep): Buffer {
  assert.equal(step.kind, 'challenge', `expected a challenge, got ${JSON.stringify(step)}`);
  return step.kind === 'challenge' ? step.data : Buffer.alloc(0);
}

function assertFailure(step: SaslStep, condition: string): void {
  assert.equal(step.kind, 'failure', `expected failure ${condition}, got ${JSON.stringify(step)}`);
  if (step.kind === 'failure') assert.equal(step.condition, condition);
}

function assertSuccess(step: SaslStep, account: AccountRow): void {
  assert.equal(step.kind, 'success', `expected success, got ${JSON.stringify(step)}`);
  if (step.kind !== 'success') return;
  assert.equal(step.account.id, account.id);
  assert.equal(step.account.handle, account.handle);
}

/** RFC 5802 §5.1 saslname encoding, client side. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function parseAttributes(message: string): Record<string, string> {
  return Object.fromEntries(message.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)]));
}

/** A SCRAM client (RFC 5802 §3), written from the RFC for these tests. */
class ScramClient {
  readonly cnonce = randomBytes(18).toString('base64');
  readonly bare: string;
  expectedServerFinal = '';

  constructor(
    private readonly alg: ScramAlgorithm,
    username: string,
    private readonly password: string,
    readonly gs2Header = 'n,,',
  ) {
    this.bare = `n=${saslName(username)},r=${this.cnonce}`;
  }

  first(): Buffer {
    return Buffer.from(this.gs2Header + this.bare);
  }

  final(serverFirstBytes: Buffer, tamper: { channelBinding?: string; nonce?: string } = {}): Buffer {
    const serverFirst = serverFirstBytes.toString();
    const { r = '', s = '', i = '' } = parseAttributes(serverFirst);
    assert.ok(r.startsWith(this.cnonce), 'the server nonce extends ours');
    // ≥ 18 random bytes of server nonce, base64: at least 24 characters.
    assert.ok(r.length - this.cnonce.length >= 24);
    const salted = saltedPassword(this.alg, this.password, Buffer.from(s, 'base64'), Number(i));
    const clientKey = hmac(this.alg, salted, 'Client Key');
    const storedKey = hash(this.alg, clientKey);
    const channelBinding = tamper.channelBinding ?? Buffer.from(this.gs2Header).toString('base64');
    const withoutProof = `c=${channelBinding},r=${tamper.nonce ?? r}`;
    const authMessage = `${this.bare},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.alg, storedKey, authMessage);
    const proof = Buffer.from(clientKey.map((byte, n) => byte ^ (clientSignature[n] ?? 0)));
    const serverKey = hmac(this.alg, salted, 'Server Key');
    this.expectedServerFinal = `v=${hmac(this.alg, serverKey, authMessage).toString('base64')}`;
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }
}

/** Plays a whole SCRAM exchange; returns the final step and the client. */
async function scram(
  fx: CoreFixture,
  alg: ScramAlgorithm,
  username: string,
  password: string,
  options: { address?: string; gs2Header?: string } = {},
): Promise<{ result: SaslStep; client: ScramClient }> {
  const name = alg === 'sha1' ? 'SCRAM-SHA-1' : 'SCRAM-SHA-256';
  const m = mechanism(fx, name, options.address === undefined ? {} : { address: options.address });
  const client = new ScramClient(alg, username, password, options.gs2Header);
  const serverFirst = challengeData(await m.start(client.first()));
  const result = await m.step(client.final(serverFirst));
  return { result, client };
}

/** Test tokens: 'good' grants wl.messenger, 'noscope' grants something else, anything else is unknown. */
class FakeTokens implements TokenValidator {
  constructor(private readonly account: AccountRow) {}

  async validate(token: string): Promise<TokenGrant | undefined> {
    const grant = { accountId: this.account.id, handle: this.account.handle, expiresAt: Date.now() + 60_000 };
    if (token === 'good') return { ...grant, scopes: ['openid', XMPP_SCOPE] };
    if (token === 'noscope') return { ...grant, scopes: ['wl.basic'] };
    return undefined; // 'expired' and everything else
  }
}

describe('XMPP SASL', () => {
  let fx: CoreFixture;
  let alice: AccountRow;

  before(async () => {
    fx = await coreFixture();
    alice = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: `alice@${DOMAIN}`,
      password: PASSWORD,
    });
    await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: `bob@${DOMAIN}`,
      password: 'bobs own password',
    });
    fx.core.tokens = new FakeTokens(alice);
  });
  after(() => fx.close());

  describe('advertising', () => {
    it('offers SCRAM always and the plaintext mechanisms only over TLS, in preference order', () => {
      const ctx = { core: fx.core, domain: DOMAIN, address: '10.9.9.9' };
      assert.deepEqual(mechanismsFor({ ...ctx, secure: true }), [
        'SCRAM-SHA-256',
        'SCRAM-SHA-1',
        'PLAIN',
        'X-MESSENGER-OAUTH2',
        'OAUTHBEARER',
      ]);
      assert.deepEqual(mechanismsFor({ ...ctx, secure: false }), ['SCRAM-SHA-256', 'SCRAM-SHA-1']);
    });

    it('knows no other mechanism (no -PLUS, names are case-sensitive)', () => {
      const ctx = { core: fx.core, domain: DOMAIN, address: '10.9.9.9', secure: true };
      for (const name of [
        'SCRAM-SHA-1-PLUS',
        'SCRAM-SHA-256-PLUS',
        'DIGEST-MD5',
        'scram-sha-1',
        'ANONYMOUS',
      ]) {
        assert.equal(createMechanism(name, ctx), undefined, name);
      }
    });
  });

  describe('SCRAM', () => {
    for (const alg of ['sha256', 'sha1'] as const) {
      it(`completes a ${alg} exchange and sends the server signature`, async () => {
        const { result, client } = await scram(fx, alg, 'alice', PASSWORD);
        assertSuccess(result, alice);
        assert.equal(
          result.kind === 'success' && result.additionalData?.toString(),
          client.expectedServerFinal,
        );
      });
    }

    it('accepts the bare JID as username (COMPAT), in any case', async () => {
      const { result } = await scram(fx, 'sha256', 'Alice@Example.COM', PASSWORD);
      assertSuccess(result, alice);
    });

    it('prepares the username with SASLprep (RFC 4013): mappings and NFKC', async () => {
      // A soft hyphen maps to nothing; fullwidth letters fold to ASCII under NFKC.
      assertSuccess((await scram(fx, 'sha256', 'al\u00ADice', PASSWORD)).result, alice);
      assertSuccess((await scram(fx, 'sha1', '\uFF41\uFF4C\uFF49\uFF43\uFF45', PASSWORD)).result, alice);
    });

    it('sends an empty challenge when there is no initial response', async () => {
      const m = mechanism(fx, 'SCRAM-SHA-1');
      assert.equal(challengeData(await m.start(undefined)).length, 0);
      const client = new ScramClient('sha1', 'alice', PASSWORD);
      const serverFirst = challengeData(await m.step(client.first()));
      assertSuccess(await m.step(client.final(serverFirst)), alice);
    });

    it('accepts the y flag, since no -PLUS is offered (RFC 5802 §6)', async () => {
      const { result } = await scram(fx, 'sha256', 'alice', PASSWORD, { gs2Header: 'y,,' });
      assertSuccess(result, alice);
    });

    it('accepts an authzid that is the user itself, refuses any other', async () => {
      assertSuccess(
        (await scram(fx, 'sha256', 'alice', PASSWORD, { gs2Header: `n,a=alice@${DOMAIN},` })).result,
        alice,
      );
      const m = mechanism(fx, 'SCRAM-SHA-256');
      const client = new ScramClient('sha256', 'alice', PASSWORD, `n,a=bob@${DOMAIN},`);
      assertFailure(await m.start(client.first()), 'invalid-authzid');
    });

    it('fails a wrong password with not-authorized', async () => {
      const { result } = await scram(fx, 'sha256', 'alice', 'not the password');
      assertFailure(result, 'not-authorized');
    });

    it('treats an unknown user exactly like a wrong password', async () => {
      const serverFirstOf = async (username: string) => {
        const m = mechanism(fx, 'SCRAM-SHA-256');
        return parseAttributes(
          challengeData(await m.start(new ScramClient('sha256', username, 'x').first())).toString(),
        );
      };
      const known = await serverFirstOf('alice');
      const unknown = await serverFirstOf('nobody');
      // Same shape: a 16-byte salt, the same iteration count; stable across attempts.
      assert.equal(
        Buffer.from(unknown.s ?? '', 'base64').length,
        Buffer.from(known.s ?? '', 'base64').length,
      );
      assert.equal(unknown.i, String(SCRAM_ITERATIONS));
      assert.equal(known.i, unknown.i);
      assert.equal((await serverFirstOf('nobody')).s, unknown.s);
      const { result } = await scram(fx, 'sha256', 'nobody', PASSWORD);
      assert.deepEqual(result, (await scram(fx, 'sha256', 'alice', 'wrong')).result);
      assertFailure(result, 'not-authorized');
    });

    it('refuses a tampered nonce', async () => {
      const m = mechanism(fx, 'SCRAM-SHA-256');
      const client = new ScramClient('sha256', 'alice', PASSWORD);
      const serverFirst = challengeData(await m.start(client.first()));
      const { r = '' } = parseAttributes(serverFirst.toString());
      assertFailure(
        await m.step(client.final(serverFirst, { nonce: `${r.slice(0, -1)}A` })),
        'not-authorized',
      );
    });

    it('refuses channel binding data that does not match the gs2 header', async () => {
      const m = mechanism(fx, 'SCRAM-SHA-256');
      const client = new ScramClient('sha256', 'alice', PASSWORD, 'y,,');
      const serverFirst = challengeData(await m.start(client.first()));
      // A proof computed over c=biws ("n,,") while the header said "y,,": a downgrade.
      const final = client.final(serverFirst, { channelBinding: Buffer.from('n,,').toString('base64') });
      assertFailure(await m.step(final), 'not-authorized');
    });

    it('refuses the p= flag: channel binding was not offered', async () => {
      const m = mechanism(fx, 'SCRAM-SHA-1');
      const client = new ScramClient('sha1', 'alice', PASSWORD, 'p=tls-unique,,');
      assertFailure(await m.start(client.first()), 'malformed-request');
    });

    it('refuses a mandatory extension (m=)', async () => {
      const m = mechanism(fx, 'SCRAM-SHA-256');
      assertFailure(await m.start(Buffer.from('n,,m=ext,n=alice,r=abcdef')), 'malformed-request');
    });

    it('ignores optional extensions after the nonce', async () => {
      const m = mechanism(fx, 'SCRAM-SHA-256');
      assert.equal((await m.start(Buffer.from('n,,n=alice,r=abcdef,x=whatever'))).kind, 'challenge');
    });

    it('refuses malformed client-first messages', async () => {
      const malformed = [
        Buffer.alloc(0),
        Buffer.from([0xff, 0xfe, 0x2c, 0x2c, 0x00, 0x80]),
        randomBytes(64),
        Buffer.from('n,,r=abcdef'),
        Buffer.from('n,,n=alice'),
        Buffer.from('n,,n=alice,r='),
        Buffer.from('n,,n=,r=abcdef'),
        Buffer.from('n,n=alice,r=abcdef'),
        Buffer.from('x,,n=alice,r=abcdef'),
        Buffer.from('F,n,,n=alice,r=abcdef'),
        Buffer.from('n,,n=al=ice,r=abcdef'),
        Buffer.from('n,,n=ali=2cce,r=abcdef'),
        Buffer.from('n,,n=alice\x07,r=abcdef'),
        Buffer.from('n,b=alice,n=alice,r=abcdef'),
        Buffer.from(`n,,n=${'a'.repeat(9000)},r=abcdef`),
      ];
      for (const message of malformed) {
        const m = mechanism(fx, 'SCRAM-SHA-256');
        assertFailure(await m.start(message), 'malformed-request');
      }
    });

    it('refuses malformed client-final messages', async () => {
      const finals = (withoutProof: string) => [
        `${withoutProof}`,
        `${withoutProof},p=not base64!`,
        `${withoutProof},p=`,
        `r=x,${withoutProof.slice(withoutProof.indexOf(',') + 1)},p=AAAA`,
        'garbage',
      ];
      const client = new ScramClient('sha256', 'alice', PASSWORD);
      for (const build of [0, 1, 2, 3, 4]) {
        const m = mechanism(fx, 'SCRAM-SHA-256');
        const serverFirst = challengeData(await m.start(client.first()));
        const { r = '' } = parseAttributes(serverFirst.toString());
        const message = finals(`c=biws,r=${r}`)[build] ?? '';
        assertFailure(await m.step(Buffer.from(message)), 'malformed-request');
      }
    });

    it('decodes =2C and =3D in the username (RFC 5802 §5.1)', async () => {
      // No real handle contains "," or "=", so the decoded name is an unknown user: the
      // server-first salt is the fake one derived from exactly that decoded handle.
      const m = mechanism(fx, 'SCRAM-SHA-256');
      const first = challengeData(await m.start(Buffer.from('n,,n=a=2Cb=3Dc,r=abcdef'))).toString();
      const { keys } = await fx.core.credentials.scramKeys(`a,b=c@${DOMAIN}`, 'sha256');
      assert.equal(parseAttributes(first).s, keys.salt);
    });

    it('fails any step after the exchange is over', async () => {
      const m = mechanism(fx, 'SCRAM-SHA-256');
      const client = new ScramClient('sha256', 'alice', PASSWORD);
      const final = client.final(challengeData(await m.start(client.first())));
      assertSuccess(await m.step(final), alice);
      assertFailure(await m.step(final), 'malformed-request');
    });

    it('interoperates with a third-party client: the sasl-scram-sha-1 package (used by xmpp.js)', async () => {
      // Loaded through a variable so TypeScript does not look for its (absent) types.
      const specifier = 'sasl-scram-sha-1';
      const { default: ThirdPartyScram } = (await import(specifier)) as {
        default: new () => {
          response(credentials: { username: string; password: string }): string | Promise<string>;
          challenge(data: string): unknown;
          _serverSignature: Uint8Array;
        };
      };
      const credentials = { username: 'alice', password: PASSWORD };
      const client = new ThirdPartyScram();
      const m = mechanism(fx, 'SCRAM-SHA-1');
      const serverFirst = challengeData(await m.start(Buffer.from(await client.response(credentials))));
      client.challenge(serverFirst.toString());
      const result = await m.step(Buffer.from(await client.response(credentials)));
      assertSuccess(result, alice);
      const v = result.kind === 'success' ? (result.additionalData?.toString() ?? '') : '';
      assert.equal(v, `v=${Buffer.from(client._serverSignature).toString('base64')}`);
    });
  });

  describe('PLAIN', () => {
    const plain = (authzid: string, authcid: string, password: string) =>
      Buffer.from(`${authzid}\0${authcid}\0${password}`);

    it('accepts the right password for a username or a full handle, with or without authzid', async () => {
      assertSuccess(await mechanism(fx, 'PLAIN').start(plain('', 'alice', PASSWORD)), alice);
      assertSuccess(await mechanism(fx, 'PLAIN').start(plain('', `ALICE@${DOMAIN}`, PASSWORD)), alice);
      assertSuccess(await mechanism(fx, 'PLAIN').start(plain(`alice@${DOMAIN}`, 'alice', PASSWORD)), alice);
    });

    it('accepts the message after an empty challenge', async () => {
      const m = mechanism(fx, 'PLAIN');
      assert.equal(challengeData(await m.start(undefined)).length, 0);
      assertSuccess(await m.step(plain('', 'alice', PASSWORD)), alice);
    });

    it('refuses a wrong password and an unknown user alike', async () => {
      assertFailure(await mechanism(fx, 'PLAIN').start(plain('', 'alice', 'wrong')), 'not-authorized');
      assertFailure(await mechanism(fx, 'PLAIN').start(plain('', 'nobody', PASSWORD)), 'not-authorized');
    });

    it('refuses an authzid other than the user', async () => {
      assertFailure(
        await mechanism(fx, 'PLAIN').start(plain(`bob@${DOMAIN}`, 'alice', PASSWORD)),
        'invalid-authzid',
      );
    });

    it('refuses to run without TLS', async () => {
      const m = mechanism(fx, 'PLAIN', { secure: false });
      assertFailure(await m.start(plain('', 'alice', PASSWORD)), 'encryption-required');
      assertFailure(await mechanism(fx, 'PLAIN', { secure: false }).start(undefined), 'encryption-required');
    });

    it('signs in an account with only an argon2 hash (an older export), which then has SCRAM keys', async () => {
      const carol = await fx.core.accounts.create({
        privacy: 'allow-all',
        handle: `carol@${DOMAIN}`,
        password: 'carols password',
      });
      const argon2 = await argon2Hash('carols password', ARGON2_OPTIONS);
      await fx.core.store.setCredentials(carol.id, partialCredentials({ argon2 }));
      // Its SCRAM keys are placeholders: SCRAM fails until a plaintext sign-in.
      assertFailure((await scram(fx, 'sha256', 'carol', 'carols password')).result, 'not-authorized');
      assertFailure(await mechanism(fx, 'PLAIN').start(plain('', 'carol', 'wrong')), 'not-authorized');
      assertSuccess(await mechanism(fx, 'PLAIN').start(plain('', 'carol', 'carols password')), carol);
      assert.equal((await fx.core.store.getCredentials(carol.id))?.argon2, '');
      assertSuccess((await scram(fx, 'sha256', 'carol', 'carols password')).result, carol);
      assertSuccess(await mechanism(fx, 'PLAIN').start(plain('', 'carol', 'carols password')), carol);
      assertFailure(await mechanism(fx, 'PLAIN').start(plain('', 'carol', 'wrong')), 'not-authorized');
    });

    it('refuses malformed messages', async () => {
      for (const message of [
        Buffer.from('alice'),
        Buffer.from('\0alice'),
        Buffer.from('\0alice\0'),
        Buffer.from('\0\0password'),
        Buffer.from('\0alice\0pass\0word'),
        Buffer.from([0, 0x61, 0, 0xff, 0xfe]),
      ]) {
        assertFailure(await mechanism(fx, 'PLAIN').start(message), 'malformed-request');
      }
    });
  });

  describe('X-MESSENGER-OAUTH2', () => {
    it('signs in with a token granting wl.messenger', async () => {
      assertSuccess(await mechanism(fx, 'X-MESSENGER-OAUTH2').start(Buffer.from('good')), alice);
    });

    it('refuses a token without the scope, an expired or unknown one', async () => {
      for (const token of ['noscope', 'expired', 'whatever']) {
        const step = await mechanism(fx, 'X-MESSENGER-OAUTH2').start(Buffer.from(token));
        assertFailure(step, 'not-authorized');
      }
    });

    it('refuses to run without TLS and refuses malformed tokens', async () => {
      const insecure = mechanism(fx, 'X-MESSENGER-OAUTH2', { secure: false });
      assertFailure(await insecure.start(Buffer.from('good')), 'encryption-required');
      for (const message of [Buffer.alloc(0), Buffer.from('go od'), Buffer.from([0xff])]) {
        assertFailure(await mechanism(fx, 'X-MESSENGER-OAUTH2').start(message), 'malformed-request');
      }
    });

    it('takes the token after an empty challenge', async () => {
      const m = mechanism(fx, 'X-MESSENGER-OAUTH2');
      assert.equal(challengeData(await m.start(undefined)).length, 0);
      assertSuccess(await m.step(Buffer.from('good')), alice);
    });

    it('with the default validator no token is valid', async () => {
      const m = createMechanism('X-MESSENGER-OAUTH2', {
        core: { ...fx.core, tokens: new NoTokens() },
        domain: DOMAIN,
        address: freshAddress(),
        secure: true,
      });
      assert.ok(m);
      assertFailure(await m.start(Buffer.from('good')), 'not-authorized');
    });
  });

  describe('OAUTHBEARER', () => {
    const bearer = (token: string, gs2 = 'n,,', extra = '') =>
      Buffer.from(`${gs2}\x01${extra}auth=Bearer ${token}\x01\x01`);

    it('signs in with a good token (RFC 7628 §3.1)', async () => {
      assertSuccess(await mechanism(fx, 'OAUTHBEARER').start(bearer('good')), alice);
      assertSuccess(
        await mechanism(fx, 'OAUTHBEARER').start(bearer('good', 'y,,', `host=${DOMAIN}\x01port=5222\x01`)),
        alice,
      );
      assertSuccess(
        await mechanism(fx, 'OAUTHBEARER').start(
          Buffer.from(`n,a=alice@${DOMAIN},\x01auth=bearer good\x01\x01`),
        ),
        alice,
      );
    });

    it('refuses an authzid other than the token holder', async () => {
      assertFailure(
        await mechanism(fx, 'OAUTHBEARER').start(bearer('good', `n,a=bob@${DOMAIN},`)),
        'invalid-authzid',
      );
    });

    it('sends the JSON error challenge for a bad token, then fails after the dummy response (§3.2.2–3)', async () => {
      const m = mechanism(fx, 'OAUTHBEARER');
      const error = challengeData(await m.start(bearer('expired')));
      assert.deepEqual(JSON.parse(error.toString()), { status: 'invalid_token' });
      assertFailure(await m.step(Buffer.from('\x01')), 'not-authorized');
    });

    it('names the missing scope', async () => {
      const m = mechanism(fx, 'OAUTHBEARER');
      const error = challengeData(await m.start(bearer('noscope')));
      assert.deepEqual(JSON.parse(error.toString()), { status: 'insufficient_scope', scope: XMPP_SCOPE });
      assertFailure(await m.step(Buffer.from('\x01')), 'not-authorized');
    });

    it('refuses to run without TLS and refuses malformed messages', async () => {
      assertFailure(
        await mechanism(fx, 'OAUTHBEARER', { secure: false }).start(bearer('good')),
        'encryption-required',
      );
      for (const message of [
        Buffer.from('n,,\x01\x01'),
        Buffer.from('n,,auth=Bearer good\x01\x01'),
        Buffer.from('n,,\x01auth=Bearer good\x01'),
        Buffer.from('n,,\x01auth=Basic Z29vZA==\x01\x01'),
        Buffer.from('n,,\x01auth=Bearer good\x01auth=Bearer good\x01\x01'),
        Buffer.from('p=tls-unique,,\x01auth=Bearer good\x01\x01'),
        Buffer.from('\x01auth=Bearer good\x01\x01'),
      ]) {
        assertFailure(await mechanism(fx, 'OAUTHBEARER').start(message), 'malformed-request');
      }
    });
  });

  describe('throttling', () => {
    it('after 5 wrong passwords from one address, the right one fails there but works elsewhere', async () => {
      const address = freshAddress();
      for (let n = 0; n < 5; n++) {
        assertFailure(
          (await scram(fx, 'sha256', 'alice', `wrong ${n}`, { address })).result,
          'not-authorized',
        );
      }
      assertFailure((await scram(fx, 'sha256', 'alice', PASSWORD, { address })).result, 'not-authorized');
      // The same lock covers every mechanism (and protocol) that checks the password.
      assertFailure(
        await mechanism(fx, 'PLAIN', { address }).start(Buffer.from(`\0alice\0${PASSWORD}`)),
        'not-authorized',
      );
      assertSuccess(
        (await scram(fx, 'sha256', 'alice', PASSWORD, { address: freshAddress() })).result,
        alice,
      );
      // Another account from the locked address is not locked.
      const bob = await fx.core.accounts.get(`bob@${DOMAIN}`);
      assertSuccess(
        await mechanism(fx, 'PLAIN', { address }).start(Buffer.from('\0bob\0bobs own password')),
        bob,
      );
    });

    it('counts refused tokens per address', async () => {
      const address = freshAddress();
      for (let n = 0; n < fx.core.loginGuard.perAddress.maxFailures; n++) {
        const step = await mechanism(fx, 'X-MESSENGER-OAUTH2', { address }).start(Buffer.from(`guess${n}`));
        assertFailure(step, 'not-authorized');
      }
      assertFailure(
        await mechanism(fx, 'X-MESSENGER-OAUTH2', { address }).start(Buffer.from('good')),
        'not-authorized',
      );
      assertSuccess(await mechanism(fx, 'X-MESSENGER-OAUTH2').start(Buffer.from('good')), alice);
    });
  });
});
