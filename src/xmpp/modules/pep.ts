import { PepError, type PepNodeConfig } from '../../core/pep.ts';
import type { AccountRow } from '../../store/types.ts';
import { randomToken } from '../../util/ids.ts';
import { bareJid, parseJid } from '../../util/jid.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { errorReply, StanzaError, type StanzaErrorCondition, type StanzaErrorType } from '../stanza-error.ts';
import { RawXml, type XmlElement, xml } from '../stream/element.ts';
import {
  applyFields,
  configForm,
  formFields,
  NODE_CONFIG_FORM,
  PUBLISH_OPTIONS_FORM,
  satisfies,
} from './pep-config.ts';
import { itemElement, notifyChange } from './pep-notify.ts';
import { configOf, defaultConfigOf, PROFILES, profileOf } from './pep-profile.ts';

/**
 * XEP-0163 personal eventing: the account's bare JID is its own pubsub service
 * (XEP-0060). The owner publishes, retracts, creates, configures and deletes nodes;
 * whoever the node's access model lets in reads its items.
 */

/** XEP-0163 §6.1 / XEP-0060 §10: what the account's PEP service offers, for disco#info. */
export const PEP_FEATURES = [
  'access-open',
  'access-presence',
  'access-whitelist',
  'auto-create',
  'auto-subscribe',
  'config-node',
  // COMPAT: Gajim stores XEP-0402 bookmarks only where "max" items is announced (and #compat-pep).
  'config-node-max',
  'create-and-configure',
  'create-nodes',
  'delete-nodes',
  'filtered-notifications',
  'item-ids',
  'last-published',
  'multi-items',
  'persistent-items',
  'presence-notifications',
  'publish',
  'publish-options',
  'retract-items',
  'retrieve-items',
].map((f) => `${NS.pubsub}#${f}`);

/** An error with XEP-0060's application condition (`pubsub#errors`), e.g. precondition-not-met. */
class PubsubFailure extends Error {
  constructor(
    readonly type: StanzaErrorType,
    readonly condition: StanzaErrorCondition,
    readonly app?: string,
    readonly attrs: Record<string, string> = {},
  ) {
    super(app ?? condition);
  }
}

function failureReply(iq: XmlElement, f: PubsubFailure): XmlElement {
  const reply = errorReply(iq, f.type, f.condition);
  if (f.app) reply.getChild('error')?.append(xml(f.app, { xmlns: NS.pubsubErrors, ...f.attrs }));
  return reply;
}

type Handler = (s: XmppSession, iq: XmlElement, op: XmlElement, pubsub: XmlElement) => Promise<XmlElement[]>;

function dispatch(xmlns: string, ops: Record<string, Handler>) {
  return async (s: XmppSession, iq: XmlElement): Promise<XmlElement> => {
    const pubsub = iq.getChild('pubsub', xmlns) as XmlElement;
    // The operation is the first child that is not an options form (XEP-0060 §7.1.5, §8.1.3).
    const op = pubsub.getChildren().find((c) => c.name !== 'publish-options' && c.name !== 'configure');
    const named = op ?? pubsub.getChild('configure');
    const handler = named && Object.hasOwn(ops, named.name) ? ops[named.name] : undefined;
    try {
      if (!named || !handler) {
        throw new PubsubFailure('cancel', 'feature-not-implemented', 'unsupported', {
          feature: named?.name ?? 'unknown',
        });
      }
      const children = await handler(s, iq, named, pubsub);
      return xml(
        'iq',
        { type: 'result', id: iq.attrs.id, from: iq.attrs.to, to: s.jid },
        children.length > 0 ? xml('pubsub', { xmlns }, ...children) : undefined,
      );
    } catch (err) {
      if (err instanceof PubsubFailure) return failureReply(iq, err);
      if (err instanceof PepError) {
        if (err.reason === 'no-such-node')
          return failureReply(iq, new PubsubFailure('cancel', 'item-not-found'));
        // §7.1.3.4
        if (err.reason === 'payload-too-big') {
          return failureReply(iq, new PubsubFailure('modify', 'not-acceptable', 'payload-too-big'));
        }
        return errorReply(iq, 'wait', 'resource-constraint', err.message);
      }
      throw err;
    }
  };
}

