/**
 * Limits a cluster shares (issue 11 part 4, issue 13 items 4 and 7): two Papillon
 * servers on one Redis (and one PostgreSQL database when PAPILLON_TEST_DATABASE_URL is
 * set; otherwise each has its SQLite file and the same accounts). Clients connect over
 * real sockets from one address, 127.0.0.1, as users behind one NAT do.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import pg from 'pg';
import { msnpLoginChallenge, passport14Ticket } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { deleteKeys, rawRedis, testPrefix, testRedisUrl } from '../support/redis.ts';
import { csrfOf, WebClient } from '../support/web-client.ts';

const PASSWORD = 'correct horse battery';
const ACCOUNTS = 60;
const handleOf = (i: number) => `nat${i}@localhost`;

/**
 * XMPP SASL PLAIN over direct TLS (XEP-0368), as bare as it gets: connects and opens the
 * stream, then, once `go` resolves, authenticates, and resolves with the outcome:
 * `success` or the failure's condition. No short timeouts: under a burst the password
 * checks queue up, and that is not what is being tested.
 */
function xmppPlain(
  server: TestServer,
  handle: string,
  password: string,
  go?: Promise<void>,
): {
  ready: Promise<void>;
  outcome: Promise<string>;
} {
  let ready!: () => void;
  const whenReady = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const outcome = new Promise<string>((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: server.port('xmpps'),
      ca: server.ca,
      servername: 'localhost',
    });
    let received = '';
    let featured = false;
    const done = (result: string) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(60_000, () => {
      socket.destroy();
      reject(new Error(`no answer; received: ${received}`));
    });
    socket.on('error', reject);
    socket.on('secureConnect', () => {
      socket.write(
        "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' " +
          "xmlns:stream='http://etherx.jabber.org/streams'>",
      );
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (!featured && received.includes('</stream:features>')) {
        featured = true;
        ready();
        const local = handle.split('@')[0] ?? '';
        const message = Buffer.from(`\0${local}\0${password}`, 'utf8').toString('base64');
        void (go ?? Promise.resolve()).then(() =>
          socket.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${message}</auth>`),
        );
      }
      if (/<success[\s/>]/.test(received)) return done('success');
      const failure = /<failure[^>]*>\s*<([a-z-]+)/.exec(received);
      if (failure?.[1]) done(failure[1]);
    });
    socket.on('close', () => resolve(`closed; received: ${received}`));
  });
  // A connection that ends before its features is ready too: its outcome tells why.
  outcome.then(ready, ready);
  return { ready: whenReady, outcome };
}

/** Log-ins that all authenticate at the same moment, once every connection is ready. */
async function xmppBurst(logins: Array<[TestServer, string, string]>): Promise<string[]> {
  let go!: () => void;
  const gate = new Promise<void>((resolve) => {
    go = resolve;
  });
  const clients = logins.map(([server, handle, password]) => xmppPlain(server, handle, password, gate));
  await Promise.all(clients.map((c) => c.ready));
  go();
  return Promise.all(clients.map((c) => c.outcome));
}

const xmppLogin = (server: TestServer, handle: string, password: string) =>
  xmppPlain(server, handle, password).outcome;

async function signUp(base: string, ca: Buffer, name: string): Promise<number> {
  const browser = new WebClient(base, ca);
  const form = await browser.get('/signup');
  const res = await browser.post('/signup', {
    csrf: csrfOf(form.body),
    name,
    password: PASSWORD,
    confirm: PASSWORD,
  });
  return res.status;
}

describe('limits shared by two nodes on one Redis', () => {
  let a: TestServer;
  let b: TestServer;
  const prefix = testPrefix();
  const databaseUrl = process.env.PAPILLON_TEST_DATABASE_URL;
  const schema = `papillon_test_${randomBytes(8).toString('hex')}`;

  before(async () => {
    const env: Record<string, string> = {
      PAPILLON_REDIS_URL: testRedisUrl(),
      PAPILLON_REDIS_KEY_PREFIX: prefix,
      PAPILLON_SIGNUP: 'open',
      PAPILLON_SIGNUPS_PER_HOUR: '3',
    };
    if (databaseUrl) {
      // One database for both nodes, in a schema of this test's own.
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`create schema "${schema}"`);
      await client.end();
      const separator = databaseUrl.includes('?') ? '&' : '?';
      env.PAPILLON_DATABASE_URL = `${databaseUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    }
    // One after the other: the first applies the migrations.
    a = await startTestServer(env);
    b = await startTestServer(env);
    const stores = databaseUrl ? [a] : [a, b];
    for (const node of stores) {
      for (let i = 0; i < ACCOUNTS; i += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, j) =>
            node.server.core.accounts.create({ handle: handleOf(i + j), password: PASSWORD }),
          ),
        );
      }
    }
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    const redis = rawRedis();
    await deleteKeys(redis, prefix);
    redis.disconnect();
    if (databaseUrl) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
  });

  it('signs in a burst of right passwords from one address over XMPP, 120 at once on two nodes', async () => {
    // Every account twice, mostly on node A: many users behind one NAT, each with two clients.
    const outcomes = await xmppBurst(
      Array.from({ length: ACCOUNTS * 2 }, (_, i) => [i % 4 === 3 ? b : a, handleOf(i >> 1), PASSWORD]),
    );
    const refused = outcomes.filter((o) => o !== 'success');
    assert.deepEqual(refused, [], `${refused.length} of ${outcomes.length} right passwords refused`);
  });

  it('signs in a burst of MSN Messenger 5 users from one address (Passport 1.4, then USR TWN)', async () => {
    // Every client at `USR … TWN S` first; then all ask Passport at once, as after a restart.
    const challenges = await Promise.all(
      Array.from({ length: ACCOUNTS }, (_, i) => msnpLoginChallenge(a, { version: 8, handle: handleOf(i) })),
    );
    const tickets = await Promise.all(
      challenges.map(({ reply }, i) => passport14Ticket(a, handleOf(i), PASSWORD, reply.args[3] ?? '')),
    );
    assert.deepEqual(
      tickets.filter((t) => t.status !== 200).map((t) => t.status),
      [],
      'Passport refused right passwords',
    );
    const signedIn = await Promise.all(
      challenges.map(async ({ client }, i) => {
        client.send(`USR ${client.trid()} TWN S ${tickets[i]?.ticket}`);
        const ok = await client.expect('USR');
        await client.close();
        return ok.args[1];
      }),
    );
    assert.ok(signedIn.every((r) => r === 'OK'));
  });

  it('wrong guesses on node A lock the account on node B too; other accounts still sign in', async () => {
    const victim = handleOf(ACCOUNTS - 1);
    for (let i = 0; i < 5; i += 1) assert.equal(await xmppLogin(a, victim, `wrong ${i}`), 'not-authorized');
    // The right password, on the other node, over XMPP and over Passport: refused.
    assert.equal(await xmppLogin(b, victim, PASSWORD), 'not-authorized');
    const policy = 'lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1,kpp=1,kv=5';
    assert.equal((await passport14Ticket(b, victim, PASSWORD, policy)).status, 401);
    // Someone else behind the same address is not affected.
    assert.equal(await xmppLogin(b, handleOf(ACCOUNTS - 2), PASSWORD), 'success');
  });

  it('checks at most 5 guesses for one account from one address, however many arrive at both nodes', async () => {
    const target = handleOf(ACCOUNTS - 3);
    let checked = 0;
    for (const node of [a, b]) {
      const credentials = node.server.core.credentials;
      const original = credentials.verifyPassword.bind(credentials);
      credentials.verifyPassword = async (handle, password) => {
        if (handle === target) checked += 1;
        return original(handle, password);
      };
    }
    const outcomes = await xmppBurst(
      Array.from({ length: 60 }, (_, i) => [i % 2 === 0 ? a : b, target, `guess ${i}`]),
    );
    assert.ok(
      outcomes.every((o) => o === 'not-authorized'),
      outcomes.join(' '),
    );
    assert.ok(checked <= 5, `${checked} guesses checked`);
  });

  it('counts sign-ups once per address over HTTP and HTTPS, on both nodes together', async () => {
    const http = (node: TestServer) => `http://127.0.0.1:${node.port('http')}`;
    const https = (node: TestServer) => `https://localhost:${node.port('https')}`;
    assert.equal(await signUp(http(a), a.ca, 'first'), 303);
    assert.equal(await signUp(https(a), a.ca, 'second'), 303);
    assert.equal(await signUp(http(b), b.ca, 'third'), 303);
    // The limit is 3 an hour: the fourth is refused whichever node and scheme it tries.
    assert.equal(await signUp(https(b), b.ca, 'fourth'), 429);
    assert.equal(await signUp(http(a), a.ca, 'fifth'), 429);
    assert.equal(await b.server.core.accounts.find('fourth@localhost'), undefined);
  });
});
