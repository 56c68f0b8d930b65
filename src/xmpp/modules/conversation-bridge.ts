import type { Membership } from '../../core/conversation-membership.ts';
import type { ConversationEvent, MessageContent, Participant } from '../../core/conversations.ts';
import type { Core } from '../../core/core.ts';
import type { Logger } from '../../server/logger.ts';
import type { AccountRow } from '../../store/types.ts';
import { isPapillonError } from '../../util/errors.ts';
import { routeStanza } from '../c2s/context.ts';
import { NS } from '../namespaces.ts';
import { type XmlElement, xml } from '../stream/element.ts';
import { BridgeOwners, type ForwardedSend, PAIR_OWNERSHIP_MS } from './bridge-owners.ts';
import { copyReceived } from './carbons.ts';
import { xmppResources } from './message.ts';
import { stampStanzaId } from './stanza-id.ts';

const NS_ATTENTION = 'urn:xmpp:attention:0'; // XEP-0224
/** Endpoint ids of XMPP accounts taking part in conversations through this bridge. */
const BRIDGE_ENDPOINT = 'xmpp-bridge:';

interface Entry {
  conversationId: string;
  account: AccountRow;
  participant: Participant;
  /** The account's place in the conversation, on this node or another (set once joined). */
  membership?: Membership;
  /** Text and nudges waiting for the other side to join (an MSN client answers RNG first). */
  queue: MessageContent[];
  joined: boolean;
  /** When this node last renewed its ownership of the pair (bridge-owners.ts). */
  claimedAt?: number;
  /**
   * The XMPP resource that last spoke here: replies go to it, as a contact's client
   * answers the full JID it last heard from (RFC 6121 §5.1); the account's other
   * resources get them as carbon copies (XEP-0280 §7).
   */
  resource?: string;
}

/** What an XMPP message means in conversation terms (text, typing, nudge), if anything. */
export function contentFromStanza(el: XmlElement): MessageContent | undefined {
  const body = el.getChildText('body');
  if (body !== undefined) return { kind: 'text', text: body };
  if (el.getChild('attention', NS_ATTENTION)) return { kind: 'nudge' };
  if (el.getChild('composing', NS.chatStates)) return { kind: 'typing' };
  return undefined;
}

/**
 * XMPP users in conversations with MSNP users (ARCHITECTURE: "when an XMPP user talks
 * to an MSNP user, the core opens a switchboard for the MSNP side and the XMPP user
 * appears in it as a participant"). One participant per XMPP account and
 * conversation; what the MSN side says reaches every available resource of the
 * account as `type='chat'` messages from `handle/msn`.
 */
export class ConversationBridge {
  /** `${xmppAccountId}|${otherAccountId}` → the 1:1 conversation between them. */
  private readonly byPair = new Map<string, Entry>();
  /** `${xmppAccountId}|${conversationId}`. */
  private readonly byConversation = new Map<string, Entry>();
  /** Which node's bridge speaks for each pair in the cluster (one conversation per pair, issue 11). */
  private readonly owners: BridgeOwners;

  constructor(
    private readonly core: Core,
    private readonly logger: Logger,
  ) {
    this.owners = new BridgeOwners(core.bus, (send) => this.forwarded(send), logger);
  }

  /**
   * Sends XMPP `content` from `sender` to `recipient`'s MSNP side, ringing them into a
   * new conversation if there is none. The pair's conversation may be another node's
   * bridge's (the account has resources there too): then it goes there, and that
   * bridge sends it (bridge-owners.ts). False when they cannot be reached (offline,
   * invisible, blocking): the caller keeps the message offline instead.
   */
  async send(
    sender: AccountRow,
    recipient: AccountRow,
    content: MessageContent,
    resource?: string,
    retry = true,
  ): Promise<boolean> {
    const pair = `${sender.id}|${recipient.id}`;
    if (!this.current(pair)) {
      const owner = await this.owners.claim(pair);
      if (owner !== this.owners.nodeId) {
        const send: ForwardedSend = { senderId: sender.id, recipientId: recipient.id, content };
        if (resource !== undefined) send.resource = resource;
        const result = await this.owners.forward(owner, send);
        if (typeof result === 'boolean') return result;
        // The owner's node is gone (no answer), or its conversation ended meanwhile: ask again.
        const next = await this.owners.claim(pair, result === 'no-answer' ? owner : undefined);
        if (next !== this.owners.nodeId && retry)
          return this.send(sender, recipient, content, resource, false);
      }
    }
    return this.sendHere(sender, recipient, content, resource, retry);
  }

