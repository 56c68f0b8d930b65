/**
 * Issue 14 follow-up: at sign-in (XMPP initial presence, RFC 6121 §4.2.2; the MSNP
 * ILN burst after the first CHG) the server reads every contact's endpoints in one bus
 * call, not one per contact: on the Redis bus each call is a round trip, so 20
 * contacts were 20 sequential round trips before the user saw any of them. The bus is
 * wrapped to count the reads that name a contact; what the user sees stays the same
 * (the contacts it is subscribed to, not the one it blocks, nor those it may not see).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalBus } from '../../src/bus/local.ts';
import type { Bus } from '../../src/bus/types.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import { goOnline } from '../support/msnp13.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, xml } from '../support/xmpp-client.ts';

const CONTACTS = 20;
const PASSWORD = 'uma-secret-pw';

describe('contacts’ presence at sign-in: one bus read for the whole list', () => {
  let server: TestServer;
  /** Every endpoint read of the bus, as the account ids it named. */
  const reads: string[][] = [];
  const local = new LocalBus();
  const bus = Object.create(local, {
    listEndpoints: {
      value: (accountId: string) => {
        reads.push([accountId]);
        return local.listEndpoints(accountId);
      },
    },
    listEndpointsOf: {
      value: (accountIds: readonly string[]) => {
        reads.push([...accountIds]);
        return local.listEndpointsOf(accountIds);
      },
    },
  }) as Bus;
  const contactIds = new Set<string>();
  /** The handles shown online, with their XMPP <show/> ('' for available). */
  const expected = new Map<string, string>();
  const contactReads = () => reads.filter((ids) => ids.some((id) => contactIds.has(id)));

  before(async () => {
    server = await startTestServer({}, { bus });
    const core = server.server.core;
    const uma = await core.accounts.create({ handle: 'uma@localhost', password: PASSWORD });
    const online = async (name: string, away: boolean) => {
      const contact = await core.accounts.create({ handle: `${name}@localhost`, password: 'pw-pw-pw-pw' });
      contactIds.add(contact.id);
      await core.presence.set(contact.id, 'xmpp:home', {
        status: away ? 'away' : 'online',
        capabilities: { xmppResource: 'home' },
      });
      return contact;
    };
    for (let i = 0; i < CONTACTS; i++) {
      const name = `c${String(i).padStart(2, '0')}`;
      const contact = await online(name, i % 3 === 0);
      // Subscribed: on uma's forward list, and the contact lets uma see it.
      await core.relationships.addForward(uma.id, contact.handle);
      await core.relationships.allow(contact.id, uma.handle);
      expected.set(contact.handle, i % 3 === 0 ? 'away' : '');
    }
    // Blocked by uma (XEP-0191 §3.3 / MSN BL): not shown.
    const blocked = await online('blocked', false);
    await core.relationships.addForward(uma.id, blocked.handle);
    await core.relationships.allow(blocked.id, uma.handle);
    await core.relationships.block(uma.id, blocked.handle);
    // Not on uma's forward list (RFC 6121 §4.2.2: no subscription): not shown.
    const stranger = await online('stranger', false);
    await core.relationships.allow(stranger.id, uma.handle);
    await core.relationships.allow(uma.id, stranger.handle);
    // On uma's list but lets only its allow list see it, and uma is not on it: not shown.
    const shy = await online('shy', false);
    await core.relationships.setPrivacy(shy.id, 'allow-list');
    await core.relationships.addForward(uma.id, shy.handle);
  });
  after(async () => {
    await server.stop();
  });

  it('XMPP initial presence: every subscribed contact’s presence, from one read', async () => {
    const uma = await connectXmpp(server, { username: 'uma', password: PASSWORD, resource: 'pc' });
    try {
      const fromContact = (el: ReturnType<typeof xml>) =>
        el.is('presence') && el.attrs.from !== undefined && !el.attrs.from.startsWith('uma@');
      reads.length = 0;
      await uma.xmpp.send(xml('presence'));
      // The burst is sent before the session handles the next stanza.
      await uma.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
      const shown = new Map(
        uma.stanzas
          .filter(fromContact)
          .map((el) => [String(el.attrs.from).split('/')[0], el.getChildText('show') ?? ''] as const),
      );
      assert.deepEqual(
        [...shown].sort(),
        [...expected].sort(),
        'the subscribed contacts, with their show; not the blocked, the stranger or the shy one',
      );
      assert.ok(
        uma.stanzas.filter(fromContact).every((el) => el.attrs.from?.endsWith('/home')),
        'from the contacts’ resource',
      );
      const read = contactReads();
      assert.equal(read.length, 1, `reads of contacts' endpoints: ${read.length}`);
    } finally {
      await uma.stop();
    }
  });

  it('MSNP sign-in: the ILN burst of every visible contact, from one read', async () => {
    const client = await msnpSignIn(server, { version: 13, handle: 'uma@localhost', password: PASSWORD });
    try {
      client.sendPayload('ADL', [client.trid()], '<ml l="1"></ml>');
      await client.expect('ADL');
      reads.length = 0;
      const burst = await goOnline(client, 13);
      const iln = new Map(burst.filter((c) => c.name === 'ILN').map((c) => [c.args[2], c.args[1]] as const));
      // MSN's block list hides uma from the contact, not the contact from uma (XMPP's
      // XEP-0191 hides both ways): the blocked contact is in the burst, as before.
      assert.deepEqual(
        [...iln].sort(),
        [
          ...[...expected].map(([handle, show]) => [handle, show === 'away' ? 'AWY' : 'NLN']),
          ['blocked@localhost', 'NLN'],
        ].sort(),
      );
      const read = contactReads();
      assert.equal(read.length, 1, `reads of contacts' endpoints: ${read.length}`);
    } finally {
      await client.close();
    }
  });
});
