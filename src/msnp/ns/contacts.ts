import type { ContactView } from '../../core/relationships.ts';
import { isPapillonError } from '../../util/errors.ts';
import { isValidHandle, normalizeHandle } from '../../util/handle.ts';
import type { MsnpCommand } from '../codec/index.ts';
import { decodeParam, encodeParam } from '../codec/index.ts';
import { MsnpError } from '../errors.ts';
import { listVersion, type NsHandler, tridOf } from './handler.ts';
import { findGroup, friendlyName, groupIdFor, type ListName, onList, sendLists } from './lists.ts';
import { ASK_WHEN_ADDED, PHONE_PROPERTIES } from './profile.ts';
import { MsnpReply } from './reply.ts';
import type { NsSession } from './session.ts';

/** Only the phone properties go into SYN (others, like the avatar, can be large). */
const PHONE_PROPERTY_NAMES = Object.values(PHONE_PROPERTIES);

function accountOf(s: NsSession) {
  if (!s.account) throw new MsnpReply(MsnpError.notLoggedIn);
  return s.account;
}

/** §8.2 `SYN trid version` (2–9) / `SYN trid ts ts` (10–12): the whole list. */
export const SYN: NsHandler = {
  state: 'online',
  async run(s, c) {
    const account = accountOf(s);
    const core = s.ctx.core;
    const snapshot = await core.relationships.snapshot(account.id);
    const byContact = new Map<string, Record<string, string>>();
    // Phone numbers (BPR, MSNP5+) of forward-list contacts who let this account see them.
    for (const view of s.dialect?.phones ? snapshot.contacts : []) {
      // `to`/`both`: on the forward list and allowed to see them (core/subscription.ts).
      if (view.derived.subscription === 'to' || view.derived.subscription === 'both') {
        byContact.set(view.contact.id, await core.accounts.properties(view.contact.id, PHONE_PROPERTY_NAMES));
      }
    }
    sendLists(s, tridOf(c), snapshot, {
      own: await core.accounts.properties(account.id, [...PHONE_PROPERTY_NAMES, ASK_WHEN_ADDED]),
      byContact,
    });
  },
};

/**
 * §8.7 `GTC trid A|N`: whether the client asks its user when someone adds them (the
 * dialog is the client's). Kept as an account preference so the next sign-in's SYN,
 * on any MSN client, says the same.
 */
export const GTC: NsHandler = {
  state: 'online',
  async run(s, c) {
    const mode = c.args[1];
    if (mode !== 'A' && mode !== 'N') throw new MsnpReply(MsnpError.invalidParameter, true);
    await s.ctx.core.accounts.setProperty(accountOf(s).id, ASK_WHEN_ADDED, mode === 'N' ? 'no' : null);
    if (s.dialect?.versionInReplies) s.send('GTC', tridOf(c), await listVersion(s), mode);
    else s.send('GTC', tridOf(c), mode);
  },
};

/**
 * §8.7 `BLP trid AL|BL`: the privacy default (AL: everyone not blocked sees me).
 * The mode already set is echoed like a change (core's setPrivacy changes nothing
 * then). COMPAT: libpurple re-sends the current mode after every sign-in, and
 * msn-pecan treats any error but 208 and 913 as fatal (notification.c
 * error_handler), so the documented 218 made it reconnect forever; the live service
 * echoed `BLP trid AL`.
 */
export const BLP: NsHandler = {
  state: 'online',
  async run(s, c) {
    const mode = c.args[1];
    if (mode !== 'AL' && mode !== 'BL') throw new MsnpReply(MsnpError.invalidParameter, true);
    const account = accountOf(s);
    const privacy = mode === 'AL' ? 'allow-all' : 'allow-list';
    const version = await s.ctx.core.relationships.setPrivacy(account.id, privacy);
    if (s.dialect?.versionInReplies) s.send('BLP', tridOf(c), version, mode);
    else s.send('BLP', tridOf(c), mode);
  },
};

/** The account's group named `id` as the dialect names groups (§8.6); 224 if there is none. */
async function requireGroup(s: NsSession, id: string) {
  const group = findGroup(s, await s.ctx.core.relationships.groups(accountOf(s).id), id);
  if (!group) throw new MsnpReply(MsnpError.invalidGroup);
  return group;
}

