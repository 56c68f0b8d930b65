import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { hash as argon2Hash } from '@node-rs/argon2';
import { ARGON2_OPTIONS, Credentials, md5Hex } from '../../src/core/credentials.ts';
import { partialCredentials } from '../../src/core/legacy-hash.ts';
import { deriveScramKeys, saltedPassword, verifyScramProof } from '../../src/core/scram.ts';
import { type CoreFixture, coreFixture } from '../support/core-fixture.ts';

/** Whether `keys` are the SCRAM keys of `password` (as a SCRAM client would derive them). */
function keysOf(keys: { salt: string; iterations: number; storedKey: string }, password: string): boolean {
  const alg = Buffer.from(keys.storedKey, 'base64').length === 20 ? 'sha1' : 'sha256';
  return (
    deriveScramKeys(alg, password, Buffer.from(keys.salt, 'base64'), keys.iterations).storedKey ===
    keys.storedKey
  );
}

describe('credentials', () => {
  let fx: CoreFixture;
  const password = 'Tr0ub4dor&3-papillon';
  before(async () => {
    fx = await coreFixture();
    await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'Alice@Localhost',
      password,
      displayName: 'Alice',
    });
  });
  after(() => fx.close());

  it('verifies the right password, case-insensitively on the handle', async () => {
    const account = await fx.core.credentials.verifyPassword('ALICE@localhost', password);
    assert.equal(account?.handle, 'alice@localhost');
  });

  it('refuses a wrong password and an unknown handle alike', async () => {
    assert.equal(await fx.core.credentials.verifyPassword('alice@localhost', 'nope'), undefined);
    assert.equal(await fx.core.credentials.verifyPassword('nobody@localhost', password), undefined);
  });

  it('stores no argon2 hash for a new account, only the SCRAM keys and the MD5 form', async () => {
    const account = await fx.core.store.getAccountByHandle('alice@localhost');
    const stored = await fx.core.store.getCredentials(account?.id ?? '');
    assert.equal(stored?.argon2, '');
    assert.ok(stored && keysOf(stored.scramSha1, password) && keysOf(stored.scramSha256, password));
    assert.equal(stored?.md5Digest, md5Hex(stored?.md5Salt + password));
  });

  it('checks a plaintext password against the SCRAM-SHA-256 keys', async () => {
    const account = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'dave@localhost',
      password: 'daves first password',
    });
    const stored = await fx.core.store.getCredentials(account.id);
    assert.ok(stored);
    // Only the SCRAM-SHA-256 keys change: they decide.
    await fx.core.store.setCredentials(account.id, {
      ...stored,
      scramSha256: deriveScramKeys('sha256', 'keys of another password'),
    });
    assert.equal(
      await fx.core.credentials.verifyPassword('dave@localhost', 'daves first password'),
      undefined,
    );
    assert.equal(
      (await fx.core.credentials.verifyPassword('dave@localhost', 'keys of another password'))?.id,
      account.id,
    );
    // RFC 5802 §3 Normalize(): NFKC, so the fullwidth form of the password is the same one.
    assert.ok(await fx.core.credentials.verifyPassword('dave@localhost', 'keys of another \uFF50assword'));
  });

  it('signs in an account with only an argon2 hash once with it, then keeps SCRAM keys and MD5, no argon2', async () => {
    const account = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'erin@localhost',
      password: 'erins old password',
    });
    // As an account imported from an older Papillon's export that carried only argon2.
    const argon2 = await argon2Hash('erins old password', ARGON2_OPTIONS);
    await fx.core.store.setCredentials(account.id, partialCredentials({ argon2 }));
    assert.equal(await fx.core.credentials.verifyPassword('erin@localhost', 'wrong'), undefined);
    assert.equal((await fx.core.store.getCredentials(account.id))?.argon2, argon2);

    assert.equal(
      (await fx.core.credentials.verifyPassword('erin@localhost', 'erins old password'))?.id,
      account.id,
    );
    const stored = await fx.core.store.getCredentials(account.id);
    assert.equal(stored?.argon2, '');
    assert.ok(stored && keysOf(stored.scramSha1, 'erins old password'));
    assert.ok(stored && keysOf(stored.scramSha256, 'erins old password'));
    const { salt } = await fx.core.credentials.md5Challenge('erin@localhost');
    assert.ok(await fx.core.credentials.verifyMd5('erin@localhost', md5Hex(`${salt}erins old password`)));
    // And the next check goes to the SCRAM keys.
    assert.ok(await fx.core.credentials.verifyPassword('erin@localhost', 'erins old password'));
    assert.equal(await fx.core.credentials.verifyPassword('erin@localhost', 'wrong'), undefined);
  });

  it('with legacyMd5Login off, the argon2 upgrade stores no MD5 form either', async () => {
    const credentials = new Credentials(fx.core.store, { legacyMd5Login: false });
    const account = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'frank@localhost',
      password: 'franks old password',
    });
    const argon2 = await argon2Hash('franks old password', ARGON2_OPTIONS);
    await fx.core.store.setCredentials(account.id, partialCredentials({ argon2 }));
    assert.ok(await credentials.verifyPassword('frank@localhost', 'franks old password'));
    const stored = await fx.core.store.getCredentials(account.id);
    assert.equal(stored?.argon2, '');
    assert.equal(stored?.md5Digest, '');
    assert.ok(stored && keysOf(stored.scramSha256, 'franks old password'));
  });

  it('stores no plaintext password anywhere in the database file', async () => {
    // Checkpointing happens on close; read the main file and the WAL.
    const bytes = Buffer.concat(
      ['', '-wal'].map((suffix) => {
        try {
          return readFileSync(fx.file + suffix);
        } catch {
          return Buffer.alloc(0);
        }
      }),
    );
    assert.equal(bytes.includes(Buffer.from(password)), false);
  });

  it('answers an MSNP2–7 MD5 login: MD5(salt + password) passes, anything else fails', async () => {
    const { salt } = await fx.core.credentials.md5Challenge('alice@localhost');
    assert.match(salt, /^\d{10}\.\d{9}$/);
    assert.equal(
      (await fx.core.credentials.verifyMd5('alice@localhost', md5Hex(salt + password)))?.handle,
      'alice@localhost',
    );
    assert.equal(await fx.core.credentials.verifyMd5('alice@localhost', md5Hex(`${salt}wrong`)), undefined);
    assert.equal(await fx.core.credentials.verifyMd5('alice@localhost', 'not hex at all'), undefined);
  });

  it('gives an unknown handle a stable, real-looking MD5 salt that never verifies', async () => {
    const a = await fx.core.credentials.md5Challenge('ghost@localhost');
    const b = await fx.core.credentials.md5Challenge('GHOST@localhost');
    assert.equal(a.salt, b.salt);
    assert.match(a.salt, /^\d{10}\.\d{9}$/);
    assert.equal(
      await fx.core.credentials.verifyMd5('ghost@localhost', md5Hex(a.salt + password)),
      undefined,
    );
  });

  for (const alg of ['sha1', 'sha256'] as const) {
    it(`SCRAM-${alg}: the stored keys accept a proof made from the password`, async () => {
      const { account, keys } = await fx.core.credentials.scramKeys('alice@localhost', alg);
      assert.equal(account?.handle, 'alice@localhost');
      // Play the client: derive ClientKey from the password and the salt we were sent.
      const client = deriveScramKeys(alg, password, Buffer.from(keys.salt, 'base64'), keys.iterations);
      assert.deepEqual(client, keys);
      const salted = saltedPassword(alg, password, Buffer.from(keys.salt, 'base64'), keys.iterations);
      const { createHmac, createHash } = await import('node:crypto');
      const clientKey = createHmac(alg, salted).update('Client Key').digest();
      const authMessage = 'n=alice,r=abc,r=abcdef,s=x,i=1,c=biws,r=abcdef';
      const signature = createHmac(alg, createHash(alg).update(clientKey).digest())
        .update(authMessage)
        .digest();
      const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] ?? 0))).toString('base64');
      assert.ok(verifyScramProof(alg, keys, authMessage, proof));
    });

    it(`SCRAM-${alg}: an unknown handle gets stable keys that look real`, async () => {
      const first = await fx.core.credentials.scramKeys('ghost@localhost', alg);
      const again = await fx.core.credentials.scramKeys('ghost@localhost', alg);
      const real = await fx.core.credentials.scramKeys('alice@localhost', alg);
      assert.equal(first.account, undefined);
      assert.deepEqual(first.keys, again.keys);
      assert.equal(first.keys.iterations, real.keys.iterations);
      assert.equal(
        Buffer.from(first.keys.salt, 'base64').length,
        Buffer.from(real.keys.salt, 'base64').length,
      );
      assert.equal(first.keys.storedKey.length, real.keys.storedKey.length);
    });
  }

  it('a password change replaces every stored form', async () => {
    await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'carol@localhost',
      password: 'first-password',
    });
    const before = await fx.core.credentials.md5Challenge('carol@localhost');
    await fx.core.accounts.changePassword('carol@localhost', 'second-password');
    assert.equal(await fx.core.credentials.verifyPassword('carol@localhost', 'first-password'), undefined);
    assert.ok(await fx.core.credentials.verifyPassword('carol@localhost', 'second-password'));
    const after = await fx.core.credentials.md5Challenge('carol@localhost');
    assert.notEqual(after.salt, before.salt);
    assert.ok(await fx.core.credentials.verifyMd5('carol@localhost', md5Hex(`${after.salt}second-password`)));
  });
});
