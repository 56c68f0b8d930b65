import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cidOf } from '../../src/msnp/cid.ts';
import {
  AB_NS as AB,
  annotation,
  FIND_MEMBERSHIP,
  FIND_PAGED,
  member,
  memberById,
  memberships,
  roles,
  abSoap as soap,
  type Xml,
} from '../support/abch-client.ts';
import type { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import { httpsRequest, startTestServer, type TestServer } from '../support/papillon-server.ts';
import { sync } from '../transcripts/msnp-session.ts';

/**
 * The address book (ABCH) and contact sharing services over HTTPS, as Pidgin's MSNP18
 * plugin (msn/contact.h templates) and Windows Live Messenger call them, against the
 * same relationships MSNP12 clients see.
 */

describe('address book and sharing services (ABCH)', () => {
  let server: TestServer;
  const password = 'address-book-secret';
  let n = 0;
  const account = async (name: string) => {
    n++;
    const handle = `${name}${n}@localhost`;
    const row = await server.server.core.accounts.create({
      privacy: 'allow-all',
      handle,
      password,
      displayName: `${name} ${n}`,
    });
    const { t, p } = await server.server.core.tickets.issueService(row.id);
    return { handle, id: row.id, ticket: `t=${t}&p=${p}` };
  };
  const signIn = (version: number, handle: string) => msnpSignIn(server, { version, handle, password });
  const send = async (client: MsnpTestClient, line: (trid: number) => string, reply: string) => {
    client.send(line(client.trid()));
    return client.expect(reply);
  };

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('shows the contacts, groups and roles an MSNP12 client made, with stable ids', async () => {
    const [alice, bob, carol, dave] = [
      await account('alice'),
      await account('bob'),
      await account('carol'),
      await account('dave'),
    ];
    const a = await signIn(12, alice.handle);
    await sync(12, a);
    const adg = await send(a, (t) => `ADG ${t} Friends`, 'ADG');
    const groupId = adg.args[2] ?? '';
    await send(a, (t) => `ADC ${t} FL N=${bob.handle} F=Bob`, 'ADC');
    await send(a, (t) => `ADC ${t} AL N=${bob.handle}`, 'ADC');
    await send(a, (t) => `ADC ${t} FL C=${bob.id} ${groupId}`, 'ADC');
    await send(a, (t) => `ADC ${t} BL N=${dave.handle}`, 'ADC');
    await a.close();
    // Carol added Alice: Reverse and Pending.
    await server.server.core.relationships.addForward(carol.id, alice.handle);

    const paged = await soap(server, 'abservice.asmx', 'ABFindContactsPaged', alice.ticket, FIND_PAGED);
    assert.equal(paged.status, 200);
    // COMPAT: Pidgin reads the header name case-sensitively.
    assert.match(paged.raw, /<ServiceHeader xmlns="http:\/\/www.msn.com\/webservices\/AddressBook">/);
    const result = paged.body.ABFindContactsPagedResponse.ABFindContactsPagedResult;
    assert.deepEqual(
      result.Groups.Group.map((g: Xml) => [g.groupId, g.groupInfo.name]),
      [[groupId, 'Friends']],
    );
    const contacts: Xml[] = result.Contacts.Contact;
    assert.equal(contacts.length, 2, 'Bob and Me: Carol and Dave are not on the forward list');
    const bobContact = contacts.find((c) => c.contactInfo.passportName === bob.handle);
    assert.equal(bobContact.contactId, bob.id);
    assert.equal(bobContact.contactInfo.contactType, 'Regular');
    assert.equal(bobContact.contactInfo.isMessengerUser, 'true');
    assert.equal(bobContact.contactInfo.displayName, 'bob 2');
    assert.equal(bobContact.contactInfo.CID, cidOf(bob.id));
    assert.deepEqual(bobContact.contactInfo.groupIds.guid, [groupId]);
    const me = contacts.find((c) => c.contactInfo.contactType === 'Me');
    assert.equal(me.contactId, alice.id);
    assert.equal(me.contactInfo.passportName, alice.handle);
    assert.equal(me.contactInfo.displayName, 'alice 1');
    assert.equal(annotation(me, 'MSN.IM.BLP'), '1');
    assert.equal(result.Ab.abInfo.ownerEmail, alice.handle);
    assert.equal(result.Ab.abInfo.OwnerCID, cidOf(alice.id));

    // MSNP13–14's ABFindAll: the same book, lower-case containers, the same ids.
    const all = await soap(
      server,
      'abservice.asmx',
      'ABFindAll',
      alice.ticket,
      '<abId>00000000-0000-0000-0000-000000000000</abId><abView>Full</abView>',
    );
    const allResult = all.body.ABFindAllResponse.ABFindAllResult;
    assert.deepEqual(
      allResult.contacts.Contact.map((c: Xml) => c.contactId).sort(),
      [alice.id, bob.id].sort(),
    );
    assert.equal(allResult.groups.Group[0].groupId, groupId);
    assert.equal(allResult.ab.lastChange, result.Ab.lastChange);

    const found = await soap(server, 'SharingService.asmx', 'FindMembership', alice.ticket, FIND_MEMBERSHIP);
    assert.equal(found.status, 200);
    assert.deepEqual(roles(found.body), {
      Allow: [bob.handle],
      Block: [dave.handle],
      Reverse: [carol.handle],
      Pending: [carol.handle],
    });
  });

  it('ABContactAdd makes the other side pending (sharing service and MSNP12 alike); AddMember Allow ends it', async () => {
    const [erin, frank] = [await account('erin'), await account('frank')];
    const f = await signIn(12, frank.handle);
    await sync(12, f);

    const added = await soap(
      server,
      'abservice.asmx',
      'ABContactAdd',
      erin.ticket,
      `<abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact xmlns="${AB}"><contactInfo><passportName>${frank.handle}</passportName><isSmtp>false</isSmtp><isMessengerUser>true</isMessengerUser></contactInfo></Contact></contacts><options><EnableAllowListManagement>true</EnableAllowListManagement></options>`,
      { scenario: 'ContactSave' },
    );
    assert.equal(added.status, 200);
    assert.equal(added.body.ABContactAddResponse.ABContactAddResult.guid[0], frank.id);

    // Frank's MSNP12 client hears of it as an ADC did: RL, with Erin's name.
    const rl = await f.expect('ADC');
    assert.deepEqual(rl.args.slice(0, 3), ['0', 'RL', `N=${erin.handle}`]);
    // …and his address book has Erin as Reverse and Pending.
    const pending = roles(
      (await soap(server, 'SharingService.asmx', 'FindMembership', frank.ticket, FIND_MEMBERSHIP)).body,
    );
    assert.deepEqual(pending.Pending, [erin.handle]);
    assert.deepEqual(pending.Reverse, [erin.handle]);
    // EnableAllowListManagement: Erin allowed Frank as she added him.
    assert.deepEqual(
      roles((await soap(server, 'SharingService.asmx', 'FindMembership', erin.ticket, FIND_MEMBERSHIP)).body)
        .Allow,
      [frank.handle],
    );

    const allow = await soap(
      server,
      'SharingService.asmx',
      'AddMember',
      frank.ticket,
      memberships('Allow', member(erin.handle)),
      { scenario: 'BlockUnblock' },
    );
    assert.equal(allow.status, 200);
    assert.ok(allow.body.AddMemberResponse !== undefined);
    const after = roles(
      (await soap(server, 'SharingService.asmx', 'FindMembership', frank.ticket, FIND_MEMBERSHIP)).body,
    );
    assert.deepEqual(after.Pending, []);
    assert.deepEqual(after.Allow, [erin.handle]);
    // Frank's MSNP12 session saw the allow too, and his next sign-in lists Erin on AL, not PL.
    await f.close();
    const again = await signIn(12, frank.handle);
    const lst = (await sync(12, again)).find((l) => l.name === 'LST' && l.args[0] === `N=${erin.handle}`);
    assert.equal(Number(lst?.args.find((x) => /^\d+$/.test(x))), 8 | 2);
    await again.close();
  });

  it('DeleteMember Pending by MembershipId (as Pidgin) acknowledges the add; Block and unblock round trip', async () => {
    const [gina, hal] = [await account('gina'), await account('hal')];
    await server.server.core.relationships.addForward(hal.id, gina.handle);
    const listed = (await soap(server, 'SharingService.asmx', 'FindMembership', gina.ticket, FIND_MEMBERSHIP))
      .body;
    const pendingRole =
      listed.FindMembershipResponse.FindMembershipResult.Services.Service.Memberships.Membership.find(
        (m: Xml) => m.MemberRole === 'Pending',
      );
    const id = Number(pendingRole.Members.Member[0].MembershipId);
    assert.ok(Number.isInteger(id) && id > 0 && id < 2 ** 31, 'Pidgin reads it with atoi');
    const del = await soap(
      server,
      'SharingService.asmx',
      'DeleteMember',
      gina.ticket,
      memberships('Pending', memberById(id)),
      { scenario: 'ContactMsgrAPI' },
    );
    assert.equal(del.status, 200);
    // Pidgin then adds the Reverse role (nothing to record) and, on "deny", Block.
    const reverse = await soap(
      server,
      'SharingService.asmx',
      'AddMember',
      gina.ticket,
      memberships('Reverse', member(hal.handle)),
    );
    assert.equal(reverse.status, 200);
    await soap(
      server,
      'SharingService.asmx',
      'AddMember',
      gina.ticket,
      memberships('Block', member(hal.handle)),
    );
    let now = roles(
      (await soap(server, 'SharingService.asmx', 'FindMembership', gina.ticket, FIND_MEMBERSHIP)).body,
    );
    assert.deepEqual([now.Pending, now.Block, now.Reverse], [[], [hal.handle], [hal.handle]]);
    await soap(
      server,
      'SharingService.asmx',
      'DeleteMember',
      gina.ticket,
      memberships('Block', member(hal.handle)),
    );
    now = roles(
      (await soap(server, 'SharingService.asmx', 'FindMembership', gina.ticket, FIND_MEMBERSHIP)).body,
    );
    assert.deepEqual([now.Pending, now.Block], [[], []], 'acknowledged once: not pending again');
  });

  it('groups round trip: add, put a contact in, rename, take out, delete — and MSNP12 sees them', async () => {
    const [ivy, jack] = [await account('ivy'), await account('jack')];
    await server.server.core.relationships.addForward(ivy.id, jack.handle);
    const added = await soap(
      server,
      'abservice.asmx',
      'ABGroupAdd',
      ivy.ticket,
      `<abId>00000000-0000-0000-0000-000000000000</abId><groupAddOptions><fRenameOnMsgrConflict>false</fRenameOnMsgrConflict></groupAddOptions><groupInfo><GroupInfo><name>Work &amp; Play</name><groupType>C8529CE2-6EAD-434d-881F-341E17DB3FF8</groupType><fMessenger>false</fMessenger><annotations><Annotation><Name>MSN.IM.Display</Name><Value>1</Value></Annotation></annotations></GroupInfo></groupInfo>`,
    );
    const groupId = added.body.ABGroupAddResponse.ABGroupAddResult.guid[0];
    assert.match(groupId, /^[0-9a-f-]{36}$/);
    const filter = `<groupFilter><groupIds><guid>${groupId}</guid></groupIds></groupFilter>`;
    const put = await soap(
      server,
      'abservice.asmx',
      'ABGroupContactAdd',
      ivy.ticket,
      `<abId>00000000-0000-0000-0000-000000000000</abId>${filter}<contacts><Contact><contactId>${jack.id}</contactId></Contact></contacts><groupContactAddOptions><fGenerateMissingQuickName>true</fGenerateMissingQuickName><EnableAllowListManagement>true</EnableAllowListManagement></groupContactAddOptions>`,
      { scenario: 'ContactSave' },
    );
    assert.equal(put.body.ABGroupContactAddResponse.ABGroupContactAddResult.guid[0], jack.id);
    await soap(
      server,
      'abservice.asmx',
      'ABGroupUpdate',
      ivy.ticket,
      `<abId>00000000-0000-0000-0000-000000000000</abId><groups><Group><groupId>${groupId}</groupId><groupInfo><name>Work</name></groupInfo><propertiesChanged>GroupName </propertiesChanged></Group></groups>`,
      { scenario: 'Timer' },
    );

    const i = await signIn(12, ivy.handle);
    const lines = await sync(12, i);
    assert.deepEqual(lines.find((l) => l.name === 'LSG')?.args, ['Work', groupId]);
    assert.equal(
      lines.find((l) => l.name === 'LST' && l.args[0] === `N=${jack.handle}`)?.args.at(-1),
      groupId,
    );

    // The MSNP12 session hears of SOAP changes as of another endpoint's (list version moves).
    const book = (await soap(server, 'abservice.asmx', 'ABFindContactsPaged', ivy.ticket, FIND_PAGED)).body
      .ABFindContactsPagedResponse.ABFindContactsPagedResult;
    assert.deepEqual(
      book.Contacts.Contact.find((c: Xml) => c.contactId === jack.id).contactInfo.groupIds.guid,
      [groupId],
    );
    await soap(
      server,
      'abservice.asmx',
      'ABGroupContactDelete',
      ivy.ticket,
      `<abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactId>${jack.id}</contactId></Contact></contacts>${filter}`,
      { scenario: 'Timer' },
    );
    await soap(
      server,
      'abservice.asmx',
      'ABGroupDelete',
      ivy.ticket,
      `<abId>00000000-0000-0000-0000-000000000000</abId>${filter}`,
      { scenario: 'Timer' },
    );
    const emptied = (await soap(server, 'abservice.asmx', 'ABFindContactsPaged', ivy.ticket, FIND_PAGED)).body
      .ABFindContactsPagedResponse.ABFindContactsPagedResult;
    assert.equal(emptied.Groups, '');
    assert.equal(
      emptied.Contacts.Contact.find((c: Xml) => c.contactId === jack.id).contactInfo.groupIds,
      undefined,
    );
    await i.close();

    // ABContactDelete takes Jack off the forward list.
    await soap(
      server,
      'abservice.asmx',
      'ABContactDelete',
      ivy.ticket,
      `<abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactId>${jack.id}</contactId></Contact></contacts>`,
      { scenario: 'Timer' },
    );
    const view = await server.server.core.relationships.contact(ivy.id, jack.id);
    assert.equal(view.mine.forward, false);
  });

  it('ABContactUpdate: Me display name and privacy, a contact nickname', async () => {
    const [kim, lee] = [await account('kim'), await account('lee')];
    await server.server.core.relationships.addForward(kim.id, lee.handle);
    const update = (contact: string) =>
      soap(
        server,
        'abservice.asmx',
        'ABContactUpdate',
        kim.ticket,
        `<abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact xmlns="${AB}">${contact}</Contact></contacts>`,
        { scenario: 'ContactSave' },
      );
    assert.equal(
      (
        await update(
          '<contactInfo><displayName>Kim &lt;3</displayName><contactType>Me</contactType></contactInfo><propertiesChanged>DisplayName</propertiesChanged>',
        )
      ).status,
      200,
    );
    await update(
      '<contactInfo><annotations><Annotation><Name>MSN.IM.BLP</Name><Value>0</Value></Annotation></annotations><contactType>Me</contactType></contactInfo><propertiesChanged>Annotation</propertiesChanged>',
    );
    await update(
      `<contactInfo><annotations><Annotation><Name>AB.NickName</Name><Value>Leo</Value></Annotation></annotations></contactInfo><propertiesChanged>Annotation </propertiesChanged><contactId>${lee.id}</contactId>`,
    );
    const row = await server.server.core.accounts.findById(kim.id);
    assert.equal(row?.displayName, 'Kim <3');
    assert.equal(row?.privacy, 'allow-list');
    const contacts: Xml[] = (
      await soap(server, 'abservice.asmx', 'ABFindContactsPaged', kim.ticket, FIND_PAGED)
    ).body.ABFindContactsPagedResponse.ABFindContactsPagedResult.Contacts.Contact;
    assert.equal(
      annotation(
        contacts.find((c) => c.contactId === lee.id),
        'AB.NickName',
      ),
      'Leo',
    );
    const me = contacts.find((c) => c.contactInfo.contactType === 'Me');
    assert.equal(me.contactInfo.displayName, 'Kim <3');
    assert.equal(annotation(me, 'MSN.IM.BLP'), '0');
  });

  it('a delta request: empty when current, the full-sync fault when older', async () => {
    const [mia, ned] = [await account('mia'), await account('ned')];
    const first = (await soap(server, 'abservice.asmx', 'ABFindContactsPaged', mia.ticket, FIND_PAGED)).body
      .ABFindContactsPagedResponse.ABFindContactsPagedResult;
    const delta = (lastChange: string) =>
      soap(
        server,
        'abservice.asmx',
        'ABFindContactsPaged',
        mia.ticket,
        `${FIND_PAGED}<filterOptions><deltasOnly>true</deltasOnly><lastChange>${lastChange}</lastChange></filterOptions>`,
      );
    const same = await delta(first.Ab.lastChange);
    assert.equal(same.status, 200);
    assert.equal(same.body.ABFindContactsPagedResponse.ABFindContactsPagedResult.Contacts, '');
    await server.server.core.relationships.addForward(mia.id, ned.handle);
    const stale = await delta(first.Ab.lastChange);
    assert.equal(stale.status, 500);
    assert.match(stale.body.Fault.faultstring, /Full sync required/);
    const membershipDelta = await soap(
      server,
      'SharingService.asmx',
      'FindMembership',
      mia.ticket,
      `${FIND_MEMBERSHIP}<View>Full</View><deltasOnly>true</deltasOnly><lastChange>${first.Ab.lastChange}</lastChange>`,
    );
    assert.equal(membershipDelta.status, 500);
  });

  it('answers a wrong or missing ticket with the fault Pidgin renews its token on', async () => {
    const olga = await account('olga');
    for (const ticket of [null, 't=not-a-real-ticket-at-all-000000&p=', 'garbage']) {
      const res = await soap(server, 'abservice.asmx', 'ABFindContactsPaged', ticket, FIND_PAGED);
      assert.equal(res.status, 500);
      assert.equal(res.body.Fault.faultcode['#text'] ?? res.body.Fault.faultcode, 'q0:BadContextToken');
    }
    // Pidgin's own request line is `POST //abservice/…`; a login ticket is not a service token.
    const login = await server.server.core.tickets.issue(olga.id);
    const res = await soap(
      server,
      'SharingService.asmx',
      'FindMembership',
      `t=${login.t}&p=`,
      FIND_MEMBERSHIP,
      {
        path: '//abservice/SharingService.asmx',
      },
    );
    assert.equal(res.status, 500);
    assert.match(res.raw, /q0:BadContextToken/);
    const ok = await soap(server, 'SharingService.asmx', 'FindMembership', olga.ticket, FIND_MEMBERSHIP, {
      path: '//abservice/SharingService.asmx',
      host: 'contacts.msn.com',
    });
    assert.equal(ok.status, 200);
    // MSNP13–14 (WLM 8.x) send the ticket's t part as the MSPAuth cookie instead.
    const t = /t=([^&]+)/.exec(olga.ticket)?.[1];
    const cookie = await soap(server, 'abservice.asmx', 'ABFindAll', null, '<abView>Full</abView>', {
      cookie: `MSPProf=x; MSPAuth=${t}`,
    });
    assert.equal(cookie.status, 200);
  });

  it('refuses bad XML, unknown operations and unknown passports with faults, and keeps serving', async () => {
    const pat = await account('pat');
    for (const body of [
      '',
      '<not xml',
      '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
      '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>',
    ]) {
      const res = await httpsRequest(server, {
        path: '/abservice/abservice.asmx',
        method: 'POST',
        servername: 'contacts.msn.com',
        headers: { Host: 'contacts.msn.com', 'Content-Type': 'text/xml; charset=utf-8' },
        body,
      });
      assert.equal(res.status, 500);
      assert.match(res.body, /<faultcode>soap:Client<\/faultcode>/);
    }
    const unknown = await soap(server, 'abservice.asmx', 'ABFrobnicate', pat.ticket, '');
    assert.equal(unknown.status, 500);
    const nobody = await soap(
      server,
      'abservice.asmx',
      'ABContactAdd',
      pat.ticket,
      `<abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactInfo><passportName>nobody@localhost</passportName><isMessengerUser>true</isMessengerUser></contactInfo></Contact></contacts>`,
    );
    assert.equal(nobody.status, 500);
    // What Pidgin (msn_add_contact_read_cb) and aMSN look for.
    assert.equal(
      nobody.body.Fault.detail.errorcode['#text'] ?? nobody.body.Fault.detail.errorcode,
      'InvalidPassportUser',
    );
    const ok = await soap(server, 'abservice.asmx', 'ABFindAll', pat.ticket, '<abView>Full</abView>');
    assert.equal(ok.status, 200);
  });
});