  /** This node's conversation for the pair, if it has a live one. */
  private current(pair: string): Entry | undefined {
    const entry = this.byPair.get(pair);
    if (entry?.membership && !entry.membership.active) {
      this.forget(entry);
      return undefined;
    }
    return entry;
  }

  /** A message another node's resource wrote, for a pair this node owns (bridge-owners.ts). */
  private async forwarded(send: ForwardedSend): Promise<boolean | 'not-owner'> {
    const pair = `${send.senderId}|${send.recipientId}`;
    if (!this.current(pair) && (await this.owners.claim(pair)) !== this.owners.nodeId) return 'not-owner';
    const [sender, recipient] = await Promise.all([
      this.core.accounts.findById(send.senderId),
      this.core.accounts.findById(send.recipientId),
    ]);
    if (!sender || !recipient) return false;
    return this.sendHere(sender, recipient, send.content, send.resource, true);
  }

  /** `send` on this node, which owns the pair. */
  private async sendHere(
    sender: AccountRow,
    recipient: AccountRow,
    content: MessageContent,
    resource: string | undefined,
    retry: boolean,
  ): Promise<boolean> {
    const conversations = this.core.conversations;
    let entry = this.current(`${sender.id}|${recipient.id}`);
    if (!entry) {
      // Typing rings too, as an MSN client opens the switchboard when its user starts
      // typing in a new window: the contact sees "… is typing" before the first message.
      const conversation = conversations.create();
      entry = this.track(sender, conversation.id, false);
      this.byPair.set(`${sender.id}|${recipient.id}`, entry);
      const membership = await this.enter(entry);
      try {
        if (!membership) throw new Error('could not join a conversation just created');
        await conversations.invite(conversation.id, entry.participant, recipient.handle);
      } catch (err) {
        membership?.leave();
        this.forget(entry);
        if (isPapillonError(err, 'not-authorized') || isPapillonError(err, 'no-such-account')) return false;
        throw err;
      }
    }
    if (resource !== undefined) entry.resource = resource;
    this.renew(entry, recipient.id);
    const membership = entry.membership;
    if (entry.joined && membership) {
      const delivered = await membership.send(content);
      // The conversation's node was lost meanwhile: the message goes to a new one.
      if (delivered === 0 && !membership.active && retry)
        return this.send(sender, recipient, content, resource, false);
    }
    // Until the contact answers: kept in order, one typing notice for a run of them.
    else if (content.kind !== 'typing' || entry.queue.at(-1)?.kind !== 'typing') entry.queue.push(content);
    return true;
  }

  /**
   * An MSN user rang this XMPP account into their conversation (`CAL`), hosted on
   * `hostNodeId` (this node when absent): the account joins it once, from one node.
   */
  async accept(account: AccountRow, conversationId: string, hostNodeId?: string): Promise<void> {
    if (this.byConversation.has(`${account.id}|${conversationId}`)) return;
    const entry = this.track(account, conversationId, true);
    try {
      // Rung by another XMPP user's bridge (for this account's MSN client): XMPP-to-XMPP
      // messages are routed directly, so joining would deliver them a second time.
      if (!(await this.enter(entry, hostNodeId, BRIDGE_ENDPOINT))) this.forget(entry);
    } catch (err) {
      this.forget(entry);
      this.logger.error({ err }, 'joining an MSN conversation from XMPP failed');
    }
  }

  /** An entry for `account` in `conversationId`, known before it has joined (sends meanwhile queue). */
  private track(account: AccountRow, conversationId: string, joined: boolean): Entry {
    const participant: Participant = {
      accountId: account.id,
      handle: account.handle,
      displayName: account.displayName,
      // The same on every node: the conversation's host lets the account in once.
      endpointId: `${BRIDGE_ENDPOINT}${account.id}:${conversationId}`,
      capabilities: {},
      // What it says was archived where message.ts routed it (mam.ts archiveSent).
      archived: true,
    };
    const entry: Entry = { conversationId, account, participant, queue: [], joined };
    this.byConversation.set(`${account.id}|${conversationId}`, entry);
    return entry;
  }

  private async enter(
    entry: Entry,
    hostNodeId?: string,
    unlessOnly?: string,
  ): Promise<Membership | undefined> {
    const membership = await this.core.conversations.enter(
      entry.conversationId,
      hostNodeId,
      entry.participant,
      (event, m) => this.onEvent(entry, m, event),
      unlessOnly,
    );
    if (!membership) return undefined;
    this.joined(entry, membership);
    // A 1:1 conversation someone else opened is also where this account's replies go,
    // from every node (this bridge is the one the conversation let in).
    const others = membership.others();
    const only = others.length === 1 ? others[0] : undefined;
    if (only && only.accountId !== entry.account.id) await this.own(entry, only.accountId);
    return membership;
  }

