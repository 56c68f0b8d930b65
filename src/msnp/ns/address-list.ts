import type { ContactView } from '../../core/relationships.ts';
import { isPapillonError } from '../../util/errors.ts';
import { MsnpError } from '../errors.ts';
import { circleAdl, isCircleMl } from './circle.ts';
import { type NsHandler, tridOf } from './handler.ts';
import { LIST_BITS } from './lists.ts';
import {
  CIRCLE_NETWORK,
  isMessengerContact,
  type MlContact,
  MlError,
  type MlPayload,
  mlXml,
  parseMl,
} from './ml.ts';
import { MsnpReply } from './reply.ts';
import type { NsSession } from './session.ts';

/** The payload as an `<ml>`, or the error the real service answered (241/240 end the connection). */
function readMl(s: NsSession, payload: Buffer | undefined): MlPayload {
  try {
    return parseMl(payload?.toString('utf8') ?? '');
  } catch (err) {
    if (err instanceof MlError) {
      s.log.info({ code: err.code }, 'bad <ml> payload');
      throw new MsnpReply(err.code, err.code !== MsnpError.invalidNetworkId);
    }
    throw err;
  }
}

/**
 * Checks what every ADL/RML must hold: only Messenger contacts (circles are not
 * offered: 933, other networks: 204) and no reverse or pending list bits, which only
 * the other side's actions change (241 and disconnect, as Escargot answers).
 */
function checkContacts(contacts: readonly MlContact[]): void {
  for (const contact of contacts) {
    if (contact.lists & (LIST_BITS.RL | LIST_BITS.PL)) throw new MsnpReply(MsnpError.invalidXmlPayload, true);
    if (contact.network === CIRCLE_NETWORK) throw new MsnpReply(MsnpError.invalidCircleMembership);
    if (!isMessengerContact(contact)) {
      throw new MsnpReply(
        contact.network === undefined || contact.network === 1
          ? MsnpError.invalidParameter
          : MsnpError.invalidNetworkId,
      );
    }
  }
}

/** Each contact's account id; 208 for a handle with no account (checked before anything changes). */
async function accountIds(s: NsSession, contacts: readonly MlContact[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const contact of contacts) {
    const account = await s.ctx.core.accounts.find(contact.handle);
    if (!account) throw new MsnpReply(MsnpError.invalidUsername);
    ids.set(contact.handle, account.id);
  }
  return ids;
}

/**
 * `apply` for each contact with its account id and the lists the signed-in account has
 * it on, once every handle is known (208 before anything changes). The account's own
 * handle is refused with 201 (ADL) or passed over (RML).
 */
async function eachListed(
  s: NsSession,
  accountId: string,
  contacts: readonly MlContact[],
  self: 'refuse' | 'skip',
  apply: (contact: MlContact, id: string, mine: ContactView['mine']) => Promise<void>,
): Promise<void> {
  const ids = await accountIds(s, contacts);
  for (const contact of contacts) {
    const id = ids.get(contact.handle) as string;
    if (id === accountId) {
      if (self === 'refuse') throw new MsnpReply(MsnpError.invalidParameter);
      continue;
    }
    const view = await s.ctx.core.relationships.contact(accountId, id);
    await apply(contact, id, view.mine);
  }
}

/**
 * MSNP13+ `ADL trid len` + `<ml>` → `ADL trid OK` (NINA wiki Commands/ADL; Pidgin
 * `msn_notification_dump_contact` and `msn_notification_add_buddy_to_list`). The
 * initial list (`<ml l="1">`) is the address book the client just fetched from the
 * server's own ABCH, so it changes nothing (COMPAT: Pidgin waits for `ADL OK` of every
 * initial ADL before it signs in; an error for one stale contact would stall it).
 * Later ADLs put contacts on FL/AL/BL: the same core operations as ADC and XMPP
 * roster subscriptions. Presence of a new forward contact follows as NLN (the core
 * sends it to the new watcher).
 */
export const ADL: NsHandler = {
  state: 'online',
  when: (d) => d.addressBook,
  async run(s, c) {
    const trid = tridOf(c);
    const account = s.account;
    if (!account) return;
    const ml = readMl(s, c.payload);
    if (s.dialect?.circles && isCircleMl(ml)) return circleAdl(s, trid, ml);
    checkContacts(ml.contacts);
    if (!ml.initial) {
      const core = s.ctx.core.relationships;
      await eachListed(s, account.id, ml.contacts, 'refuse', async (contact, _id, mine) => {
        try {
          if (contact.lists & LIST_BITS.FL && !mine.forward)
            await core.addForward(account.id, contact.handle);
          if (contact.lists & LIST_BITS.AL && !mine.allow) await core.allow(account.id, contact.handle);
          if (contact.lists & LIST_BITS.BL && !mine.block) await core.block(account.id, contact.handle);
        } catch (err) {
          if (isPapillonError(err, 'conflict')) throw new MsnpReply(MsnpError.listFull);
          throw err;
        }
      });
    }
    s.send('ADL', trid, 'OK');
  },
};

/** MSNP13+ `RML trid len` + `<ml>` → `RML trid OK`: takes contacts off FL/AL/BL (like REM). */
export const RML: NsHandler = {
  state: 'online',
  when: (d) => d.addressBook,
  async run(s, c) {
    const trid = tridOf(c);
    const account = s.account;
    if (!account) return;
    const ml = readMl(s, c.payload);
    checkContacts(ml.contacts);
    const core = s.ctx.core.relationships;
    await eachListed(s, account.id, ml.contacts, 'skip', async (contact, id, mine) => {
      if (contact.lists & LIST_BITS.FL && mine.forward) await core.removeForward(account.id, id);
      if (contact.lists & LIST_BITS.AL && mine.allow) await core.unallow(account.id, id);
      if (contact.lists & LIST_BITS.BL && mine.block) await core.unblock(account.id, id);
    });
    s.send('RML', trid, 'OK');
  },
};

/**
 * MSNP13+ `FQY trid len` + `<ml><d n="…"><c n="…"/></d></ml>`: which network each
 * address is on. Accounts of this server answer `t="1"` (the Messenger network, as
 * the live service answered for a Passport). Unknown addresses are answered
 * `208 trid len` with their `<ml>` (COMPAT: Pidgin's `fqy_error` reads that payload
 * to mark them "network unknown" and finish signing in; a bare 208 would stall it).
 */
export const FQY: NsHandler = {
  state: 'online',
  when: (d) => d.addressBook,
  async run(s, c) {
    const trid = tridOf(c);
    const ml = readMl(s, c.payload);
    if (ml.contacts.length === 0) throw new MsnpReply(MsnpError.invalidXmlPayload, true);
    const known = [];
    const unknown = [];
    for (const contact of ml.contacts) {
      const account = isMessengerContact(contact)
        ? await s.ctx.core.accounts.find(contact.handle)
        : undefined;
      if (account) known.push({ handle: account.handle, attributes: { t: 1 } });
      else unknown.push({ handle: contact.handle, attributes: {} });
    }
    if (known.length > 0) s.sendPayload('FQY', [trid], mlXml(known));
    if (unknown.length > 0) s.sendPayload(String(MsnpError.invalidUsername), [trid], mlXml(unknown));
  },
};
