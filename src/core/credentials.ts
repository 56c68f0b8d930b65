import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { type Algorithm, verify as argon2Verify } from '@node-rs/argon2';
import type { AccountRow, PasswordCredentials, ScramKeys, Store } from '../store/types.ts';
import { normalizeHandle } from '../util/handle.ts';
import { verifyLegacyHash } from './legacy-hash.ts';
import {
  deriveScramKeysAsync,
  SCRAM_ITERATIONS,
  type ScramAlgorithm,
  scramPasswordMatches,
} from './scram.ts';

/**
 * argon2id with 19 MiB of memory, 2 passes, 1 lane (the OWASP Password Storage Cheat
 * Sheet's first setting): what earlier versions stored for every password. Papillon
 * no longer stores argon2 (see `Credentials`); a hash kept from then (an account
 * imported from an older export) is checked once and replaced. The bench compares
 * its cost with today's plaintext check (`npm run bench -- credentials`).
 */
export const ARGON2_OPTIONS = {
  algorithm: 2 satisfies Algorithm.Argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export interface CredentialsOptions {
  /**
   * Keep the MSNP2–7 MD5 form and accept MD5 logins (config `legacyMd5Login`, default
   * true). Off: new passwords get no MD5 form and `verifyMd5` accepts nothing.
   */
  legacyMd5Login?: boolean;
}

/** Everything a login needs to start an MSNP2–7 MD5 or a SCRAM exchange. */
export interface Md5Challenge {
  salt: string;
}

/**
 * Turns passwords into the stored forms each protocol needs and checks them.
 *
 * No argon2 hash is stored: whoever steals the database attacks the weakest form kept,
 * and the SCRAM keys XMPP needs (PBKDF2, 10,000 iterations) or the MSNP2–7 MD5 form are
 * far cheaper to guess against than argon2, so an argon2 hash beside them protects
 * nothing and costs ~12 ms of CPU per sign-in. A plaintext password is checked against
 * the SCRAM-SHA-256 keys instead (~2 ms, on the thread pool).
 *
 * Every check costs the same whether or not the handle exists, and the
 * challenge data (MD5 salt, SCRAM salt and iteration count) handed out for an
 * unknown handle is derived from a server secret, so it is stable across attempts
 * and indistinguishable from a real account's.
 */
export class Credentials {
  /** MSNP2–7 MD5 logins are accepted and their form kept (see `CredentialsOptions`). */
  readonly legacyMd5Login: boolean;
  private secret: Promise<Buffer> | undefined;

  constructor(
    private readonly store: Store,
    options: CredentialsOptions = {},
  ) {
    this.legacyMd5Login = options.legacyMd5Login ?? true;
  }

  /**
   * The stored forms of `password`: both SCRAM key sets and, with `legacyMd5Login`,
   * the salted MSNP2–7 digest (else an empty digest: no form). No argon2 hash (an
   * empty `argon2`: no form).
   */
  async forPassword(password: string): Promise<PasswordCredentials> {
    const [scramSha1, scramSha256] = await Promise.all([
      deriveScramKeysAsync('sha1', password),
      deriveScramKeysAsync('sha256', password),
    ]);
    return { argon2: '', scramSha1, scramSha256, ...this.md5Form(password) };
  }

  /** MD5(salt + password) with a fresh salt, or no digest when MD5 logins are off. */
  private md5Form(password: string): Pick<PasswordCredentials, 'md5Salt' | 'md5Digest'> {
    const md5Salt = newMd5Salt();
    return { md5Salt, md5Digest: this.legacyMd5Login ? md5Hex(md5Salt + password) : '' };
  }

  /**
   * With `legacyMd5Login` off: forgets every stored MD5 form (kept from before it was
   * turned off, or imported), so a stolen database holds none. Returns how many.
   */
  async dropMd5Forms(): Promise<number> {
    return this.legacyMd5Login ? 0 : this.store.clearMd5Digests();
  }

  /**
   * Checks a plaintext password (Passport/TWN, RST, SASL PLAIN, web sign-in) against
   * the account's SCRAM-SHA-256 keys: StoredKey recomputed from the password with the
   * stored salt and iteration count (RFC 5802 §3). Returns the account, or undefined
   * for a wrong password or an unknown handle — after the same PBKDF2 work in both
   * cases (an unknown handle is checked against the keys `scramKeys` hands out for it).
   * An account still holding an imported hash (legacy, or argon2 from an older
   * export) is checked against that once, as `verifyLegacy` does.
   */
  async verifyPassword(handle: string, password: string): Promise<AccountRow | undefined> {
    const normalized = normalizeHandle(handle);
    const account = await this.store.getAccountByHandle(normalized);
    const stored = account ? await this.store.getCredentials(account.id) : undefined;
    if (account && stored?.legacyHash) return this.verifyLegacy(account, stored.legacyHash, password);
    if (account && stored?.argon2) return this.verifyArgon2(account, stored.argon2, password);
    const keys = stored?.scramSha256 ?? (await this.unknownScramKeys(normalized, 'sha256'));
    let ok = false;
    try {
      ok = await scramPasswordMatches('sha256', keys, password);
    } catch {
      ok = false; // Stored keys no password can match (e.g. an invalid iteration count).
    }
    if (!ok || !account || !stored) return undefined;
    // MD5 logins turned back on: an account whose form was dropped gets it again from
    // the first password that proves itself (MSN 1.0–4.7 only ever send the digest).
    if (this.legacyMd5Login && stored.md5Digest === '') {
      await this.store.setCredentials(account.id, { ...stored, ...this.md5Form(password) });
    }
    return account;
  }

  /**
   * An account imported with another server's hash (core/legacy-hash.ts): a right
   * password stores Papillon's forms, which drops the imported hash, so it is
   * checked at most until the user's first successful sign-in.
   */
  private async verifyLegacy(
    account: AccountRow,
    legacyHash: string,
    password: string,
  ): Promise<AccountRow | undefined> {
    if (!(await verifyLegacyHash(password, legacyHash))) return undefined;
    await this.store.setCredentials(account.id, await this.forPassword(password));
    return account;
  }

  /**
   * An account with an argon2 hash from an earlier version (imported from an older
   * Papillon export without SCRAM-SHA-256 keys; migration 0020 emptied it wherever
   * those keys were stored): a right password stores today's forms, with no argon2,
   * so argon2 runs at most once per such account.
   */
  private async verifyArgon2(
    account: AccountRow,
    hashed: string,
    password: string,
  ): Promise<AccountRow | undefined> {
    let ok = false;
    try {
      ok = await argon2Verify(hashed, password);
    } catch {
      ok = false;
    }
    if (!ok) return undefined;
    await this.store.setCredentials(account.id, await this.forPassword(password));
    return account;
  }

  /** The salt to send in MSNP2–7 `USR … MD5 S <salt>`. */
  async md5Challenge(handle: string): Promise<Md5Challenge> {
    const account = await this.store.getAccountByHandle(normalizeHandle(handle));
    const stored = account ? await this.store.getCredentials(account.id) : undefined;
    if (stored) return { salt: stored.md5Salt };
    return { salt: await this.fakeMd5Salt(normalizeHandle(handle)) };
  }

  /**
   * Checks the client's MD5(salt + password) answer; undefined when wrong or unknown,
   * when the account keeps no MD5 form, and always with `legacyMd5Login` off.
   */
  async verifyMd5(handle: string, responseHex: string): Promise<AccountRow | undefined> {
    if (!this.legacyMd5Login) return undefined;
    const account = await this.store.getAccountByHandle(normalizeHandle(handle));
    const stored = account ? await this.store.getCredentials(account.id) : undefined;
    const digest = stored?.md5Digest || md5Hex(randomBytes(16).toString('hex'));
    const expected = Buffer.from(digest, 'hex');
    const given = Buffer.from(/^[0-9a-f]{32}$/i.test(responseHex) ? responseHex : '', 'hex');
    // Both 16 bytes: an empty answer must never equal an empty (dropped) form.
    const ok = expected.length === 16 && given.length === 16 && timingSafeEqual(given, expected);
    return ok && account && stored?.md5Digest ? account : undefined;
  }

  /**
   * The SCRAM keys for a handle. For an unknown handle, keys derived from the server
   * secret: the exchange proceeds normally and fails at the proof, as for a wrong
   * password (RFC 5802 §5.1 "e=unknown-user" is deliberately not used).
   */
  async scramKeys(
    handle: string,
    alg: ScramAlgorithm,
  ): Promise<{ account: AccountRow | undefined; keys: ScramKeys }> {
    const normalized = normalizeHandle(handle);
    const account = await this.store.getAccountByHandle(normalized);
    const stored = account ? await this.store.getCredentials(account.id) : undefined;
    if (account && stored) return { account, keys: alg === 'sha1' ? stored.scramSha1 : stored.scramSha256 };
    return { account: undefined, keys: await this.unknownScramKeys(normalized, alg) };
  }

  /** Stable keys for a handle with no account, derived from the server secret. */
  private async unknownScramKeys(normalized: string, alg: ScramAlgorithm): Promise<ScramKeys> {
    const secret = await this.serverSecret();
    const fake = (label: string, length: number) =>
      createHmac('sha256', secret).update(`${label}:${alg}:${normalized}`).digest().subarray(0, length);
    return {
      salt: fake('scram-salt', 16).toString('base64'),
      iterations: SCRAM_ITERATIONS,
      storedKey: fake('scram-stored', alg === 'sha1' ? 20 : 32).toString('base64'),
      serverKey: fake('scram-server', alg === 'sha1' ? 20 : 32).toString('base64'),
    };
  }

  private serverSecret(): Promise<Buffer> {
    this.secret ??= this.store
      .getOrCreateSetting('credential-secret', () => randomBytes(32).toString('base64'))
      .then((value) => Buffer.from(value, 'base64'));
    return this.secret;
  }

  private async fakeMd5Salt(handle: string): Promise<string> {
    const digest = createHmac('sha256', await this.serverSecret())
      .update(`md5-salt:${handle}`)
      .digest();
    return md5SaltFromBytes(digest.readUInt32BE(0), digest.readUInt32BE(4));
  }
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/**
 * COMPAT: MSN Messenger 1.x–4.x expect the MD5 salt in the form the real service sent,
 * "<10 digits>.<digits>" (e.g. "1013928519.693957190", draft-movva-msn-messenger-protocol
 * §7.3), so ours has that shape.
 */
function newMd5Salt(): string {
  return md5SaltFromBytes(randomInt(0, 2 ** 32), randomInt(0, 2 ** 32));
}

function md5SaltFromBytes(a: number, b: number): string {
  return `${1_000_000_000 + (a % 1_000_000_000)}.${(b % 1_000_000_000).toString().padStart(9, '0')}`;
}