async function contactByHandle(s: NsSession, handle: string): Promise<ContactView | undefined> {
  const contact = await s.ctx.core.accounts.find(handle);
  if (!contact) return undefined;
  return s.ctx.core.relationships.contact(accountOf(s).id, contact.id);
}

/**
 * Puts `handle` on `list`. Shared by ADD (2–9) and ADC (10–12). Returns the contact
 * (the replies need only its handle, id and name, which the change does not touch). Errors per §8.3/8.4: 201 bad handle, 205/208 unknown user, 215 already
 * there, 219 in the opposite list, 224 unknown group.
 */
async function addToList(
  s: NsSession,
  list: ListName,
  handleInput: string,
  groupId: string | undefined,
): Promise<ContactView> {
  const account = accountOf(s);
  const core = s.ctx.core;
  const handle = normalizeHandle(handleInput);
  if (!isValidHandle(handle)) throw new MsnpReply(MsnpError.invalidParameter);
  const unknownUser = s.dialect?.listCommand === 'ADD' ? MsnpError.invalidUser : MsnpError.invalidUsername;
  if (handle === account.handle && list === 'FL') throw new MsnpReply(MsnpError.invalidParameter);
  const before = await contactByHandle(s, handle);
  if (!before) throw new MsnpReply(unknownUser);
  const group = groupId !== undefined && groupId !== '0' ? await requireGroup(s, groupId) : undefined;

  if (list === 'FL') {
    if (before.mine.forward) {
      // An existing contact with a group: add it to that group (§8.3, MSNP7+).
      if (!group || before.groupIds.includes(group.id)) throw new MsnpReply(MsnpError.alreadyThere);
      await core.relationships.addToGroup(account.id, before.contact.id, group.id);
    } else {
      await core.relationships.addForward(account.id, handle);
      if (group) await core.relationships.addToGroup(account.id, before.contact.id, group.id);
    }
  } else if (list === 'AL') {
    if (before.mine.allow) throw new MsnpReply(MsnpError.alreadyThere);
    if (before.mine.block) throw new MsnpReply(MsnpError.alreadyInOppositeList);
    await core.relationships.allow(account.id, handle);
  } else if (list === 'BL') {
    if (before.mine.block) throw new MsnpReply(MsnpError.alreadyThere);
    if (before.mine.allow) throw new MsnpReply(MsnpError.alreadyInOppositeList);
    await core.relationships.block(account.id, handle);
  } else {
    // The reverse list is the other side's doing; a client may not write it (§8.3).
    throw new MsnpReply(MsnpError.invalidParameter, true);
  }
  return before;
}

/**
 * The list a client command names: FL, AL, BL; with `pendingLists` (MSNP10–12 ADC and
 * REM) also RL and PL, which a client writes only to acknowledge an add (§8.1).
 * Anything else disconnects (§8.3/§8.4).
 */
function parseList(s: NsSession, token: string | undefined): ListName {
  if (token === 'FL' || token === 'AL' || token === 'BL') return token;
  if ((token === 'RL' || token === 'PL') && s.dialect?.lists === 'guid') return token;
  throw new MsnpReply(MsnpError.invalidParameter, true);
}

/**
 * §8.1: MSNP10–12 clients acknowledge "X has added you" with `ADC trid RL N=handle`
 * and `REM trid PL handle` (msn-pecan sends both for every PL contact after the
 * list arrives). The reverse list is the other side's to change, so `ADC RL` only
 * echoes; `REM PL` takes the add off the pending list (core acknowledgeAdded).
 * COMPAT: both are echoed even when there is nothing to acknowledge (the adder
 * removed the user meanwhile, or another of the user's clients answered first):
 * msn-pecan treats an error here as fatal and would reconnect.
 */
async function acknowledgeAdd(s: NsSession, list: 'RL' | 'PL', handleInput: string): Promise<string> {
  const handle = normalizeHandle(handleInput);
  if (!isValidHandle(handle)) throw new MsnpReply(MsnpError.invalidParameter);
  const contact = await s.ctx.core.accounts.find(handle);
  if (list === 'PL' && contact) await s.ctx.core.relationships.acknowledgeAdded(accountOf(s).id, contact.id);
  return contact?.handle ?? handle;
}