/** The account the IQ is addressed to (its bare JID, or the sender's own). */
async function targetAccount(s: XmppSession, iq: XmlElement): Promise<AccountRow> {
  const to = iq.attrs.to ? parseJid(iq.attrs.to) : undefined;
  const handle = to?.local ? bareJid(to) : s.bare;
  const account = await s.ctx.core.accounts.find(handle);
  if (!account) throw new PubsubFailure('cancel', 'item-not-found');
  return account;
}

/** XEP-0060 §7.1.3.1: only the owner publishes or manages the account's nodes. */
async function ownAccount(s: XmppSession, iq: XmlElement): Promise<AccountRow> {
  const account = await targetAccount(s, iq);
  if (account.id !== s.account?.id) throw new PubsubFailure('auth', 'forbidden');
  return account;
}

/** Node names and item ids are namespaces and JIDs in practice; longer ones are refused. */
const MAX_NAME_LENGTH = 1024;

function nodeOf(op: XmlElement): string {
  const node = op.attrs.node;
  if (!node) throw new PubsubFailure('modify', 'bad-request', 'nodeid-required');
  if (node.length > MAX_NAME_LENGTH) throw new PubsubFailure('modify', 'not-acceptable');
  return node;
}

/** XEP-0060 §7.1: publish one item, creating the node if needed (XEP-0163 §3 auto-create). */
async function publish(s: XmppSession, iq: XmlElement, op: XmlElement, pubsub: XmlElement) {
  const core = s.ctx.core;
  const owner = await ownAccount(s, iq);
  const node = nodeOf(op);
  const items = op.getChildren('item');
  // §7.1.3.6 / §7.1.3.5: one item with one payload (PEP nodes deliver payloads).
  if (items.length !== 1) throw new PubsubFailure('modify', 'bad-request', 'item-required');
  const item = items[0] as XmlElement;
  const payloads = item.getChildren();
  if (payloads.length !== 1) {
    throw new PubsubFailure(
      'modify',
      'bad-request',
      payloads.length ? 'invalid-payload' : 'payload-required',
    );
  }
  const payload = payloads[0] as XmlElement;
  const itemId = item.attrs.id || randomToken(8);
  if (itemId.length > MAX_NAME_LENGTH) throw new PubsubFailure('modify', 'not-acceptable');
  const options = formFields(
    pubsub.getChild('publish-options')?.getChild('x', NS.dataForms),
    PUBLISH_OPTIONS_FORM,
  );
  const current = await configOf(core, owner.id, node);
  let config = current.config;
  // §7.1.5: an existing node must already be configured as asked; a new one is created so.
  if (options && current.stored && !satisfies(config, options)) {
    throw new PubsubFailure('cancel', 'conflict', 'precondition-not-met');
  }
  if (options && !current.stored) {
    const applied = applyFields(config, options);
    if (applied.refused) throw new PubsubFailure('cancel', 'conflict', 'precondition-not-met');
    config = applied.config;
  }
  const profile = profileOf(node);
  const verdict = profile?.publish ? await profile.publish(core, owner, itemId, payload) : 'store';
  if (!current.stored) await core.pep.configure(owner.id, node, config);
  if (verdict === 'store') {
    await core.pep.publish(owner.id, node, itemId, payload.toString());
    await notifyChange(core, owner, node, config, itemElement(itemId, payload));
  } else {
    // The account changed: its own resources hear it here, contacts through presence.
    const fresh = (await core.store.getAccountById(owner.id)) ?? owner;
    const derived = profile?.derived;
    const now = derived && ((await derived.current(core, fresh)) ?? derived.cleared?.());
    if (now) await notifyChange(core, fresh, node, config, itemElement(now.itemId, now.payload), true);
  }
  return [xml('publish', { node }, xml('item', { id: itemId }))];
}

