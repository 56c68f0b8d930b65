import { isPapillonError } from '../../util/errors.ts';
import { decodeParam, encodeParam } from '../codec/index.ts';
import { MsnpError } from '../errors.ts';
import { listVersion, type NsHandler, tridOf } from './handler.ts';
import { MsnpReply } from './reply.ts';
import type { NsSession } from './session.ts';

/** The account preference behind GTC: `no` when the user is not asked on being added (GTC N). */
export const ASK_WHEN_ADDED = 'privacy.ask-when-added';

/** `A` (ask) unless the account said `GTC N`. */
export function gtcMode(own: Record<string, string>): 'A' | 'N' {
  return own[ASK_WHEN_ADDED] === 'no' ? 'N' : 'A';
}

async function setOwnName(s: NsSession, raw: string): Promise<string> {
  if (!s.account) throw new MsnpReply(MsnpError.notLoggedIn);
  try {
    const updated = await s.ctx.core.accounts.setDisplayName(s.account.id, decodeParam(raw));
    s.account = updated;
    return updated.displayName;
  } catch (err) {
    if (isPapillonError(err, 'bad-display-name')) throw new MsnpReply(MsnpError.invalidFriendlyName);
    throw err;
  }
}

/**
 * §8.7 `REA trid handle name` (MSNP2–9): your own handle renames you (watchers get
 * NLN with the new name); a contact's handle sets your nickname for them.
 */
export const REA: NsHandler = {
  state: 'online',
  when: (d) => d.nameCommand === 'REA',
  async run(s, c) {
    const trid = tridOf(c);
    const handle = (c.args[1] ?? '').toLowerCase();
    const raw = c.args[2];
    if (!s.account || !raw) throw new MsnpReply(MsnpError.syntaxError);
    let name: string;
    if (handle === s.account.handle) {
      name = await setOwnName(s, raw);
    } else {
      const contact = await s.ctx.core.accounts.find(handle);
      if (!contact) throw new MsnpReply(MsnpError.notOnList);
      const view = await s.ctx.core.relationships.contact(s.account.id, contact.id);
      if (!view.mine.forward && !view.mine.allow && !view.mine.block)
        throw new MsnpReply(MsnpError.notOnList);
      name = decodeParam(raw);
      await s.ctx.core.relationships.setNickname(s.account.id, contact.id, name);
    }
    const version = await listVersion(s);
    s.send('REA', trid, version, handle, encodeParam(name));
  },
};

/**
 * §8.7 phone properties → the account's profile properties (shared with XMPP vCard
 * `TEL`). MOB ("others may page my mobile") is kept as a yes/no property. MBE, WWE and
 * HSB are set by the server only.
 */
export const PHONE_PROPERTIES: Record<string, string> = {
  PHH: 'phone.home',
  PHW: 'phone.work',
  PHM: 'phone.mobile',
  MOB: 'mobile.contactable',
};

/** §8.7 `PRP trid key value`: MFN (MSNP10+) is the display name; the phone keys (MSNP5+). */
export const PRP: NsHandler = {
  state: 'online',
  when: (d) => d.phones,
  async run(s, c) {
    const trid = tridOf(c);
    const key = c.args[1] ?? '';
    const raw = c.args[2] ?? '';
    const dialect = s.dialect;
    if (!dialect || !s.account) return;
    if (key === 'MFN' && dialect.nameCommand === 'PRP') {
      const name = await setOwnName(s, raw);
      s.send('PRP', trid, 'MFN', encodeParam(name));
      return;
    }
    if (key.length > 3) throw new MsnpReply(MsnpError.invalidParameter, true);
    const property = PHONE_PROPERTIES[key];
    if (!property) throw new MsnpReply(MsnpError.notExpected);
    if (Buffer.byteLength(raw) > 95) throw new MsnpReply(MsnpError.invalidParameter, true);
    if (key === 'MOB' && raw !== 'Y' && raw !== 'N' && raw !== '')
      throw new MsnpReply(MsnpError.invalidParameter);
    await s.ctx.core.accounts.setProperty(s.account.id, property, raw ? decodeParam(raw) : null);
    const args: (string | number)[] = [trid];
    if (dialect.versionInReplies) {
      args.push(await listVersion(s));
    }
    args.push(key);
    if (raw) args.push(raw);
    s.send('PRP', ...args);
  },
};

/** §8.7 `SBP trid guid MFN name` (MSNP10–12): your nickname for a contact. */
export const SBP: NsHandler = {
  state: 'online',
  when: (d) => d.lists === 'guid',
  async run(s, c) {
    const trid = tridOf(c);
    const [, who, key, raw] = c.args;
    if (!s.account || !who || !key) throw new MsnpReply(MsnpError.syntaxError);
    const contact = (await s.ctx.core.accounts.findById(who)) ?? (await s.ctx.core.accounts.find(who));
    if (!contact) throw new MsnpReply(MsnpError.notOnList);
    if (key === 'MFN') {
      await s.ctx.core.relationships.setNickname(s.account.id, contact.id, raw ? decodeParam(raw) : null);
    }
    s.send('SBP', trid, ...c.args.slice(1));
  },
};