  /** The pair's replies go to `entry`, on this node and (claimed for it) from the others. */
  private async own(entry: Entry, otherId: string): Promise<void> {
    const pair = `${entry.account.id}|${otherId}`;
    this.byPair.set(pair, entry);
    entry.claimedAt = Date.now();
    await this.owners.claim(pair, true).catch((err: unknown) => {
      this.logger.warn({ err }, 'claiming an XMPP-MSN conversation for this node failed');
    });
  }

  /** Renews this node's ownership of the pair while its conversation is in use. */
  private renew(entry: Entry, otherId: string): void {
    const now = Date.now();
    if (entry.claimedAt !== undefined && now - entry.claimedAt < PAIR_OWNERSHIP_MS / 4) return;
    entry.claimedAt = now;
    this.owners.claim(`${entry.account.id}|${otherId}`).catch(() => {});
  }

  /** Stops taking messages other nodes forward (server shutdown). */
  close(): Promise<void> {
    return this.owners.close();
  }

  /** The membership is known (it may be heard from before `enter` returns it): queued messages go. */
  private joined(entry: Entry, membership: Membership): void {
    if (entry.membership) return;
    entry.membership = membership;
    if (entry.joined) this.flush(entry);
  }

  private flush(entry: Entry): void {
    const membership = entry.membership;
    if (!membership) return;
    for (const content of entry.queue.splice(0)) void membership.send(content);
  }

  private onEvent(entry: Entry, membership: Membership, event: ConversationEvent): void {
    this.joined(entry, membership);
    switch (event.type) {
      case 'joined': {
        entry.joined = true;
        if (!this.byPair.has(`${entry.account.id}|${event.participant.accountId}`)) {
          void this.own(entry, event.participant.accountId);
        }
        this.flush(entry);
        return;
      }
      case 'left':
        if (membership.others().length === 0) {
          membership.leave();
          this.forget(entry);
        }
        return;
      case 'message':
        void this.deliver(entry, event.from, event.content, event.archiveId).catch((err: unknown) =>
          this.logger.error({ err }, 'bridging a message to XMPP failed'),
        );
        return;
    }
  }

  /** A message from the conversation, as XMPP clients expect it (chat states XEP-0085, attention XEP-0224). */
  private async deliver(
    entry: Entry,
    from: Participant,
    content: MessageContent,
    archiveId?: string,
  ): Promise<void> {
    const stanza = xml('message', { from: `${from.handle}/msn`, to: entry.account.handle, type: 'chat' });
    if (content.kind === 'text')
      stanza.append(xml('body', {}, content.text), xml('active', { xmlns: NS.chatStates }));
    else if (content.kind === 'typing') stanza.append(xml('composing', { xmlns: NS.chatStates }));
    else if (content.kind === 'nudge') stanza.append(xml('attention', { xmlns: NS_ATTENTION }));
    else return;
    // XEP-0313: where the message is in the account's archive (core archived it).
    stampStanzaId(stanza, archiveId, entry.account.handle);
    const accountId = entry.account.id;
    const resources = await xmppResources(this.core, accountId);
    const available = resources.filter((r) => r.available).map((r) => r.resource);
    if (entry.resource !== undefined && available.includes(entry.resource)) {
      stanza.attrs.to = `${entry.account.handle}/${entry.resource}`;
      await routeStanza(this.core, accountId, stanza, [entry.resource]);
      await copyReceived(this.core, accountId, stanza, [entry.resource], resources);
    } else if (available.length > 0) {
      await routeStanza(this.core, accountId, stanza);
      await copyReceived(this.core, accountId, stanza, available, resources);
    } else if (content.kind === 'text') {
      // Nobody to show it to any more: nothing is lost, it waits offline.
      await this.core.offline.save(entry.account.id, from.handle, {
        kind: 'chat',
        text: content.text,
        senderName: from.displayName,
        // The stanza as it would have gone, stanza-id included.
        ...(archiveId === undefined ? {} : { xml: stanza.toString() }),
      });
    }
  }

  private forget(entry: Entry): void {
    this.byConversation.delete(`${entry.account.id}|${entry.conversationId}`);
    for (const [pair, value] of this.byPair) {
      if (value !== entry) continue;
      this.byPair.delete(pair);
      this.owners.release(pair);
    }
  }
}