/** XEP-0060 §7.2: the owner deletes an item; subscribers hear of it when the node says so. */
async function retract(s: XmppSession, iq: XmlElement, op: XmlElement) {
  const core = s.ctx.core;
  const owner = await ownAccount(s, iq);
  const node = nodeOf(op);
  const itemId = op.getChild('item')?.attrs.id;
  if (!itemId) throw new PubsubFailure('modify', 'bad-request', 'item-required');
  const { config, stored } = await configOf(core, owner.id, node);
  const derived = profileOf(node)?.derived;
  if (!stored && !derived) throw new PubsubFailure('cancel', 'item-not-found');
  const removed = stored && (await core.pep.retract(owner.id, node, itemId));
  // A derived item is the account's own (its picture, its name): retracting it changes nothing.
  if (!removed) {
    if (derived) return [];
    throw new PubsubFailure('cancel', 'item-not-found');
  }
  // §7.2.2.1: the notify attribute, else the node's pubsub#notify_retract.
  const notify =
    op.attrs.notify === undefined ? config.notifyRetract : ['1', 'true'].includes(op.attrs.notify);
  if (notify) await notifyChange(core, owner, node, config, xml('retract', { id: itemId }));
  return [];
}

/** XEP-0060 §6.5: items of a node, as its access model allows (XEP-0163 §5 presence by default). */
async function items(s: XmppSession, iq: XmlElement, op: XmlElement) {
  const core = s.ctx.core;
  const viewer = s.account as AccountRow;
  const owner = await targetAccount(s, iq);
  const node = nodeOf(op);
  const { config, stored } = await configOf(core, owner.id, node);
  await checkRead(s, viewer, owner, config);
  const derived = profileOf(node)?.derived;
  const list: Array<{ itemId: string; payload: XmlElement | RawXml }> = [];
  const current = derived && (await derived.current(core, owner));
  if (current) list.push(current);
  if (stored && (!derived || derived.mergeStored)) {
    for (const item of await core.pep.items(owner.id, node)) {
      // Written out as stored: XML the owner's stanza carried, parsed then.
      if (item.itemId !== current?.itemId)
        list.push({ itemId: item.itemId, payload: new RawXml(item.payload) });
    }
  }
  if (!stored && list.length === 0) throw new PubsubFailure('cancel', 'item-not-found');
  // §6.5.7: the newest max_items; §6.5.8: the items asked for by id.
  const wanted = op.getChildren('item').map((i) => i.attrs.id ?? '');
  let chosen = wanted.length > 0 ? list.filter((i) => wanted.includes(i.itemId)) : list;
  const max = Number(op.attrs.max_items);
  if (Number.isInteger(max) && max > 0) chosen = chosen.slice(0, max);
  return [xml('items', { node }, ...chosen.reverse().map((i) => xml('item', { id: i.itemId }, i.payload)))];
}

/** XEP-0060 §6.5.9.x errors for a reader the access model keeps out. */
async function checkRead(s: XmppSession, viewer: AccountRow, owner: AccountRow, config: PepNodeConfig) {
  if (await s.ctx.core.pep.mayRead(viewer.id, owner.id, config)) return;
  if (config.accessModel === 'whitelist') throw new PubsubFailure('cancel', 'not-allowed', 'closed-node');
  throw new PubsubFailure('auth', 'not-authorized', 'presence-subscription-required');
}

