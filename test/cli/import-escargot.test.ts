import assert from 'node:assert/strict';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { runCli } from '../support/cli.ts';
import { msnpSignIn } from '../support/msnp-login.ts';
import { startTestServer, type TestServer } from '../support/papillon-server.ts';
import { connectXmpp, xml } from '../support/xmpp-client.ts';

/** Escargot's util/hash.py PBKDF2PasswordHasher: `pbkdf2_sha256$24000$<salt>$<base64>`. */
function escargotPassword(password: string, salt: string): string {
  const hash = pbkdf2Sync(Buffer.from(password), Buffer.from(salt), 24000, 32, 'sha256').toString('base64');
  return `pbkdf2_sha256$24000$${salt}$${hash}`;
}

/** Its MD5PasswordHasher, kept in front_data.msn.pw_md5 for MSN Messenger 1–4: `md5$<salt>$<base64>`. */
function escargotMd5(password: string, salt: string): string {
  return `md5$${salt}$${createHash('md5')
    .update(salt + password)
    .digest('base64')}`;
}

/**
 * The tables as Escargot's migrations 001–009 leave them (core/db.py): t_user and
 * t_user_contact with SQLAlchemy's SQLite types (JSONType is TEXT there).
 */
const ESCARGOT_SCHEMA = `
create table t_user (
  id integer not null primary key, date_created datetime not null, date_login datetime,
  email varchar not null, groups text not null, message varchar, name varchar, password varchar not null,
  settings text not null, uuid varchar not null unique, verified boolean not null, front_data text not null,
  username varchar not null, friendly_name varchar not null, message_last_modified datetime not null,
  name_last_modified datetime not null
);
create unique index email_ci_index on t_user (lower(email));
create unique index username_ci_index on t_user (lower(username));
create table t_user_contact (
  anniversary datetime, birthdate datetime, business_website varchar, contact_id integer not null references t_user (id),
  fax_phone varchar, first_name varchar, front_data text not null, groups text not null, home_phone varchar,
  im_email varchar, index_id varchar not null, is_messenger_user boolean not null, last_name varchar,
  lists integer not null, locations text not null, middle_name varchar, mobile_phone varchar, name varchar not null,
  nickname varchar, notes varchar, other_email varchar, other_phone varchar, pager_phone varchar,
  pending boolean not null, personal_email varchar, personal_website varchar, primary_email_type varchar,
  user_id integer not null references t_user (id), user_uuid varchar not null references t_user (uuid),
  uuid varchar not null references t_user (uuid), work_phone varchar, work_email varchar,
  primary key (user_id, contact_id)
);`;

function makeEscargotDatabase(file: string): void {
  const db = new BetterSqlite3(file);
  db.exec(ESCARGOT_SCHEMA);
  const user = db.prepare(
    `insert into t_user (id, date_created, email, groups, name, password, settings, uuid, verified, front_data,
       username, friendly_name, message_last_modified, name_last_modified)
     values (?, '2019-04-01 12:00:00.000000', ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, '2019-04-01 12:00:00', '2019-04-01 12:00:00')`,
  );
  user.run(
    1,
    'Alice@localhost',
    JSON.stringify([
      { id: '1', uuid: 'aaaaaaaa-0000-0000-0000-000000000001', name: 'Buddies', is_favorite: false },
    ]),
    'Alice from Escargot',
    escargotPassword('alices old password', 'Hq3kW0s9LxYv2mN'),
    JSON.stringify({ BLP: 'BL' }),
    'u-alice',
    JSON.stringify({ msn: { pw_md5: escargotMd5('alices old password', '8c1f2a9d3e4b5c6') } }),
    'alice',
    'Alice',
  );
  user.run(
    2,
    'bob@localhost',
    '[]',
    null,
    escargotPassword('bobs old password', 'p0q9r8s7t6u5v4w'),
    '{}',
    'u-bob',
    JSON.stringify({ msn: { pw_md5: escargotMd5('bobs old password', 'a1b2c3d4e5f6a7b') } }),
    'bob',
    'Bobby',
  );
  const contact = db.prepare(
    `insert into t_user_contact (contact_id, front_data, groups, index_id, is_messenger_user, lists, locations,
       name, nickname, pending, user_id, user_uuid, uuid)
     values (?, '{}', ?, '1', 1, ?, '{}', ?, ?, 0, ?, ?, ?)`,
  );
  // Lst: FL 1, AL 2, BL 4, RL 8, PL 16.
  contact.run(
    2,
    JSON.stringify([{ id: '1', uuid: 'aaaaaaaa-0000-0000-0000-000000000001' }]),
    1 | 2 | 8,
    'Bobby',
    'Bob B.',
    1,
    'u-alice',
    'u-bob',
  );
  contact.run(1, '[]', 1 | 2 | 8, 'Alice', null, 2, 'u-bob', 'u-alice');
  db.close();
}

