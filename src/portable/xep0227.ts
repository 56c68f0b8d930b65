/**
 * XEP-0227 (Portable Import/Export Format for XMPP-IM Servers) ↔ PortableAccount.
 *
 * The standard parts are what Prosody's mod_storage_xep0227 and ejabberd's
 * `export_piefxis` read and write: `<user name password?>`, `<scram-credentials
 * xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'>` (iter-count, salt,
 * server-key, stored-key; base64), the `jabber:iq:roster` query, the `vcard-temp`
 * vCard and `<offline-messages>` with XEP-0203 delay stamps. What only Papillon has
 * (MSN's MD5 form, an imported legacy hash, an argon2 hash kept from an older
 * version, MSN's lists, privacy, display name) goes in elements of PAPILLON_NS, which
 * other servers ignore, so a move from one Papillon to another keeps everything.
 */
import type { Privacy, ScramKeys } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';
import { RawXml, type XmlElement, xml } from '../xmpp/stream/element.ts';
import type { ContactLists, PortableAccount, PortableContact, PortableOffline } from './model.ts';
import { parseXmlDocument } from './xml-document.ts';

export const PIE_NS = 'urn:xmpp:pie:0';
export const PIE_SCRAM_NS = 'urn:xmpp:pie:0#scram';
export const PAPILLON_NS = 'urn:papillon:pie:0';
const ROSTER_NS = 'jabber:iq:roster';
const VCARD_NS = 'vcard-temp';
const CLIENT_NS = 'jabber:client';
const DELAY_NS = 'urn:xmpp:delay';

const LIST_FLAGS = ['forward', 'allow', 'block', 'noticed', 'listed'] as const;