/** §8.3 `ADD trid FL|AL|BL handle friendly [group]` (MSNP2–9). */
export const ADD: NsHandler = {
  state: 'online',
  when: (d) => d.listCommand === 'ADD',
  async run(s, c) {
    const trid = tridOf(c);
    const list = parseList(s, c.args[1]);
    const handle = c.args[2];
    if (!handle) throw new MsnpReply(MsnpError.syntaxError);
    const groupId = list === 'FL' && s.dialect?.groups ? c.args[4] : undefined;
    const view = await addToList(s, list, handle, groupId);
    const args: (string | number)[] = [
      trid,
      list,
      await listVersion(s),
      view.contact.handle,
      friendlyName(view),
    ];
    if (groupId !== undefined) args.push(groupId);
    s.send('ADD', ...args);
  },
};

/** `N=handle`, `F=name`, `C=guid` arguments of ADC/LST, in any order (§8.4). */
function namedArgs(command: MsnpCommand): { n?: string; f?: string; c?: string; rest: string[] } {
  const out: { n?: string; f?: string; c?: string; rest: string[] } = { rest: [] };
  for (const arg of command.args.slice(2)) {
    if (arg.startsWith('N=')) out.n = arg.slice(2);
    else if (arg.startsWith('F=')) out.f = arg.slice(2);
    else if (arg.startsWith('C=')) out.c = arg.slice(2);
    else out.rest.push(arg);
  }
  return out;
}

/** §8.4 `ADC trid FL N=handle F=name` / `ADC trid FL C=guid groupguid` / `ADC trid AL|BL N=handle` (MSNP10–12). */
export const ADC: NsHandler = {
  state: 'online',
  when: (d) => d.listCommand === 'ADC',
  async run(s, c) {
    const trid = tridOf(c);
    const list = parseList(s, c.args[1]);
    const named = namedArgs(c);
    if (list === 'PL') throw new MsnpReply(MsnpError.invalidParameter, true); // §8.4: ADC PL disconnects.
    if (list === 'RL') {
      if (!named.n) throw new MsnpReply(MsnpError.syntaxError);
      s.send('ADC', trid, 'RL', `N=${await acknowledgeAdd(s, 'RL', named.n)}`);
      return;
    }
    const groupId = list === 'FL' ? named.rest[0] : undefined;
    let handle = named.n;
    if (!handle && named.c) {
      const byId = await s.ctx.core.accounts.findById(named.c);
      if (!byId) throw new MsnpReply(MsnpError.invalidUsername);
      handle = byId.handle;
    }
    if (!handle) throw new MsnpReply(MsnpError.syntaxError);
    const view = await addToList(s, list, handle, groupId);
    if (list !== 'FL') {
      s.send('ADC', trid, list, `N=${view.contact.handle}`);
    } else if (named.n) {
      const args = [
        trid,
        list,
        `N=${view.contact.handle}`,
        `F=${friendlyName(view)}`,
        `C=${view.contact.id}`,
      ];
      if (groupId) args.push(groupId);
      s.send('ADC', ...args);
    } else {
      s.send('ADC', trid, list, `C=${view.contact.id}`, groupId ?? '');
    }
  },
};

/**
 * §8.5 REM: MSNP2–9 `REM trid LIST handle [group]`; MSNP10–12 `REM trid FL guid [groupguid]`
 * and `REM trid AL|BL handle`. 216 when not on the list, 224/225 for groups.
 */
