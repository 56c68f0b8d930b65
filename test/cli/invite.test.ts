import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExpiry } from '../../src/cli/invite-commands.ts';
import { runCli } from '../support/cli.ts';
import { csrfOf, serverForSuite, signIn, WebClient } from '../support/web-client.ts';

const PASSWORD = 'correct horse battery';

describe('papillon invite and account admin (CLI) with the web pages', () => {
  const web = serverForSuite({ PAPILLON_SIGNUP: 'invite' });
  const cli = (args: string[], input = '') => runCli(args, { PAPILLON_DATA_DIR: web.server.dataDir }, input);

  it('reads --expires as minutes, hours, days or weeks, and names the option when it cannot', () => {
    assert.equal(parseExpiry('30m'), 30 * 60_000);
    assert.equal(parseExpiry('7d'), 7 * 86_400_000);
    assert.equal(parseExpiry('2w'), 14 * 86_400_000);
    for (const bad of ['', '7', '0d', 'soon', '-1d']) assert.throws(() => parseExpiry(bad), /--expires/, bad);
  });

  it('prints a one-time link that makes one account on the web, then lists it as used', async () => {
    const made = await cli(['invite', '--expires', '2d']);
    assert.equal(made.code, 0, made.stderr);
    const url = made.stdout.trim();
    assert.match(url, /^https:\/\/localhost(:\d+)?\/signup\?invite=[A-Za-z0-9_-]{32}$/);
    assert.match(made.stderr, /one account can be made with this link until/);
    const token = new URL(url).searchParams.get('invite') ?? '';

    const browser = new WebClient(web.base);
    const form = await browser.get(`/signup?invite=${token}`);
    const fields = { name: 'una', password: PASSWORD, confirm: PASSWORD, invite: token };
    assert.equal((await browser.post('/signup', { csrf: csrfOf(form.body), ...fields })).status, 303);
    const other = new WebClient(web.base);
    const again = await other.get(`/signup?invite=${token}`);
    const reused = await other.post('/signup', { csrf: csrfOf(again.body), ...fields, name: 'vic' });
    assert.equal(reused.status, 403);

    const list = await cli(['invite', '--list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /una@localhost/);
    const id = /^([0-9a-f]{12}) /m.exec(list.stdout)?.[1];
    assert.ok(id, list.stdout);
    assert.equal((await cli(['invite', '--revoke', id])).code, 0);
    const gone = await cli(['invite', '--revoke', id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no invitation/);
    assert.match((await cli(['invite', '--expires', 'soon'])).stderr, /--expires must look like/);
  });

  it('gives the admin role with `account add --admin` and `account admin`, and takes it back', async () => {
    const add = await cli(['account', 'add', 'wes@localhost', '--admin', '--password-stdin'], PASSWORD);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, 'created wes@localhost (admin)\n');
    const browser = new WebClient(web.base);
    await signIn(browser, 'wes@localhost', PASSWORD);
    assert.equal((await browser.get('/admin')).status, 200);

    assert.equal(
      (await cli(['account', 'admin', 'wes@localhost', '--revoke'])).stdout,
      'wes@localhost is no longer an admin\n',
    );
    assert.equal((await browser.get('/admin')).status, 403);
    assert.equal((await cli(['account', 'admin', 'wes@localhost'])).stdout, 'wes@localhost is an admin\n');
    assert.equal((await browser.get('/admin')).status, 200);
    const unknown = await cli(['account', 'admin', 'nobody@localhost']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no account named nobody@localhost/);
  });
});