/** The XEP-0227 document for `accounts`; `server` stamps the delay elements. */
export function writeXep0227(accounts: readonly PortableAccount[], server: string): string {
  const root = xml('server-data', { xmlns: PIE_NS });
  const hosts = new Map<string, XmlElement>();
  for (const account of accounts) {
    const at = account.handle.lastIndexOf('@');
    const domain = account.handle.slice(at + 1);
    let host = hosts.get(domain);
    if (!host) {
      host = root.c('host', { jid: domain });
      hosts.set(domain, host);
    }
    host.append(userElement(account, account.handle.slice(0, at), server));
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root.toString()}\n`;
}

function userElement(account: PortableAccount, name: string, server: string): XmlElement {
  const user = xml('user', { name });
  const c = account.credentials;
  if (c.scramSha1) user.append(scramElement('SCRAM-SHA-1', c.scramSha1));
  if (c.scramSha256) user.append(scramElement('SCRAM-SHA-256', c.scramSha256));
  const papillon = user.c('account', {
    xmlns: PAPILLON_NS,
    'display-name': account.displayName,
    privacy: account.privacy,
    created: account.createdAt === undefined ? undefined : new Date(account.createdAt).toISOString(),
  });
  if (c.argon2) papillon.c('argon2').append(c.argon2);
  if (c.md5Salt && c.md5Digest) papillon.c('md5', { salt: c.md5Salt }).append(c.md5Digest);
  if (c.legacyHash) papillon.c('legacy-hash').append(c.legacyHash);
  for (const group of account.groups) papillon.c('group').append(group);

  const roster = user.c('query', { xmlns: ROSTER_NS });
  for (const contact of account.contacts) {
    const item = roster.c('item', {
      jid: contact.handle,
      name: contact.nickname ?? undefined,
      subscription: contact.subscription ?? 'none',
      ask: contact.ask ? 'subscribe' : undefined,
    });
    for (const group of contact.groups) item.c('group').append(group);
    if (contact.lists) {
      const flags: Record<string, string> = { xmlns: PAPILLON_NS };
      for (const flag of LIST_FLAGS) flags[flag] = String(contact.lists[flag]);
      item.c('lists', flags);
    }
  }

  const vcard = user.c('vCard', { xmlns: VCARD_NS });
  if (account.displayName) vcard.c('FN').append(account.displayName);
  if (account.vcard) vcard.append(new RawXml(account.vcard));

  if (account.offline.length > 0) {
    const offline = user.c('offline-messages');
    for (const m of account.offline) offline.append(offlineElement(m, account.handle, server));
  }
  return user;
}

function scramElement(mechanism: string, keys: ScramKeys): XmlElement {
  return xml(
    'scram-credentials',
    { xmlns: PIE_SCRAM_NS, mechanism },
    xml('iter-count', {}, String(keys.iterations)),
    xml('salt', {}, keys.salt),
    xml('server-key', {}, keys.serverKey),
    xml('stored-key', {}, keys.storedKey),
  );
}

function offlineElement(m: PortableOffline, to: string, server: string): XmlElement {
  return xml(
    'message',
    { xmlns: CLIENT_NS, from: m.from, to, type: m.kind },
    m.subject !== undefined && xml('subject', {}, m.subject),
    xml('body', {}, m.text),
    xml('delay', { xmlns: DELAY_NS, from: server, stamp: new Date(m.sentAt).toISOString() }),
    (m.senderName !== undefined || m.xml !== undefined) &&
      xml(
        'original',
        { xmlns: PAPILLON_NS, 'sender-name': m.senderName },
        m.xml !== undefined && new RawXml(m.xml),
      ),
  );
}

/** Every account of an XEP-0227 document; `what` names it in errors. */
export function readXep0227(text: string, what: string): PortableAccount[] {
  const root = parseXmlDocument(text, what);
  if (root.name !== 'server-data' || root.xmlns !== PIE_NS) {
    throw new PapillonError(
      'bad-config',
      `${what} is not an XEP-0227 file (no <server-data xmlns="${PIE_NS}">)`,
    );
  }
  const accounts: PortableAccount[] = [];
  for (const host of root.getChildren('host')) {
    const domain = host.attrs.jid ?? '';
    for (const user of host.getChildren('user')) {
      const name = user.attrs.name;
      if (!name || !domain) continue;
      accounts.push(readUser(user, `${name}@${domain}`));
    }
  }
  return accounts;
}

function readUser(user: XmlElement, handle: string): PortableAccount {
  const account: PortableAccount = { handle, credentials: {}, groups: [], contacts: [], offline: [] };
  if (user.attrs.password) account.credentials.plaintext = user.attrs.password;
  for (const scram of user.getChildren('scram-credentials', PIE_SCRAM_NS)) {
    const keys = readScram(scram);
    if (!keys) continue;
    if (scram.attrs.mechanism === 'SCRAM-SHA-1') account.credentials.scramSha1 = keys;
    if (scram.attrs.mechanism === 'SCRAM-SHA-256') account.credentials.scramSha256 = keys;
  }
  const papillon = user.getChild('account', PAPILLON_NS);
  if (papillon) {
    const { credentials } = account;
    const argon2 = papillon.getChildText('argon2');
    if (argon2) credentials.argon2 = argon2;
    const md5 = papillon.getChild('md5');
    if (md5?.attrs.salt && /^[0-9a-f]{32}$/i.test(md5.text())) {
      credentials.md5Salt = md5.attrs.salt;
      credentials.md5Digest = md5.text().toLowerCase();
    }
    const legacy = papillon.getChildText('legacy-hash');
    if (legacy) credentials.legacyHash = legacy;
    if (papillon.attrs['display-name']) account.displayName = papillon.attrs['display-name'];
    const privacy = papillon.attrs.privacy;
    if (privacy === 'allow-all' || privacy === 'allow-list') account.privacy = privacy satisfies Privacy;
    const created = Date.parse(papillon.attrs.created ?? '');
    if (Number.isFinite(created)) account.createdAt = created;
    account.groups = papillon.getChildren('group').map((g) => g.text());
  }
  for (const item of user.getChild('query', ROSTER_NS)?.getChildren('item') ?? []) {
    const contact = readItem(item);
    if (contact) account.contacts.push(contact);
  }
  // Groups only named on items (Prosody, ejabberd) exist too.
  for (const contact of account.contacts) {
    for (const group of contact.groups) if (!account.groups.includes(group)) account.groups.push(group);
  }
  const vcard = user.getChild('vCard', VCARD_NS);
  if (vcard) {
    const fn = vcard.getChildText('FN')?.trim();
    if (fn && !account.displayName) account.displayName = fn;
    const rest = vcard.getChildren().filter((c) => c.name !== 'FN' && c.name !== 'PHOTO');
    if (rest.length > 0) account.vcard = rest.map(String).join('');
  }
  for (const message of user.getChild('offline-messages')?.getChildren('message') ?? []) {
    const offline = readOffline(message);
    if (offline) account.offline.push(offline);
  }
  return account;
}

function readScram(element: XmlElement): ScramKeys | undefined {
  const iterations = Number(element.getChildText('iter-count'));
  const salt = element.getChildText('salt')?.trim();
  const serverKey = element.getChildText('server-key')?.trim();
  const storedKey = element.getChildText('stored-key')?.trim();
  if (!Number.isInteger(iterations) || iterations < 1 || !salt || !serverKey || !storedKey) return undefined;
  return { salt, iterations, serverKey, storedKey };
}

function readItem(item: XmlElement): PortableContact | undefined {
  const handle = item.attrs.jid;
  if (!handle) return undefined;
  const sub = item.attrs.subscription;
  const contact: PortableContact = {
    handle,
    nickname: item.attrs.name ?? null,
    groups: item
      .getChildren('group')
      .map((g) => g.text())
      .filter((g) => g !== ''),
    subscription: sub === 'to' || sub === 'from' || sub === 'both' ? sub : 'none',
    ask: item.attrs.ask === 'subscribe',
  };
  const lists = item.getChild('lists', PAPILLON_NS);
  if (lists) {
    const flags = {} as ContactLists;
    for (const flag of LIST_FLAGS) flags[flag] = lists.attrs[flag] === 'true';
    contact.lists = flags;
  }
  return contact;
}

function readOffline(message: XmlElement): PortableOffline | undefined {
  const from = message.attrs.from;
  if (!from) return undefined;
  const stamp = Date.parse(message.getChild('delay', DELAY_NS)?.attrs.stamp ?? '');
  const original = message.getChild('original', PAPILLON_NS);
  const stanza = original?.getChildren()[0];
  const subject = message.getChildText('subject');
  const senderName = original?.attrs['sender-name'];
  return {
    from,
    sentAt: Number.isFinite(stamp) ? stamp : Date.now(),
    kind: message.attrs.type === 'normal' ? 'normal' : 'chat',
    text: message.getChildText('body') ?? '',
    ...(subject !== undefined ? { subject } : {}),
    ...(senderName !== undefined ? { senderName } : {}),
    ...(stanza ? { xml: stanza.toString() } : {}),
  };
}