export const REM: NsHandler = {
  state: 'online',
  async run(s, c) {
    const trid = tridOf(c);
    const list = parseList(s, c.args[1]);
    const who = c.args[2];
    const groupId = c.args[3];
    if (!who) throw new MsnpReply(MsnpError.syntaxError);
    if (list === 'RL') throw new MsnpReply(MsnpError.invalidParameter, true); // §8.5: REM RL disconnects.
    if (list === 'PL') {
      s.send('REM', trid, 'PL', await acknowledgeAdd(s, 'PL', who));
      return;
    }
    const account = accountOf(s);
    const core = s.ctx.core;
    const guidStyle = s.dialect?.lists === 'guid' && list === 'FL';
    const contact = guidStyle ? await core.accounts.findById(who) : await core.accounts.find(who);
    if (!contact) throw new MsnpReply(MsnpError.notOnList);
    const view = await core.relationships.contact(account.id, contact.id);
    if (!onList(view, list)) throw new MsnpReply(MsnpError.notOnList);
    if (list === 'FL' && groupId !== undefined && groupId !== '0') {
      const group = await requireGroup(s, groupId);
      if (!view.groupIds.includes(group.id)) throw new MsnpReply(MsnpError.notInGroup);
      await core.relationships.removeFromGroup(account.id, contact.id, group.id);
    } else if (list === 'FL') {
      await core.relationships.removeForward(account.id, contact.id);
    } else if (list === 'AL') {
      await core.relationships.unallow(account.id, contact.id);
    } else {
      await core.relationships.unblock(account.id, contact.id);
    }
    const args: (string | number)[] = [trid, list];
    if (s.dialect?.versionInReplies) args.push(await listVersion(s));
    args.push(who);
    if (groupId !== undefined && list === 'FL') args.push(groupId);
    s.send('REM', ...args);
  },
};

/** Maps a core error from a group call to its MSNP code. */
export function groupError(err: unknown): never {
  if (isPapillonError(err, 'too-many-groups')) throw new MsnpReply(MsnpError.tooManyGroups);
  if (isPapillonError(err, 'group-name-taken')) throw new MsnpReply(MsnpError.groupNameExists);
  if (isPapillonError(err, 'bad-group-name')) throw new MsnpReply(MsnpError.groupNameTooLong);
  if (isPapillonError(err, 'no-such-group')) throw new MsnpReply(MsnpError.invalidGroup);
  throw err;
}

/** §8.6 ADG: 7–9 `ADG trid name 0` → `ADG trid ver name id 0`; 10–12 `ADG trid name` → `ADG trid name guid`. */
export const ADG: NsHandler = {
  state: 'online',
  when: (d) => d.groups,
  async run(s, c) {
    const trid = tridOf(c);
    const name = decodeParam(c.args[1] ?? '');
    const { group, listVersion: version } = await s.ctx.core.relationships
      .createGroup(accountOf(s).id, name)
      .catch(groupError);
    if (s.dialect?.lists === 'guid') s.send('ADG', trid, encodeParam(group.name), group.id);
    else s.send('ADG', trid, version, encodeParam(group.name), group.number, 0);
  },
};

async function groupFromArg(s: NsSession, id: string | undefined) {
  if (!id) throw new MsnpReply(MsnpError.syntaxError);
  if (id === '0' && s.dialect?.lists !== 'guid') throw new MsnpReply(MsnpError.cannotRemoveGroupZero);
  return requireGroup(s, id);
}

/**
 * §8.6 RMG: 7–9 `RMG trid id` → `RMG trid ver id`; 10–12 `RMG trid guid` → `RMG trid guid`
 * (COMPAT: msn-pecan reads the GUID as the first argument). Contacts in the group
 * stay on the forward list, ungrouped: nothing is lost with a group.
 */
export const RMG: NsHandler = {
  state: 'online',
  when: (d) => d.groups,
  async run(s, c) {
    const trid = tridOf(c);
    const group = await groupFromArg(s, c.args[1]);
    const version = await s.ctx.core.relationships.deleteGroup(accountOf(s).id, group.id).catch(groupError);
    if (s.dialect?.lists === 'guid') s.send('RMG', trid, group.id);
    else s.send('RMG', trid, version, group.number);
  },
};

/** §8.6 REG: 7–9 `REG trid id name 0` → `REG trid ver id name 0`; 10–12 `REG trid guid name` → echo. */
export const REG: NsHandler = {
  state: 'online',
  when: (d) => d.groups,
  async run(s, c) {
    const trid = tridOf(c);
    const group = await groupFromArg(s, c.args[1]);
    const name = decodeParam(c.args[2] ?? '');
    const { group: renamed, listVersion: version } = await s.ctx.core.relationships
      .renameGroup(accountOf(s).id, group.id, name)
      .catch(groupError);
    if (s.dialect?.lists === 'guid') s.send('REG', trid, renamed.id, encodeParam(renamed.name));
    else s.send('REG', trid, version, groupIdFor(s, renamed), encodeParam(renamed.name), 0);
  },
};
