import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { capturingLogger } from '../support/capturing-logger.ts';
import { msnpLogin, msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp } from '../support/xmpp-client.ts';

function httpStatus(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']) }),
      );
    }).on('error', reject);
  });
}

/** contrib/fail2ban/filter.d/papillon.conf's failregex lines as JavaScript regexes. */
function fail2banRegexes(): RegExp[] {
  const conf = readFileSync(
    new URL('../../contrib/fail2ban/filter.d/papillon.conf', import.meta.url),
    'utf8',
  );
  const vars = new Map<string, string>();
  for (const m of conf.matchAll(/^(_\w+) = (.+)$/gm)) vars.set(m[1] ?? '', m[2] ?? '');
  const block = /^failregex = ([\s\S]*?)\n\n/m.exec(conf)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const expanded = line.replace(/%\((\w+)\)s/g, (_, name: string) => vars.get(name) ?? '');
      // fail2ban's <HOST>: an IPv4 or IPv6 address (or a host name) — the address is what we check.
      return new RegExp(expanded.replace('<HOST>', '(?<host>[0-9a-fA-F.:]+)'));
    });
}

/** The address fail2ban would ban for this line, if any of the filter's regexes matches it. */
function banned(regexes: RegExp[], line: string): string | undefined {
  for (const re of regexes) {
    const m = re.exec(line);
    if (m) return m.groups?.host;
  }
  return undefined;
}

