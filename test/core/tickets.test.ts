import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  hashToken,
  LOGIN_TICKET_LIFETIME_MS,
  LoginTickets,
  MSNP_LOGIN_PURPOSE,
  parseTicket,
} from '../../src/core/tickets.ts';
import type { AccountRow } from '../../src/store/types.ts';
import { type CoreFixture, coreFixture } from '../support/core-fixture.ts';

describe('login tickets', () => {
  let fx: CoreFixture;
  let alice: AccountRow;
  before(async () => {
    fx = await coreFixture();
    alice = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'alice@localhost',
      password: 'correct horse 1',
    });
  });
  after(() => fx.close());

  it('issues a long random token free of the characters clients split on', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i += 1) {
      const { t, p } = await fx.core.tickets.issue(alice.id);
      assert.match(t, /^[A-Za-z0-9_-]{43}$/, 'base64url of 32 bytes');
      assert.doesNotMatch(t, /[,&'=]/);
      assert.equal(p, '');
      seen.add(t);
    }
    assert.equal(seen.size, 50);
  });

  it('issues service tokens that web services accept repeatedly, and never as a login', async () => {
    const service = await fx.core.tickets.issueService(alice.id);
    const ticket = `t=${service.t}&p=${service.p}`;
    assert.equal((await fx.core.tickets.verifyService(ticket))?.id, alice.id);
    assert.equal((await fx.core.tickets.verifyService(ticket))?.id, alice.id, 'reusable');
    assert.equal(await fx.core.tickets.redeem(ticket), undefined, 'not a login ticket');
    const login = await fx.core.tickets.issue(alice.id);
    assert.equal(await fx.core.tickets.verifyService(`t=${login.t}&p=`), undefined, 'not a service token');
    assert.equal(await fx.core.tickets.verifyService('t=nonsense'), undefined);
  });

  it('keeps an SSO proof key with the ticket until the ticket is redeemed', async () => {
    const issued = await fx.core.tickets.issue(alice.id, { withProofKey: true });
    assert.equal(Buffer.from(issued.proofKey ?? '', 'base64').length, 24);
    const ticket = `t=${issued.t}&p=`;
    assert.deepEqual(await fx.core.tickets.find(ticket), { accountId: alice.id, proofKey: issued.proofKey });
    assert.equal((await fx.core.tickets.redeem(ticket))?.id, alice.id);
    assert.equal(await fx.core.tickets.find(ticket), undefined, 'used');
    assert.equal((await fx.core.tickets.issue(alice.id)).proofKey, undefined);
  });

  it('redeems `t=…&p=…` once, for the right account', async () => {
    const { t, p } = await fx.core.tickets.issue(alice.id);
    const account = await fx.core.tickets.redeem(`t=${t}&p=${p}`);
    assert.equal(account?.id, alice.id);
    assert.equal(account?.handle, 'alice@localhost');
    assert.equal(await fx.core.tickets.redeem(`t=${t}&p=${p}`), undefined);
  });

  it('tolerates the XML-escaped `&amp;` form and surrounding whitespace', async () => {
    const first = await fx.core.tickets.issue(alice.id);
    assert.equal((await fx.core.tickets.redeem(`  t=${first.t}&amp;p=\r\n`))?.id, alice.id);
    const second = await fx.core.tickets.issue(alice.id);
    assert.equal((await fx.core.tickets.redeem(`\tt=${second.t}&p=anything `))?.id, alice.id);
  });

  it('lets only one of concurrent redemptions through', async () => {
    const { t } = await fx.core.tickets.issue(alice.id);
    const results = await Promise.all(Array.from({ length: 8 }, () => fx.core.tickets.redeem(`t=${t}&p=`)));
    assert.equal(results.filter((r) => r !== undefined).length, 1);
  });

  it('refuses garbage, unknown tokens, and a token without its `t=`', async () => {
    const { t } = await fx.core.tickets.issue(alice.id);
    for (const bad of ['', '   ', 't=', 'p=&t=', `t=${'A'.repeat(43)}&p=`, 't=a,b&p=', `x=${t}`, 'garbage']) {
      assert.equal(await fx.core.tickets.redeem(bad), undefined, JSON.stringify(bad));
    }
    // Still unused after all that.
    assert.equal((await fx.core.tickets.redeem(`t=${t}&p=`))?.id, alice.id);
  });

  it('expires after its lifetime', async () => {
    let now = 1_800_000_000_000;
    const tickets = new LoginTickets(fx.core.store, () => now);
    const early = await tickets.issue(alice.id);
    const late = await tickets.issue(alice.id);
    assert.equal(early.expiresAt - early.issuedAt, LOGIN_TICKET_LIFETIME_MS);
    now += LOGIN_TICKET_LIFETIME_MS - 1;
    assert.equal((await tickets.redeem(`t=${early.t}&p=`))?.id, alice.id);
    now += 1;
    assert.equal(await tickets.redeem(`t=${late.t}&p=`), undefined);
  });

  it('stores only the hash of the token', async () => {
    const { t } = await fx.core.tickets.issue(alice.id);
    // The ticket is redeemable by its hash, and the token itself is not in the file.
    const bytes = Buffer.concat(
      ['', '-wal'].map((suffix) => {
        try {
          return readFileSync(fx.file + suffix);
        } catch {
          return Buffer.alloc(0);
        }
      }),
    );
    assert.equal(bytes.includes(Buffer.from(t)), false);
    assert.equal(bytes.includes(Buffer.from(hashToken(t))), true);
    assert.equal(await fx.core.store.redeemTicket(hashToken(t), MSNP_LOGIN_PURPOSE, Date.now()), alice.id);
  });

  it('dies with the account', async () => {
    const bob = await fx.core.accounts.create({
      privacy: 'allow-all',
      handle: 'bob@localhost',
      password: 'correct horse 2',
    });
    const { t } = await fx.core.tickets.issue(bob.id);
    await fx.core.store.deleteAccount(bob.id);
    assert.equal(await fx.core.tickets.redeem(`t=${t}&p=`), undefined);
  });

  it('parses the `t` part', () => {
    assert.equal(parseTicket('t=abcdefghijklmnop1234&p='), 'abcdefghijklmnop1234');
    assert.equal(parseTicket('p=x&amp;t=abcdefghijklmnop1234'), 'abcdefghijklmnop1234');
    assert.equal(parseTicket('T=abcdefghijklmnop1234'), 'abcdefghijklmnop1234');
    assert.equal(parseTicket('t=short&p='), undefined);
    assert.equal(parseTicket('t=abcdefghijklmnop12$4&p='), undefined);
  });
});
