import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { cidOf } from '../../src/msnp/cid.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { STORAGE_NS as NS, storageRequest } from '../support/msnp-web.ts';
import { httpsRequest, startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, xml } from '../support/xmpp-client.ts';

// The roaming profile (src/msnp/services/storage.ts) and the client config
// (src/msnp/services/config.ts) as Windows Live Messenger 8.5/2009 call them.

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: false, parseTagValue: false });

describe('storage service (roaming profile) and client config', () => {
  let server: TestServer;
  let ticket: string;

  before(async () => {
    server = await startTestServer();
    const core = server.server.core;
    const ann = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'ann@localhost',
      password: 'ann-pw',
      displayName: 'Ann',
    });
    const bob = await core.accounts.create({
      privacy: 'allow-all',
      handle: 'bob@localhost',
      password: 'bob-pw',
      displayName: 'Bob',
    });
    await core.relationships.addForward(bob.id, 'ann@localhost');
    await core.relationships.addForward(ann.id, 'bob@localhost');
    const issued = await core.tickets.issueService(ann.id);
    ticket = `t=${issued.t}&amp;p=${issued.p}`;
  });
  after(async () => {
    await server.stop();
  });

  function storage(operation: string, body: string, token = ticket) {
    return storageRequest(server, operation, token, body);
  }

  const getProfile = `<GetProfile xmlns="${NS}"><profileHandle><Alias><Name>CID</Name><NameSpace>MyCidStuff</NameSpace></Alias><RelationshipName>MyProfile</RelationshipName></profileHandle><profileAttributes><ResourceID>true</ResourceID><DateModified>true</DateModified><ExpressionProfileAttributes><ResourceID>true</ResourceID><DateModified>true</DateModified><DisplayName>true</DisplayName><DisplayNameLastModified>true</DisplayNameLastModified><PersonalStatus>true</PersonalStatus><PersonalStatusLastModified>true</PersonalStatusLastModified><StaticUserTilePublicURL>true</StaticUserTilePublicURL><Photo>true</Photo><Flags>true</Flags></ExpressionProfileAttributes></profileAttributes></GetProfile>`;

  function expressionProfile(body: string): Record<string, unknown> {
    const parsed = parser.parse(body) as {
      Envelope: {
        Body: { GetProfileResponse: { GetProfileResult: { ExpressionProfile: Record<string, unknown> } } };
      };
    };
    return parsed.Envelope.Body.GetProfileResponse.GetProfileResult.ExpressionProfile;
  }

  it('GetProfile and UpdateProfile round trip: the display name every protocol shows, and the personal message', async () => {
    const first = await storage('GetProfile', getProfile);
    assert.equal(first.status, 200, first.body);
    assert.equal(expressionProfile(first.body).DisplayName, 'Ann');

    const bob = await msnpSignIn(server, { version: 12, handle: 'bob@localhost', password: 'bob-pw' });
    const ann = await msnpSignIn(server, { version: 12, handle: 'ann@localhost', password: 'ann-pw' });
    await msnpSetStatus(ann, 12, 'NLN', { first: true });
    await msnpSetStatus(bob, 12, 'NLN', { first: true });
    const xmppBob = await connectXmpp(server, { username: 'bob', password: 'bob-pw', resource: 'gajim' });
    try {
      const updated = await storage(
        'UpdateProfile',
        `<UpdateProfile xmlns="${NS}"><profile><ResourceID>${cidOf('x')}!106</ResourceID><ExpressionProfile><FreeText>Update</FreeText><DisplayName>Ann &amp; Co ☀</DisplayName><PersonalStatus>roaming along</PersonalStatus><Flags>0</Flags></ExpressionProfile></profile></UpdateProfile>`,
      );
      assert.equal(updated.status, 200, updated.body);
      assert.doesNotMatch(updated.body, /Fault/);

      const again = expressionProfile((await storage('GetProfile', getProfile)).body);
      assert.equal(again.DisplayName, 'Ann & Co ☀');
      assert.equal(again.PersonalStatus, 'roaming along');

      // An MSNP12 contact sees the new name in NLN, an XMPP contact in the roster.
      for (;;) {
        const nln = await bob.expect('NLN');
        if (nln.args[1] === 'ann@localhost' && decodeURIComponent(nln.args[2] ?? '') === 'Ann & Co ☀') break;
      }
      const roster = await xmppBob.iq(
        xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })),
      );
      const item = roster
        .getChild('query')
        ?.getChildren('item')
        .find((i) => i.attrs.jid === 'ann@localhost');
      assert.ok(item);
      assert.equal((await server.server.core.accounts.get('ann@localhost')).displayName, 'Ann & Co ☀');
    } finally {
      await xmppBob.stop();
      await bob.close();
      await ann.close();
    }
  });

  it('a display picture stored through the storage service is the picture XMPP contacts get, and GetProfile points at it', async () => {
    const created = await storage(
      'CreateDocument',
      `<CreateDocument xmlns="${NS}"><parentHandle><RelationshipName>/UserTiles</RelationshipName><Alias><Name>CID</Name><NameSpace>MyCidStuff</NameSpace></Alias></parentHandle><document xsi:type="Photo"><Name>?</Name><DocumentStreams><DocumentStream xsi:type="PhotoStream"><DocumentStreamType>UserTileStatic</DocumentStreamType><MimeType>image/png</MimeType><Data>${PNG.toString('base64')}</Data><DataSize>0</DataSize></DocumentStream></DocumentStreams></document><relationshipName>Messenger User Tile</relationshipName></CreateDocument>`,
    );
    assert.equal(created.status, 200, created.body);
    assert.match(created.body, /<CreateDocumentResult>[^<]+<\/CreateDocumentResult>/);
    const related = await storage(
      'CreateRelationships',
      `<CreateRelationships xmlns="${NS}"><relationships><Relationship><SourceID>x</SourceID><SourceType>SubProfile</SourceType><TargetID>y</TargetID><TargetType>Photo</TargetType><RelationshipName>ProfilePhoto</RelationshipName></Relationship></relationships></CreateRelationships>`,
    );
    assert.equal(related.status, 200, related.body);

    const xmppBob = await connectXmpp(server, { username: 'bob', password: 'bob-pw', resource: 'dino' });
    try {
      const card = (
        await xmppBob.iq(
          xml('iq', { type: 'get', to: 'ann@localhost' }, xml('vCard', { xmlns: 'vcard-temp' })),
        )
      ).getChild('vCard');
      assert.deepEqual(Buffer.from(card?.getChild('PHOTO')?.getChildText('BINVAL') ?? '', 'base64'), PNG);
    } finally {
      await xmppBob.stop();
    }

    // A second machine: GetProfile names the picture, and its URL serves the bytes.
    const profile = expressionProfile((await storage('GetProfile', getProfile)).body) as {
      Photo?: { DocumentStreams?: { DocumentStream?: { PreAuthURL?: string; SHA1Hash?: string } } };
    };
    const stream = profile.Photo?.DocumentStreams?.DocumentStream;
    assert.equal(stream?.SHA1Hash, createHash('sha1').update(PNG).digest('base64'));
    const url = new URL(stream?.PreAuthURL ?? '');
    const image = await httpsRequest(server, { path: url.pathname, servername: 'storage.msn.com' });
    assert.equal(image.status, 200);
    assert.equal(image.headers['content-type'], 'image/png');
  });

  it('refuses a bad ticket and bad XML with a SOAP fault, and answers the start-up calls with nothing stored', async () => {
    const bad = await storage('GetProfile', getProfile, 't=nope&amp;p=');
    assert.equal(bad.status, 500);
    assert.match(bad.body, /<faultcode>/);
    const garbage = await httpsRequest(server, {
      path: '/storageservice/SchematizedStore.asmx',
      method: 'POST',
      servername: 'storage.msn.com',
      body: '<soap:Envelope><nope>',
    });
    assert.equal(garbage.status, 500);
    for (const op of ['FindDocuments', 'DeleteRelationships', 'CreateProfile', 'ShareItem']) {
      const res = await storage(op, `<${op} xmlns="${NS}"/>`);
      assert.equal(res.status, 200, `${op}: ${res.body}`);
      assert.match(res.body, new RegExp(`<${op}Response`));
    }
  });

  it('serves a valid MsgrConfig to GetClientConfig, POST and GET', async () => {
    for (const method of ['POST', 'GET']) {
      const res = await httpsRequest(server, {
        path:
          method === 'GET'
            ? '/Config/MsgrConfig.asmx?op=GetClientConfig&Country=US&CLCID=0409'
            : '/Config/MsgrConfig.asmx',
        method,
        servername: 'config.messenger.msn.com',
        headers: { SOAPAction: 'http://www.msn.com/webservices/Messenger/Client/GetClientConfig' },
        ...(method === 'POST'
          ? {
              body: '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetClientConfig xmlns="http://www.msn.com/webservices/Messenger/Client"/></soap:Body></soap:Envelope>',
            }
          : {}),
      });
      assert.equal(res.status, 200, res.body);
      const result = (
        parser.parse(res.body) as {
          Envelope: { Body: { GetClientConfigResponse: { GetClientConfigResult: string } } };
        }
      ).Envelope.Body.GetClientConfigResponse.GetClientConfigResult;
      const config = parser.parse(result) as { MsgrConfig?: { Simple?: unknown } };
      assert.ok(config.MsgrConfig?.Simple, result);
    }
  });
});
