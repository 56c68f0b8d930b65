import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startServerWithMiaAndXan } from '../support/msn-xmpp-contacts.ts';
import { MsnpTestClient } from '../support/msnp-client.ts';
import { msnpSetStatus, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, type TestXmppClient, xml } from '../support/xmpp-client.ts';
import { sync, textMessage } from '../transcripts/msnp-session.ts';

function httpGet(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    }).on('error', reject);
  });
}

/** The value of one sample line, e.g. `papillon_sessions{protocol="msnp",version="MSNP12"}`; 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('metrics: off by default', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('has no metrics listener, and the public HTTP port has no /metrics', async () => {
    assert.equal(
      server.server.listeners.some((l) => l.name === 'metrics'),
      false,
    );
    const res = await httpGet(server.port('http'), '/metrics');
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.body, /papillon_/);
  });
});

describe('metrics: GET /metrics on the admin listener', () => {
  let server: TestServer;
  let mia: MsnpTestClient;
  let xan: TestXmppClient;
  const scrape = async () => {
    const res = await httpGet(server.port('metrics'), '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/plain/);
    return res.body;
  };

  before(async () => {
    server = await startServerWithMiaAndXan({ PAPILLON_METRICS: 'true', PAPILLON_METRICS_PORT: '0' });
    await server.server.core.accounts.create({
      handle: 'olga@localhost',
      password: 'olga-secret',
      displayName: 'Olga',
    });
  });
  after(async () => {
    await xan?.stop();
    await mia?.close();
    await server.stop();
  });

  it('is bound to the metrics address, apart from the public ports', () => {
    const listener = server.server.listeners.find((l) => l.name === 'metrics');
    assert.ok(listener);
    assert.match(listener.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    assert.notEqual(listener.port, server.port('http'));
  });

  it('starts with no sessions and the process figures (event-loop lag) present', async () => {
    const text = await scrape();
    assert.equal(sample(text, 'papillon_sessions{protocol="msnp",version=""}'), 0);
    assert.equal(sample(text, 'papillon_sessions{protocol="xmpp",version=""}'), 0);
    assert.match(text, /^nodejs_eventloop_lag_seconds \d/m);
    assert.match(text, /^papillon_switchboards_open 0$/m);
  });

  it('an MSNP12 and an XMPP sign-in, a failed one, and messages both ways move the figures', async () => {
    mia = await msnpSignIn(server, { version: 12, handle: 'mia@localhost', password: 'mia-secret' });
    await sync(12, mia);
    await msnpSetStatus(mia, 12, 'NLN', { first: true });
    xan = await connectXmpp(server, {
      username: 'xan',
      password: 'xan-secret',
      resource: 'gajim',
      mechanism: 'SCRAM-SHA-1',
    });
    await xan.xmpp.send(xml('presence'));
    await xan.waitFor((el) => el.is('presence') && el.attrs.from === 'mia@localhost/msn');
    await assert.rejects(connectXmpp(server, { username: 'xan', password: 'wrong', mechanism: 'PLAIN' }));

    let text = await scrape();
    assert.equal(sample(text, 'papillon_sessions{protocol="msnp",version="MSNP12"}'), 1);
    assert.equal(sample(text, 'papillon_sessions{protocol="xmpp",version=""}'), 1);
    // MSNP12: a Passport RST ticket, then USR TWN.
    assert.equal(sample(text, 'papillon_sign_ins_total{path="passport-rst",result="ok"}'), 1);
    assert.equal(sample(text, 'papillon_sign_ins_total{path="msnp-twn",result="ok"}'), 1);
    assert.equal(sample(text, 'papillon_sign_ins_total{path="xmpp-scram-sha-1",result="ok"}'), 1);
    assert.equal(sample(text, 'papillon_sign_ins_total{path="xmpp-plain",result="failed"}'), 1);
    // Store operations were timed (the sign-ins read accounts and credentials).
    assert.ok(sample(text, 'papillon_store_query_seconds_count{operation="getAccountByHandle"}') > 0);
    // No handle ever becomes a label.
    assert.doesNotMatch(text, /mia@localhost|xan@localhost/);

    // XMPP → MSN: rings Mia into a switchboard, where she answers.
    await xan.xmpp.send(xml('message', { to: 'mia@localhost', type: 'chat' }, xml('body', {}, 'Hi Mia')));
    const rng = await mia.expect('RNG');
    const [host, port] = (rng.args[1] ?? '').split(':');
    const sb = await MsnpTestClient.connect(Number(port), host);
    sb.send(`ANS ${sb.trid()} mia@localhost ${rng.args[3]} ${rng.args[0]}`);
    await sb.expect('ANS');
    await sb.expect('MSG');
    const trid = sb.trid();
    sb.sendPayload('MSG', [trid, 'A'], textMessage('Hi Xan'));
    await sb.expect('ACK');
    await xan.waitFor((el) => el.is('message') && el.getChildText('body') === 'Hi Xan');
    // Xan writes to Olga, who is offline: the message waits in the queue.
    await xan.xmpp.send(xml('message', { to: 'olga@localhost', type: 'chat' }, xml('body', {}, 'later')));
    await xan.iq(xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));

    text = await scrape();
    assert.equal(sample(text, 'papillon_messages_routed_total{from="xmpp",to="msnp"}'), 1);
    assert.equal(sample(text, 'papillon_messages_routed_total{from="msnp",to="xmpp"}'), 1);
    assert.equal(sample(text, 'papillon_messages_routed_total{from="xmpp",to="xmpp"}'), 0);
    assert.equal(sample(text, 'papillon_switchboards_open'), 1);
    assert.equal(sample(text, 'papillon_offline_queue_length'), 1);

    // Olga signs in over XMPP and takes it; then XMPP → XMPP.
    const olga = await connectXmpp(server, { username: 'olga', password: 'olga-secret', resource: 'dino' });
    await olga.xmpp.send(xml('presence'));
    await olga.waitFor((el) => el.is('message') && el.getChildText('body') === 'later');
    await xan.xmpp.send(xml('message', { to: 'olga@localhost', type: 'chat' }, xml('body', {}, 'now')));
    await olga.waitFor((el) => el.is('message') && el.getChildText('body') === 'now');
    text = await scrape();
    assert.equal(sample(text, 'papillon_messages_routed_total{from="xmpp",to="xmpp"}'), 1);
    assert.equal(sample(text, 'papillon_offline_queue_length'), 0);
    assert.equal(sample(text, 'papillon_sessions{protocol="xmpp",version=""}'), 2);
    await olga.stop();
    await sb.close();
  });

  it('answers 404 for anything but /metrics', async () => {
    const res = await httpGet(server.port('metrics'), '/health');
    assert.equal(res.status, 404);
  });
});
