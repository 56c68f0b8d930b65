import { randomUUID } from 'node:crypto';
import type { ConversationEvent, Participant } from '../../core/conversations.ts';
import type { OfflineMessage } from '../../core/offline.ts';
import type { AccountRow } from '../../store/types.ts';
import { sendRing } from './ring.ts';
import type { NsSession } from './session.ts';

/**
 * How long a server ring waits for `ANS`: the life of the RNG cookie (sb/cookies.ts), and
 * the window [ESC] accepts ANS in (docs/msnp-reference.md §12.2).
 */
export const OFFLINE_RING_TIMEOUT_MS = 60_000;

/** Endpoint ids of the server standing in for a sender in an offline-delivery switchboard. */
const OFFLINE_ENDPOINT = 'msnp-offline:';

interface Ring {
  /** The sender exactly as stored with the messages (what `offline.claim` matches). */
  storedHandle: string;
  conversationId: string;
  participant: Participant;
  answered: boolean;
  timer: NodeJS.Timeout;
}

/**
 * Offline messages for MSNP2–12 clients (ARCHITECTURE "Offline messages": OIM is
 * MSNP13+; older clients get "a switchboard opened by the server"). Started once per
 * notification session, after the first CHG's ILN burst (§9.2). Also while the user
 * appears offline (HDN): an invisible client still takes RNG, and nobody else learns
 * anything from it.
 *
 * For each sender with stored messages the server rings the client, as a contact's
 * CAL does (§12.2 `RNG sessid host:port CKI cookie sender senderFriendly`, same cookie
 * machinery), into a conversation where the server stands in for the sender. When the
 * client answers it gets `IRO … sender …` and `ANS OK`, then each message as
 * `MSG sender senderFriendly len` with the text/plain payload every message from
 * another protocol gets (sb/message-content.ts `payloadFor`; the text exactly as
 * stored), then `BYE sender` (§12.3): the server's part is done. If the user types
 * back, the client either CALs the sender into that switchboard or opens a new one
 * (`XFR SB` + `CAL`; [PECAN] closes a one-to-one switchboard on BYE): the ordinary path
 * — an MSN sender is rung, an XMPP sender joins through the XMPP bridge, an
 * unreachable one gets 217. A MSG typed into the emptied switchboard without a CAL is
 * NAKed in A/N mode (§12.4): no one is there to take it.
 *
 * Losing nothing. The server rings once per sender it sees among the messages still
 * stored (`offline.pending`, a peek), and takes a sender's messages from the store
 * (`offline.claim(recipient, sender)`) only when the client has answered that ring and
 * they are about to be written. A ring never answered or a client that disconnects
 * leaves them stored, for the next sign-in or an XMPP login. The one window is a
 * switchboard that closes between the claim and the last write: the messages not
 * written are stored again (with a new time: an XMPP client that later gets them sees
 * that time in its XEP-0203 delay; MSNP shows none). Claims of one session run one
 * after another.
 */
