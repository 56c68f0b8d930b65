import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { msnpLoginChallenge, rstTicket } from '../support/msnp-login.ts';
import { httpsRequest, startTestServer, type TestServer } from '../support/papillon-server.ts';

// MSNP13–14 (TWN): the messenger.msn.com ticket signs in once and then fetches
// offline messages from RSI, as WLM 8.x and msn-pecan use it.

const PASSWORD = 'pw-pw-pw-pw';

function rsiMetadata(server: TestServer, ticket: string) {
  const [, t = '', p = ''] = /^t=([^&]*)&p=(.*)$/.exec(ticket) ?? [];
  const body = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><PassportCookie xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><t>${t}</t><p>${p}</p></PassportCookie></soap:Header><soap:Body><GetMetadata xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi" /></soap:Body></soap:Envelope>`;
  return httpsRequest(server, {
    path: '/rsi/rsi.asmx',
    method: 'POST',
    servername: 'rsi.hotmail.com',
    headers: {
      Host: 'rsi.hotmail.com',
      SOAPAction: '"http://www.hotmail.msn.com/ws/2004/09/oim/rsi/GetMetadata"',
      'Content-Type': 'text/xml; charset=utf-8',
    },
    body,
  });
}

/** `USR … TWN S ticket` on a fresh MSNP14 connection; the reply's name (`USR` or an error code). */
async function signInWith(server: TestServer, handle: string, ticket?: string) {
  const { client, reply } = await msnpLoginChallenge(server, { version: 14, handle });
  const got = ticket ?? (await rstTicket(server, handle, PASSWORD, reply.args[3] ?? '')).ticket ?? '';
  client.send(`USR ${client.trid()} TWN S ${got}`);
  const answer = await client.next();
  await client.close();
  return { answer, ticket: got };
}

describe('MSNP13–14: the messenger.msn.com ticket after sign-in', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await server.server.core.accounts.create({
      privacy: 'allow-all',
      handle: 'tia@localhost',
      password: PASSWORD,
      displayName: 'Tia',
    });
  });
  after(async () => {
    await server.stop();
  });

  it('still fetches offline messages from RSI once it has signed in, but never signs in twice', async () => {
    const first = await signInWith(server, 'tia@localhost');
    assert.deepEqual(first.answer.args.slice(1, 3), ['OK', 'tia@localhost']);
    const rsi = await rsiMetadata(server, first.ticket);
    assert.equal(rsi.status, 200, rsi.body);
    assert.match(rsi.body, /<GetMetadataResponse /, rsi.body);
    const again = await signInWith(server, 'tia@localhost', first.ticket);
    assert.equal(again.answer.name, '911', 'a redeemed ticket does not sign in again');
  });

  it('a web-service token does not sign in', async () => {
    const account = await server.server.core.accounts.get('tia@localhost');
    const service = await server.server.core.tickets.issueService(account.id);
    const { answer } = await signInWith(server, 'tia@localhost', `t=${service.t}&p=`);
    assert.equal(answer.name, '911');
  });
});
