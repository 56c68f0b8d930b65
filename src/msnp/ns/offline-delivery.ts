import { randomUUID } from 'node:crypto';
import type { ConversationEvent, Participant } from '../../core/conversations.ts';
import type { OfflineMessage } from '../../core/offline.ts';
import type { ConnectionEnd, OfflineBatch } from '../../core/offline-batch.ts';
import type { AccountRow } from '../../store/types.ts';
import type { SbSession } from '../sb/session.ts';
import { sendRing } from './ring.ts';
import type { NsSession } from './session.ts';

/**
 * How long a server ring waits for `ANS`: the life of the RNG cookie (sb/cookies.ts), and
 * the window [ESC] accepts ANS in (docs/msnp-reference.md §12.2).
 */
export const OFFLINE_RING_TIMEOUT_MS = 60_000;

/** Endpoint ids of the server standing in for a sender in an offline-delivery switchboard. */
const OFFLINE_ENDPOINT = 'msnp-offline:';

/** Messages leased per step; the next step waits until this one left the process. */
const OFFLINE_CHUNK = 50;

interface Ring {
  /** The sender exactly as stored with the messages (what `offline.lease` matches). */
  storedHandle: string;
  conversationId: string;
  participant: Participant;
  answered: boolean;
  timer: NodeJS.Timeout;
  /** The switchboard connection that answered, once it has. */
  sb?: SbSession | undefined;
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
 * Losing nothing (issue 13: at least once). The server rings once per sender it sees
 * among the messages no other delivery holds (`offline.deliverable`, a peek), and
 * leases a sender's messages (`offline.lease(recipient, sender)`) only when the client
 * has answered that ring and they are about to be written. A ring never answered or a
 * client that disconnects leaves them stored, for the next sign-in or an XMPP login.
 * A switchboard has no acknowledgement for what the server writes, so the messages
 * leave the store once flushed and the switchboard connection then stayed up for a
 * moment (core OFFLINE_GRACE_MS) or was closed by the client's OUT; a connection that
 * drops before gives them back, with their id and time, for the next sign-in. Claims
 * of one session run one after another.
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
      await delivery.serial(async () => delivery.ringNew(await s.ctx.core.offline.deliverable(account.id)));
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
    // Keyed by the handle as stored: that is what `offline.lease` takes.
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
    const endpointId = event.participant.endpointId;
    ring.sb = [...this.s.ctx.sbSessions].find((sb) => sb.endpointId === endpointId);
    void this.serial(() => this.deliver(ring)).catch((err: unknown) => {
      this.s.log.error({ err }, 'delivering offline messages failed');
      this.core.conversations.leave(ring.conversationId, ring.participant.endpointId);
    });
  }

  /** The client answered: its sender's messages now, leased from the store as they go out. */
  private async deliver(ring: Ring): Promise<void> {
    const conversations = this.core.conversations;
    let written = 0;
    for (;;) {
      const batch = await this.core.offline.lease(this.account.id, {
        senderHandle: ring.storedHandle,
        limit: OFFLINE_CHUNK,
      });
      const messages = batch.messages;
      let reached = 0;
      for (const m of messages) {
        const to = conversations.send(ring.conversationId, ring.participant.endpointId, {
          kind: 'text',
          text: m.content.text,
        });
        // The client left before all of them were written: the rest go back at once.
        if (to === 0) break;
        reached++;
      }
      await batch.release(messages.slice(reached).map((m) => m.id));
      const flushed = ring.sb?.transport.flushed?.() ?? Promise.resolve();
      if (reached > 0) this.settle(batch, flushed, ring.sb);
      written += reached;
      if (reached < OFFLINE_CHUNK) break;
      // The next step once this one left the process: a backlog never piles up in the
      // switchboard connection's output.
      await flushed;
    }
    // §12.3: the server's part is over; the client hears `BYE sender`.
    conversations.leave(ring.conversationId, ring.participant.endpointId);
    if (written > 0) {
      this.s.log.info({ count: written, sender: ring.participant.handle }, 'delivered offline messages');
    }
    // Senders whose first message came in meanwhile get a ring of their own.
    await this.ringNew(await this.core.offline.deliverable(this.account.id));
  }

  /**
   * Written to switchboard `sb`: they leave the store once `flushed` and the connection
   * stayed up, or ended with the client's OUT (or idle); a drop gives them back.
   */
  private settle(batch: OfflineBatch, flushed: Promise<void>, sb: SbSession | undefined): void {
    const ended: Promise<ConnectionEnd> = sb
      ? sb.ended.then((reason) => (reason === 'closed' ? 'dropped' : 'clean'))
      : // Not a connection of this node: nothing tells whether they arrived.
        Promise.resolve('dropped');
    batch
      .settleByConnection(flushed, ended)
      .catch((err: unknown) => this.s.log.error({ err }, 'settling offline messages failed'));
  }
}