describe('papillon import escargot', () => {
  it('imports an Escargot database; its users sign in over MSNP12, MSNP7 and XMPP PLAIN with their old passwords', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-escargot-'));
    const escargot = path.join(dir, 'escargot.sqlite');
    makeEscargotDatabase(escargot);
    const env = {
      PAPILLON_DATABASE_URL: `sqlite:${path.join(dir, 'papillon.sqlite')}`,
      PAPILLON_DATA_DIR: dir,
    };
    let server: TestServer | undefined;
    try {
      const imported = await runCli(['import', 'escargot', escargot], env);
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(
        imported.stdout,
        /imported 2 accounts, 2 contacts, 0 offline messages from the Escargot database/,
      );

      server = await startTestServer({ PAPILLON_DATABASE_URL: env.PAPILLON_DATABASE_URL });
      // A wrong password is still wrong.
      await assert.rejects(msnpSignIn(server, { version: 12, handle: 'alice@localhost', password: 'guess' }));
      // MSN Messenger 7.5 with the Escargot password: checked against the PBKDF2 hash, upgraded.
      const msn = await msnpSignIn(server, {
        version: 12,
        handle: 'alice@localhost',
        password: 'alices old password',
      });
      msn.send(`SYN ${msn.trid()} 0 0`);
      const lst = await msn.expect('LST');
      assert.match(lst.args.join(' '), /bob@localhost/);
      await msn.close();
      // MSN Messenger 4.x: Escargot's MD5 form came across as it is.
      const old = await msnpSignIn(server, {
        version: 7,
        handle: 'bob@localhost',
        password: 'bobs old password',
      });
      await old.close();

      const alice = await connectXmpp(server, {
        username: 'alice',
        password: 'alices old password',
        mechanism: 'PLAIN',
      });
      try {
        const result = await alice.iq(
          xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })),
        );
        const item = result.getChild('query')?.getChild('item');
        assert.equal(item?.attrs.jid, 'bob@localhost');
        assert.equal(item?.attrs.subscription, 'both');
        assert.equal(item?.attrs.name, 'Bob B.');
        assert.deepEqual(
          item?.getChildren('group').map((g) => g.text()),
          ['Buddies'],
        );
      } finally {
        await alice.stop();
      }
      // Bob never signed in with a plaintext password yet: SASL PLAIN does it, upgraded too.
      const bob = await connectXmpp(server, {
        username: 'bob',
        password: 'bobs old password',
        mechanism: 'PLAIN',
      });
      await bob.stop();
      const bobScram = await connectXmpp(server, {
        username: 'bob',
        password: 'bobs old password',
        mechanism: 'SCRAM-SHA-1',
      });
      await bobScram.stop();
    } finally {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says when the file is not an Escargot database', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'papillon-escargot-'));
    const env = {
      PAPILLON_DATABASE_URL: `sqlite:${path.join(dir, 'papillon.sqlite')}`,
      PAPILLON_DATA_DIR: dir,
    };
    const none = await runCli(['import', 'escargot', path.join(dir, 'missing.sqlite')], env);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /cannot open the Escargot database/);
    new BetterSqlite3(path.join(dir, 'empty.sqlite')).close();
    const empty = await runCli(['import', 'escargot', path.join(dir, 'empty.sqlite')], env);
    assert.match(empty.stderr, /does not look like an Escargot database/);
    rmSync(dir, { recursive: true, force: true });
  });
});