/** XEP-0060 §8.1: create a node, with a configuration (§8.1.3) if given. */
async function create(s: XmppSession, iq: XmlElement, op: XmlElement, pubsub: XmlElement) {
  const core = s.ctx.core;
  const owner = await ownAccount(s, iq);
  // §8.1.2 instant nodes have no place in PEP (one node per namespace).
  if (!op.attrs.node) throw new PubsubFailure('modify', 'not-acceptable', 'nodeid-required');
  const node = op.attrs.node;
  const current = await configOf(core, owner.id, node);
  if (current.stored) throw new PubsubFailure('cancel', 'conflict');
  const fields = formFields(pubsub.getChild('configure')?.getChild('x', NS.dataForms), NODE_CONFIG_FORM);
  const applied = fields ? applyFields(current.config, fields) : { config: current.config };
  if (applied.refused)
    throw new PubsubFailure('modify', 'not-acceptable', 'unsupported', { feature: 'config-node' });
  await core.pep.configure(owner.id, node, applied.config);
  return [];
}

async function subscribeUnsupported(): Promise<XmlElement[]> {
  // XEP-0163 §4.1: contacts are subscribed by their presence subscription.
  throw new PubsubFailure('cancel', 'feature-not-implemented', 'unsupported', { feature: 'subscribe' });
}

export const pubsubGet = dispatch(NS.pubsub, { items });
export const pubsubSet = dispatch(NS.pubsub, {
  publish,
  retract,
  create,
  subscribe: subscribeUnsupported,
  unsubscribe: subscribeUnsupported,
});

/** XEP-0060 §8.2: the owner's configuration form, and its submission. */
async function configure(s: XmppSession, iq: XmlElement, op: XmlElement) {
  const core = s.ctx.core;
  const owner = await ownAccount(s, iq);
  const node = nodeOf(op);
  const current = await configOf(core, owner.id, node);
  if (!current.stored && !profileOf(node)?.derived) throw new PubsubFailure('cancel', 'item-not-found');
  if (iq.attrs.type === 'get') return [xml('configure', { node }, configForm(current.config))];
  const x = op.getChild('x', NS.dataForms);
  // §8.2.4: a cancelled form changes nothing.
  if (x?.attrs.type === 'cancel') return [];
  const fields = formFields(x, NODE_CONFIG_FORM);
  if (!fields) throw new PubsubFailure('modify', 'bad-request');
  const applied = applyFields(current.config, fields);
  if (applied.refused) throw new PubsubFailure('modify', 'not-acceptable');
  await core.pep.configure(owner.id, node, applied.config);
  return [];
}

/** XEP-0060 §8.4: the owner deletes a node and its items. */
async function deleteNode(s: XmppSession, iq: XmlElement, op: XmlElement) {
  const owner = await ownAccount(s, iq);
  const node = nodeOf(op);
  if (!(await s.ctx.core.pep.deleteNode(owner.id, node))) throw new PubsubFailure('cancel', 'item-not-found');
  return [];
}

export const pubsubOwnerGet = dispatch(NS.pubsubOwner, { configure });
export const pubsubOwnerSet = dispatch(NS.pubsubOwner, { configure, delete: deleteNode });

/** XEP-0163 §6.1 / XEP-0030: the nodes of the account the asker may read, as disco#items. */
export async function pepDiscoItems(s: XmppSession, ownerHandle: string): Promise<XmlElement[]> {
  const core = s.ctx.core;
  const owner = await core.accounts.find(ownerHandle);
  const viewer = s.account;
  if (!owner || !viewer) throw new StanzaError('cancel', 'item-not-found');
  const out: XmlElement[] = [];
  const stored = new Map((await core.pep.nodes(owner.id)).map((n) => [n.node, n.config]));
  for (const [node, profile] of Object.entries(PROFILES)) {
    if (!stored.has(node) && profile.derived && (await profile.derived.current(core, owner))) {
      stored.set(node, defaultConfigOf(node));
    }
  }
  for (const [node, config] of [...stored].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (await core.pep.mayRead(viewer.id, owner.id, config))
      out.push(xml('item', { jid: owner.handle, node }));
  }
  return out;
}
