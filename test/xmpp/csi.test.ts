import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NS } from '../../src/xmpp/namespaces.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { is, RawXmppClient, targetOf, xml } from '../support/xmpp-raw.ts';

// XEP-0352: Ann's phone is in her pocket. Her contacts' comings and goings wait until she
// looks at it again (only the latest of each); messages reach her at once.

describe('XEP-0352 client state indication', () => {
  let server: TestServer;
  let phone: RawXmppClient;
  let bob: RawXmppClient;
  let cat: RawXmppClient;
  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const ids: Record<string, string> = {};
    for (const name of ['ann', 'bob', 'cat']) {
      ids[name] = (
        await core.accounts.create({
          privacy: 'allow-all',
          handle: `${name}@localhost`,
          password: `${name}-secret`,
          displayName: name,
        })
      ).id;
    }
    for (const other of ['bob', 'cat']) {
      await core.relationships.addForward(ids.ann ?? '', `${other}@localhost`);
      await core.relationships.addForward(ids[other] ?? '', 'ann@localhost');
    }
    const login = (username: string, resource: string) =>
      RawXmppClient.login(targetOf(server), { username, password: `${username}-secret`, resource });
    phone = await login('ann', 'phone');
    bob = await login('bob', 'pc');
    cat = await login('cat', 'pc');
    await phone.presence();
    await bob.presence();
    await cat.presence();
    await phone.expect(is.presence((p) => p.attrs.from === 'bob@localhost/pc'));
    await phone.expect(is.presence((p) => p.attrs.from === 'cat@localhost/pc'));
    // RFC 6121 §4.2.2: its own presence comes back to it too.
    await phone.expect(is.presence((p) => p.attrs.from === 'ann@localhost/phone'));
  });
  after(async () => {
    for (const c of [phone, bob, cat]) c.destroy();
    await server.stop();
  });

  it('holds presence updates while inactive (the latest of each contact), delivers messages at once', async () => {
    await phone.send(xml('inactive', { xmlns: NS.csi }));
    await bob.presence({}, xml('show', {}, 'away'));
    await bob.presence({}, xml('show', {}, 'dnd'), xml('status', {}, 'in a meeting'));
    await cat.presence({ type: 'unavailable' });
    assert.ok(await phone.expectNone(is.presence(), 400), 'no presence reaches an inactive client');

    // A message is something the user waits for.
    await bob.send(xml('message', { to: 'ann@localhost', type: 'chat' }, xml('body', {}, 'Call me')));
    await phone.expect(is.body('Call me'), 1000);
    // Active again: one presence per contact, the latest.
    await phone.send(xml('active', { xmlns: NS.csi }));
    const fromBob = await phone.expect(is.presence((p) => p.attrs.from === 'bob@localhost/pc'));
    assert.equal(fromBob.getChildText('show'), 'dnd');
    assert.equal(fromBob.getChildText('status'), 'in a meeting');
    const fromCat = await phone.expect(is.presence((p) => p.attrs.from === 'cat@localhost/pc'));
    assert.equal(fromCat.attrs.type, 'unavailable');
    assert.ok(await phone.expectNone(is.presence(), 300), 'nothing older follows');

    // Active: presence flows at once again.
    await bob.presence();
    const online = await phone.expect(
      is.presence((p) => p.attrs.from === 'bob@localhost/pc'),
      1000,
    );
    assert.equal(online.getChild('show'), undefined);
  });
});
