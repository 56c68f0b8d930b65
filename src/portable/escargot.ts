/**
 * Reads an Escargot database (the MSN revival server, github.com/toeserve/escargot)
 * as PortableAccounts, for `papillon import escargot`. The schema is Escargot's as its
 * migrations leave it (core/db.py, migrations/001–009): `t_user` (email, name,
 * friendly_name, password, groups and settings as JSON, front_data JSON with the MSN
 * MD5 form) and `t_user_contact` (one row per owner and contact: the MSN lists as a
 * bit set, JSON groups, nickname). Read only: nothing is written to it.
 *
 * Passwords: `password` is `pbkdf2_sha256$<iterations>$<salt>$<base64>`; it is kept
 * as the legacy hash (core/legacy-hash.ts) and is also SCRAM-SHA-256's SaltedPassword,
 * so SCRAM-SHA-256 works at once. `front_data.msn.pw_md5` is `md5$<salt>$<base64 of
 * MD5(salt + password)>`: exactly Papillon's MSNP2–7 form, carried over as it is.
 */
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { scramSha256FromPbkdf2 } from '../core/legacy-hash.ts';
import { PapillonError } from '../util/errors.ts';
import type { PortableAccount, PortableContact, PortableCredentials } from './model.ts';

/** Escargot's core/models.py `Lst`. */
const LST = { FL: 0x01, AL: 0x02, BL: 0x04, RL: 0x08, PL: 0x10 } as const;

interface UserRow {
  id: number;
  email: string;
  name: string | null;
  friendly_name: string | null;
  password: string;
  groups: unknown;
  settings: unknown;
  front_data: unknown;
  date_created: unknown;
}

interface ContactRow {
  user_id: number;
  contact_id: number;
  lists: number;
  groups: unknown;
  is_messenger_user: unknown;
  nickname: string | null;
}

/** `source`: a `postgres://` URL or an SQLite file (optionally `sqlite:`-prefixed). */
export async function readEscargot(source: string): Promise<PortableAccount[]> {
  const { users, contacts } = /^postgres(ql)?:\/\//.test(source)
    ? await readPostgres(source)
    : readSqlite(source.replace(/^sqlite:(\/\/)?/, ''));
  return toAccounts(users, contacts);
}

const USER_QUERY =
  'select id, email, name, friendly_name, password, groups, settings, front_data, date_created from t_user order by id';
const CONTACT_QUERY =
  'select user_id, contact_id, lists, groups, is_messenger_user, nickname from t_user_contact order by user_id, contact_id';

function readSqlite(file: string): { users: UserRow[]; contacts: ContactRow[] } {
  let db: BetterSqlite3.Database;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new PapillonError(
      'bad-config',
      `cannot open the Escargot database ${file}: ${(err as Error).message}`,
    );
  }
  try {
    return {
      users: db.prepare(USER_QUERY).all() as UserRow[],
      contacts: db.prepare(CONTACT_QUERY).all() as ContactRow[],
    };
  } catch (err) {
    throw notEscargot(file, err);
  } finally {
    db.close();
  }
}

async function readPostgres(url: string): Promise<{ users: UserRow[]; contacts: ContactRow[] }> {
  const client = new pg.Client({ connectionString: url });
  const where = url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  try {
    await client.connect();
  } catch (err) {
    throw new PapillonError(
      'bad-config',
      `cannot connect to the Escargot database ${where}: ${(err as Error).message}`,
    );
  }
  try {
    const users = (await client.query<UserRow>(USER_QUERY)).rows;
    const contacts = (await client.query<ContactRow>(CONTACT_QUERY)).rows;
    return { users, contacts };
  } catch (err) {
    throw notEscargot(where, err);
  } finally {
    await client.end();
  }
}

function notEscargot(where: string, err: unknown): PapillonError {
  return new PapillonError(
    'bad-config',
    `${where} does not look like an Escargot database (t_user, t_user_contact): ${(err as Error).message}`,
  );
}

function toAccounts(users: UserRow[], contacts: ContactRow[]): PortableAccount[] {
  const byId = new Map(users.map((u) => [Number(u.id), u]));
  const listsOf = new Map(contacts.map((c) => [`${c.user_id}:${c.contact_id}`, Number(c.lists) || 0]));
  const accounts = new Map<number, PortableAccount>();
  const groupNames = new Map<number, Map<string, string>>();
  for (const user of users) {
    const groups = arrayOf(json(user.groups)).filter(isRecord);
    groupNames.set(Number(user.id), new Map(groups.map((g) => [String(g.id), String(g.name ?? '')])));
    const settings = json(user.settings);
    accounts.set(Number(user.id), {
      handle: user.email,
      displayName: user.name || user.friendly_name || undefined,
      // Escargot's BLP: AL (default) shows presence to everyone not blocked, BL only to the allow list.
      privacy: isRecord(settings) && settings.BLP === 'BL' ? 'allow-list' : 'allow-all',
      createdAt: timeOf(user.date_created),
      credentials: credentialsOf(user),
      groups: groups.map((g) => String(g.name ?? '')).filter((n) => n !== ''),
      contacts: [],
      offline: [],
    });
  }
  for (const row of contacts) {
    const owner = accounts.get(Number(row.user_id));
    const other = byId.get(Number(row.contact_id));
    if (!owner || !other) continue;
    const lists = Number(row.lists) || 0;
    // What Papillon stores: RL is the other side's FL, PL its not-yet-noticed add.
    const theirs = listsOf.get(`${row.contact_id}:${row.user_id}`) ?? 0;
    const forward = (lists & LST.FL) !== 0;
    const messenger = row.is_messenger_user !== false && row.is_messenger_user !== 0;
    if (!forward && (lists & (LST.AL | LST.BL)) === 0) continue;
    const names = groupNames.get(Number(row.user_id)) ?? new Map<string, string>();
    const contact: PortableContact = {
      handle: other.email,
      nickname: row.nickname || null,
      groups: arrayOf(json(row.groups))
        .filter(isRecord)
        .flatMap((g) => names.get(String(g.id)) ?? []),
      lists: {
        forward: forward && messenger,
        allow: (lists & LST.AL) !== 0,
        block: (lists & LST.BL) !== 0,
        noticed: (theirs & LST.PL) === 0,
        listed: forward && !messenger,
      },
    };
    owner.contacts.push(contact);
  }
  return [...accounts.values()];
}

function credentialsOf(user: UserRow): PortableCredentials {
  const credentials: PortableCredentials = {};
  if (user.password?.startsWith('pbkdf2_sha256$')) {
    credentials.legacyHash = user.password;
    const scram = scramSha256FromPbkdf2(user.password);
    if (scram) credentials.scramSha256 = scram;
  }
  const frontData = json(user.front_data);
  const msn = isRecord(frontData) ? frontData.msn : undefined;
  const md5 = isRecord(msn) && typeof msn.pw_md5 === 'string' ? msn.pw_md5.split('$') : [];
  if (md5.length === 3 && md5[0] === 'md5' && md5[1]) {
    const digest = Buffer.from(md5[2] ?? '', 'base64');
    if (digest.length === 16) {
      credentials.md5Salt = md5[1];
      credentials.md5Digest = digest.toString('hex');
    }
  }
  return credentials;
}

/** SQLite keeps Escargot's JSON columns as text; pg hands them over parsed. */
function json(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** SQLAlchemy writes naive UTC datetimes ("2019-05-01 12:00:00.123456"). */
function timeOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime() - value.getTimezoneOffset() * 60_000;
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(`${value.replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1')}Z`);
  return Number.isFinite(t) ? t : undefined;
}