export class OfflineDelivery {
  /** Senders rung by this session (answered or not): each is rung once per sign-in. */
  private readonly rung = new Set<string>();
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly s: NsSession,
    private readonly account: AccountRow,
  ) {}

  /** Rings the session's user once per sender with stored messages; no-op when there are none. */
  static async start(s: NsSession): Promise<void> {
    const account = s.account;
    // MSNP13+ fetch them from the OIM web service (oim-notification.ts, services/rsi.ts).
    if (!account || s.dialect?.oim) return;
    const delivery = new OfflineDelivery(s, account);
    try {
      await delivery.serial(async () => delivery.ringNew(await s.ctx.core.offline.pending(account.id)));
    } catch (err) {
      // Never the session's end: the messages wait for the next sign-in.
      s.log.error({ err }, 'starting offline-message delivery failed');
    }
  }

  private get core() {
    return this.s.ctx.core;
  }

  /** Runs `task` after every claim/re-store this session started before it. */
  private serial(task: () => Promise<void>): Promise<void> {
    const run = this.tail.then(task);
    this.tail = run.catch(() => {});
    return run;
  }

  /** Rings, in order of first message, every sender in `messages` not yet rung this session. */
  private async ringNew(messages: readonly OfflineMessage[]): Promise<void> {
    // Keyed by the handle as stored: that is what `offline.claim` takes.
    const names = new Map<string, string | undefined>();
    for (const m of messages) {
      if (!this.rung.has(m.senderHandle)) {
        names.set(m.senderHandle, m.content.senderName ?? names.get(m.senderHandle));
      }
    }
    for (const [storedHandle, name] of names) {
      if (this.s.state !== 'online') return;
      this.rung.add(storedHandle);
      await this.ring(storedHandle, name);
    }
  }

  /** A conversation with the server standing in for the sender, and an RNG for it. */
  private async ring(storedHandle: string, storedName: string | undefined): Promise<void> {
    const sender = await this.core.accounts.find(storedHandle);
    const handle = sender?.handle ?? storedHandle;
    const conversation = this.core.conversations.create();
    const participant: Participant = {
      // A deleted sender has no account; the handle still names them.
      accountId: sender?.id ?? `${OFFLINE_ENDPOINT}${handle}`,
      handle,
      displayName: sender?.displayName ?? storedName ?? handle,
      endpointId: `${OFFLINE_ENDPOINT}${randomUUID()}`,
      capabilities: {},
      // The messages it replays were archived when they were sent.
      archived: true,
    };
    const ring: Ring = {
      storedHandle,
      conversationId: conversation.id,
      participant,
      answered: false,
      timer: setTimeout(() => this.giveUp(ring), OFFLINE_RING_TIMEOUT_MS),
    };
    ring.timer.unref();
    // Joined before ringing, so the conversation exists when the client answers (§12.2).
    this.core.conversations.join(conversation.id, participant, (event) => this.onEvent(ring, event));
    this.s.enqueue(() => sendRing(this.s, conversation.id, participant.handle, participant.displayName));
  }

  /** Not answered in time: the server leaves; the messages never left the store. */
  private giveUp(ring: Ring): void {
    if (ring.answered) return;
    this.core.conversations.leave(ring.conversationId, ring.participant.endpointId);
  }

  private onEvent(ring: Ring, event: ConversationEvent): void {
    // sb/session.ts ans() has already sent IRO and ANS OK when the client joins.
    if (event.type !== 'joined' || ring.answered || event.participant.accountId !== this.account.id) return;
    ring.answered = true;
    clearTimeout(ring.timer);
    void this.serial(() => this.deliver(ring)).catch((err: unknown) => {
      this.s.log.error({ err }, 'delivering offline messages failed');
      this.core.conversations.leave(ring.conversationId, ring.participant.endpointId);
    });
  }

  /** The client answered: its sender's messages now, taken from the store as they go out. */
  private async deliver(ring: Ring): Promise<void> {
    const conversations = this.core.conversations;
    const claimed = await this.core.offline.claim(this.account.id, ring.storedHandle);
    let written = 0;
    for (const m of claimed) {
      const reached = conversations.send(ring.conversationId, ring.participant.endpointId, {
        kind: 'text',
        text: m.content.text,
      });
      // The client left before all of them were written: the rest go back.
      if (reached === 0) break;
      written++;
    }
    // §12.3: the server's part is over; the client hears `BYE sender`.
    conversations.leave(ring.conversationId, ring.participant.endpointId);
    await this.restore(claimed.slice(written));
    if (written > 0) {
      this.s.log.info({ count: written, sender: ring.participant.handle }, 'delivered offline messages');
    }
    // Senders whose first message came in meanwhile get a ring of their own.
    await this.ringNew(await this.core.offline.pending(this.account.id));
  }

  /** Stores claimed messages again, in their order (same sender and content; a new time). */
  private async restore(messages: readonly OfflineMessage[]): Promise<void> {
    let failed = 0;
    for (const m of messages) {
      try {
        await this.core.offline.save(this.account.id, m.senderHandle, m.content);
      } catch (err) {
        failed++;
        this.s.log.error({ err, messageId: m.id }, 'could not store an offline message again');
      }
    }
    if (failed > 0) this.s.log.error({ failed }, 'offline messages lost while storing them again');
  }
}