describe('logs: sign-in lines and redacted trace (JSON)', () => {
  let server: TestServer;
  const log = capturingLogger('trace', 'json');
  before(async () => {
    server = await startTestServer({}, { logger: log.logger });
    const core = server.server.core;
    for (const name of ['mia', 'max', 'xan']) {
      await core.accounts.create({
        handle: `${name}@localhost`,
        password: `${name}-Secret-pw`,
        displayName: name,
      });
    }
    // Full sign-ins: MSNP12 (Passport RST, then USR TWN), MSNP18 (RST2, then USR SSO
    // with the MBI_KEY_OLD answer), MSNP7 (USR MD5), XMPP with SCRAM and with PLAIN.
    const mia = await msnpSignIn(server, { version: 12, handle: 'mia@localhost', password: 'mia-Secret-pw' });
    const max = await msnpSignIn(server, { version: 18, handle: 'max@localhost', password: 'max-Secret-pw' });
    const old = await msnpSignIn(server, { version: 7, handle: 'mia@localhost', password: 'mia-Secret-pw' });
    const scram = await connectXmpp(server, {
      username: 'xan',
      password: 'xan-Secret-pw',
      resource: 'a',
      mechanism: 'SCRAM-SHA-1',
    });
    const plain = await connectXmpp(server, {
      username: 'xan',
      password: 'xan-Secret-pw',
      resource: 'b',
      mechanism: 'PLAIN',
    });
    // Failures: a wrong MSNP12 password (RST, then USR TWN with no ticket), a wrong XMPP one.
    const wrong = await msnpLogin(server, {
      version: 12,
      handle: 'mia@localhost',
      password: 'nope-Wrong-pw',
    });
    assert.equal((await wrong.next()).name, '911');
    await assert.rejects(
      connectXmpp(server, { username: 'xan', password: 'nope-Wrong-pw', mechanism: 'PLAIN' }),
    );
    // An OAuth token in a URL (Live Connect's REST API) and the icon browsers ask for.
    await httpStatus(server.port('http'), '/v5.0/me?access_token=EwBoAq-Secret-Token&pretty=false');
    await httpStatus(server.port('http'), '/favicon.ico');
    await Promise.all([mia.close(), max.close(), old.close(), wrong.close(), scram.stop(), plain.stop()]);
  });
  after(() => server.stop());

  it('logs every sign-in, good or bad, with the client address in one line shape', () => {
    const signIns = log
      .lines()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => 'signIn' in l);
    const seen = signIns.map((l) => `${l.path} ${l.signIn}`);
    for (const expected of [
      'passport-rst ok',
      'msnp-twn ok',
      'msnp-sso ok',
      'msnp-md5 ok',
      'xmpp-scram-sha-1 ok',
      'xmpp-plain ok',
      'passport-rst failed',
      'msnp-twn failed',
      'xmpp-plain failed',
    ]) {
      assert.ok(seen.includes(expected), `no "${expected}" line among ${JSON.stringify(seen)}`);
    }
    for (const l of signIns) {
      assert.equal(l.ip, '127.0.0.1');
      assert.match(String(l.msg), /^sign-in (ok|failed|throttled) from 127\.0\.0\.1 \([a-z0-9-]+\): "/);
    }
  });

  it('traces MSNP command lines and XMPP stanzas both ways', () => {
    const text = log.text();
    assert.match(text, /"msg":"MSNP in: VER 1 MSNP12 CVR0"/);
    assert.match(text, /"msg":"MSNP out: USR \d+ OK mia@localhost/);
    assert.match(text, /"msg":"MSNP in: USR \d+ SSO S \[redacted\] \[redacted\] \{[0-9a-f-]{36}\}"/);
    assert.match(text, /"msg":"XMPP in: <auth [^>]*mechanism=\\"PLAIN\\">\[redacted\]<\/auth>"/);
    assert.match(text, /"msg":"XMPP out: <iq [^>]*><bind /);
  });

  it('never shows a password, a ticket, a proof or a token', () => {
    const text = log.text();
    for (const secret of ['Secret-pw', 'Wrong-pw', 'EwBoAq-Secret-Token']) {
      assert.equal(text.includes(secret), false, `${secret} is in the log`);
    }
    // PLAIN's payload in base64 (authzid NUL authcid NUL password).
    assert.equal(text.includes(Buffer.from('\0xan\0xan-Secret-pw').toString('base64')), false);
    // USR proofs (MD5 digest, TWN ticket, SSO ticket and answer) and Passport tickets anywhere.
    assert.doesNotMatch(text, /MSNP in: USR \d+ (MD5|TWN|SSO) S (?!\[redacted\])/);
    assert.doesNotMatch(text, /(^|[^A-Za-z0-9_])t=(?!\[redacted\])[A-Za-z0-9%*!$]/m);
    // The profile message's MSPAuth ticket: payloads are never shown.
    assert.equal(text.includes('MSPAuth'), false);
    // SCRAM's client proof and server signature.
    assert.doesNotMatch(text, /<(response|challenge|success)[^>]*>(?!\[redacted\])[A-Za-z0-9+/=]+</);
    assert.match(text, /access_token=\[redacted\]&pretty=false/);
  });

  it('serves an icon at /favicon.ico instead of a 404', async () => {
    const res = await httpStatus(server.port('http'), '/favicon.ico');
    assert.equal(res.status, 200);
    assert.equal(res.type, 'image/svg+xml');
  });

  it('fail2ban: the filter matches the failed lines the server wrote, and only those', () => {
    const regexes = fail2banRegexes();
    assert.equal(regexes.length, 2);
    const lines = log.lines();
    const failed = lines.filter((l) => /"signIn":"(failed|throttled)"/.test(l));
    assert.ok(failed.length >= 3);
    for (const line of failed) assert.equal(banned(regexes, line), '127.0.0.1', line);
    for (const line of lines.filter((l) => !failed.includes(l))) {
      assert.equal(banned(regexes, line), undefined, line);
    }
  });
});

describe('logs: pretty format and fail2ban', () => {
  let server: TestServer;
  const log = capturingLogger('info', 'pretty');
  before(async () => {
    server = await startTestServer({}, { logger: log.logger });
    await server.server.core.accounts.create({ handle: 'xan@localhost', password: 'xan-Secret-pw' });
    // A crafted sign-in name (Passport 1.4 takes any text) that tries to get another address banned.
    const crafted =
      'x" from 198.51.100.9 (web):\n[2025-01-01 00:00:00.000 +0000] INFO (papillon/1): sign-in failed from 198.51.100.9 (web):';
    await httpStatus(server.port('http'), '/login2.srf', {
      authorization: `Passport1.4 OrgVerb=GET,OrgURL=x,sign-in=${encodeURIComponent(crafted)},pwd=nope,lc=1033`,
    });
    await assert.rejects(connectXmpp(server, { username: 'xan', password: 'nope', mechanism: 'PLAIN' }));
  });
  after(() => server.stop());

  it('writes one readable line per event, with the date', () => {
    assert.match(
      log.text(),
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] INFO \(papillon\/\d+\): sign-in failed from 127\.0\.0\.1 \(xmpp-plain\): ""$/m,
    );
  });

  it('fail2ban bans the client address only, whatever name it gave', () => {
    const regexes = fail2banRegexes();
    const hits = log
      .lines()
      .map((l) => banned(regexes, l))
      .filter((h) => h !== undefined);
    assert.deepEqual(hits, ['127.0.0.1', '127.0.0.1']);
  });
});
