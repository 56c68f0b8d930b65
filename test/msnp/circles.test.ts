import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { abSoap, FIND_PAGED } from '../support/abch-client.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { expectWhere, goOnline, signInEmptyList } from '../support/msnp13.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';

const PASSWORD = 'pw-pw-pw-pw';

/** The `<CircleTicket>` of an ABFindContactsPaged answer, XML-unescaped, as `USR SHA A` sends it. */
function circleTicketOf(raw: string): string {
  return (/<CircleTicket>([^<]*)<\/CircleTicket>/.exec(raw)?.[1] ?? '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

/**
 * Circles (MSNP18) end to end: CreateCircle, an invitation (CreateContact on the
 * circle's book) and its acceptance (ManageWLConnection), the CircleTicket in
 * ABFindContactsPaged, `USR SHA A`, the circle ADL, `PUT` and `SDG` to every member.
 */
describe('MSNP18 circles', () => {
  let server: TestServer;
  const tickets = new Map<string, string>();
  const open: MsnpTestClient[] = [];

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    for (const name of ['ann', 'bob', 'eve']) {
      const row = await core.accounts.create({
        privacy: 'allow-all',
        handle: `${name}@localhost`,
        password: PASSWORD,
        displayName: name,
      });
      const { t, p } = await core.tickets.issueService(row.id);
      tickets.set(name, `t=${t}&p=${p}`);
    }
  });
  after(async () => {
    for (const c of open) await c.close();
    await server.stop();
  });

  const ticket = (name: string): string => tickets.get(name) ?? '';

  async function book(name: string) {
    const res = await abSoap(server, 'abservice.asmx', 'ABFindContactsPaged', ticket(name), FIND_PAGED);
    assert.equal(res.status, 200, res.raw);
    return res;
  }

  /** Signs in on MSNP18, goes online, authenticates to circles and signs in to `circleId`. */
  async function join(name: string, circleId: string, guid: string): Promise<MsnpTestClient> {
    const ns = await signInEmptyList(server, {
      version: 18,
      handle: `${name}@localhost`,
      password: PASSWORD,
      machineGuid: guid,
    });
    open.push(ns);
    await goOnline(ns, 18);
    const res = await book(name);
    ns.send(`USR ${ns.trid()} SHA A ${Buffer.from(circleTicketOf(res.raw)).toString('base64')}`);
    const usr = await ns.expect('USR');
    assert.deepEqual(usr.args.slice(1), ['OK', `${name}@localhost`, '0', '0']);
    const [local] = circleId.split('@');
    ns.sendPayload('ADL', [ns.trid()], `<ml><d n="live.com"><c n="${local}" l="1" t="9"/></d></ml>`);
    const adl = await ns.expect('ADL');
    assert.equal(adl.args[1], 'OK');
    const self = await expectWhere(ns, 'NLN', (c) => c.args[1] === `1:${name}@localhost;via=9:${circleId}`);
    assert.equal(self.args[3], '0:0', 'the circle itself comes online with caps 0:0');
    const put = `<circle><roster><id>IM</id><user><id>1:${name}@localhost</id></user></roster></circle>`;
    ns.sendPayload(
      'PUT',
      [ns.trid()],
      `Routing: 1.0\r\nTo: 9:${circleId}\r\nFrom: 1:${name}@localhost;epid=${guid}\r\n\r\nReliability: 1.0\r\nStream: 0\r\nSegment: 0\r\n\r\nPublication: 1.0\r\nUri: /circle\r\nContent-Type: application/circles+xml\r\nContent-Length: ${put.length}\r\n\r\n${put}`,
    );
    const ok = await ns.expect('PUT');
    assert.deepEqual(ok.args.slice(1), ['OK', '0']);
    return ns;
  }

  let circleId = '';

  it('creates a circle, invites a contact who accepts, and both see it in their address book', async () => {
    const created = await abSoap(
      server,
      'SharingService.asmx',
      'CreateCircle',
      ticket('ann'),
      '<properties><Domain>1</Domain><HostedDomain>live.com</HostedDomain><Type>2</Type><MembershipAccess>0</MembershipAccess><IsPresenceEnabled>true</IsPresenceEnabled><RequestMembershipOption>2</RequestMembershipOption><DisplayName>Book Club</DisplayName></properties><callerInfo><PublicDisplayName>ann</PublicDisplayName></callerInfo>',
      { scenario: 'CircleSave' },
    );
    assert.equal(created.status, 200, created.raw);
    const id = /<Id>(00000000-0000-0000-0009-[0-9a-f]{12})<\/Id>/.exec(created.raw)?.[1];
    assert.ok(id, created.raw);
    circleId = `${id}@live.com`;

    const invite = await abSoap(
      server,
      'abservice.asmx',
      'CreateContact',
      ticket('ann'),
      `<abHandle><ABId>${id}</ABId><Puid>0</Puid><Cid>0</Cid></abHandle><contactHandle><Email>bob@localhost</Email><Puid>0</Puid><Cid>0</Cid><CircleId>00000000-0000-0000-0000-000000000000</CircleId></contactHandle>`,
      { scenario: 'CircleInvite' },
    );
    assert.equal(invite.status, 200, invite.raw);

    const pending = await book('bob');
    assert.match(pending.raw, /<Role>StatePendingOutbound<\/Role><State>WaitingResponse<\/State>/);
    assert.match(pending.raw, /<contactType>Circle<\/contactType>/);

    const accept = await abSoap(
      server,
      'abservice.asmx',
      'ManageWLConnection',
      ticket('bob'),
      `<contactId>${id}</contactId><connection>true</connection><presence>false</presence><action>1</action><relationshipType>5</relationshipType><relationshipRole>0</relationshipRole>`,
      { scenario: 'CircleStatus' },
    );
    assert.equal(accept.status, 200, accept.raw);
    const bobBook = await book('bob');
    assert.match(bobBook.raw, /<Role>Member<\/Role><State>Accepted<\/State>/);
    assert.match(bobBook.raw, /<CircleTicket>&lt;\?xml/);
    const annBook = await book('ann');
    assert.match(annBook.raw, /<Role>Admin<\/Role><State>Accepted<\/State>/);

    const members = await abSoap(
      server,
      'abservice.asmx',
      'ABFindContactsPaged',
      ticket('bob'),
      `<abView>Full</abView><extendedContent>AB</extendedContent><abHandle><ABId>${id}</ABId><Puid>0</Puid><Cid>0</Cid></abHandle>`,
    );
    assert.equal(members.status, 200, members.raw);
    assert.match(members.raw, /<passportName>ann@localhost<\/passportName>/);
    assert.match(members.raw, /<AddressBookType>Group<\/AddressBookType>/);
  });

  it('members signed in to the circle (after new sessions) get each other’s messages', async () => {
    const ann = await join('ann', circleId, '{aaaaaaaa-0000-0000-0000-000000000001}');
    const bob = await join('bob', circleId, '{bbbbbbbb-0000-0000-0000-000000000001}');
    // Ann hears Bob join the conversation.
    const nfy = await expectWhere(
      ann,
      'NFY',
      (c) => c.args[0] === 'PUT' && (c.payload?.toString() ?? '').includes('1:bob@localhost'),
    );
    assert.match(nfy.payload?.toString() ?? '', /<user><id>1:bob@localhost<\/id><\/user>/);

    const body = 'hello circle';
    bob.sendPayload(
      'SDG',
      [bob.trid()],
      `Routing: 1.0\r\nTo: 9:${circleId};path=IM\r\nFrom: 1:bob@localhost;epid={bbbbbbbb-0000-0000-0000-000000000001}\r\n\r\nReliability: 1.0\r\nStream: 0\r\nSegment: 1\r\n\r\nMessaging: 1.0\r\nContent-Length: ${body.length}\r\nContent-Type: Text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\nMessage-Type: Text\r\nMIME-Version: 1.0\r\nX-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0\r\n\r\n${body}`,
    );
    const sdg = await ann.expect('SDG');
    const payload = sdg.payload?.toString() ?? '';
    assert.match(payload, new RegExp(`To: 9:${circleId};path=IM`));
    assert.match(payload, /From: 1:bob@localhost/);
    assert.match(payload, /Message-Type: Text/);
    assert.ok(payload.endsWith(body));

    // Bob signs out: Ann's roster of the circle's conversation loses him.
    await bob.close();
    const left = await expectWhere(ann, 'NFY', (c) => c.args[0] === 'DEL');
    assert.match(left.payload?.toString() ?? '', /Uri: \/circle\/roster\(IM\)\/user\(1:bob@localhost\)/);
  });

  it('refuses a non-member: no circle sign-in, no messages', async () => {
    const eve = await signInEmptyList(server, {
      version: 18,
      handle: 'eve@localhost',
      password: PASSWORD,
      machineGuid: '{eeeeeeee-0000-0000-0000-000000000001}',
    });
    open.push(eve);
    const res = await book('eve');
    assert.doesNotMatch(res.raw, new RegExp(circleId.split('@')[0] ?? 'x'));
    eve.send(`USR ${eve.trid()} SHA A ${Buffer.from(circleTicketOf(res.raw)).toString('base64')}`);
    assert.equal((await eve.expect('USR')).args[1], 'OK');
    const [local] = circleId.split('@');
    eve.sendPayload('ADL', [eve.trid()], `<ml><d n="live.com"><c n="${local}" l="1" t="9"/></d></ml>`);
    assert.equal((await eve.expect('933')).name, '933');
    eve.sendPayload(
      'SDG',
      [eve.trid()],
      `Routing: 1.0\r\nTo: 9:${circleId};path=IM\r\nFrom: 1:eve@localhost\r\n\r\nReliability: 1.0\r\n\r\nMessaging: 1.0\r\nContent-Length: 2\r\nMessage-Type: Text\r\n\r\nhi`,
    );
    assert.equal((await eve.expect('933')).name, '933');
  });
});
