import type { OfflineMessage } from '../../core/offline.ts';
import type { ConnectionEnd } from '../../core/offline-batch.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { xml } from '../stream/element.ts';

/**
 * Messages leased per step. The next step waits until this one left the process (and,
 * with XEP-0198, was acknowledged), so a large backlog never piles up in one
 * connection's output: 50 of the largest messages (64 KB) stay under its hard bound.
 */
export const OFFLINE_CHUNK = 50;

/** What a session's deliveries wait on: how the session ended, and their settling. */
interface Pending {
  ended: Promise<ConnectionEnd>;
  end: (how: ConnectionEnd) => void;
  settling: Set<Promise<void>>;
}

const pending = new WeakMap<XmppSession, Pending>();

function pendingOf(s: XmppSession): Pending {
  let p = pending.get(s);
  if (!p) {
    let end: (how: ConnectionEnd) => void = () => {};
    const ended = new Promise<ConnectionEnd>((resolve) => {
      end = resolve;
    });
    p = { ended, end, settling: new Set() };
    pending.set(s, p);
  }
  return p;
}

/**
 * XEP-0160 / XEP-0203: messages kept while the account had no available resource,
 * delivered on its next available presence with their original time, in order, and at
 * least once (issue 13). They leave the store only when the client has them: its
 * XEP-0198 `<a/>` covering them, or without stream management, once they were flushed
 * and the connection then stayed up for a moment (core OFFLINE_GRACE_MS) or the client
 * closed its stream itself. Otherwise they are delivered again at the next sign-in,
 * byte for byte the same stanza (same id, same delay stamp).
 */
export async function deliverOffline(s: XmppSession): Promise<void> {
  const account = s.account;
  if (!account || s.state === 'closed') return;
  const batch = await s.ctx.core.offline.lease(account.id, { limit: OFFLINE_CHUNK });
  if (batch.messages.length === 0) return;
  // The session may have ended while the store answered.
  if ((s.state as XmppSession['state']) === 'closed') {
    await batch.release();
    return;
  }
  const sm = s.sm;
  const before = sm?.sentTotal ?? 0;
  for (const m of batch.messages) s.send(stanzaOf(s, m));
  s.log.info({ count: batch.messages.length }, 'delivered offline messages');
  const more = batch.messages.length === OFFLINE_CHUNK;
  // The next step is a task of its own: the session goes on handling the client's
  // stanzas (its `<a/>` among them) meanwhile.
  const next = () => {
    if (more && s.state !== 'closed') s.enqueue(() => deliverOffline(s));
  };
  if (sm) {
    // A session that ended meanwhile took no more: those go back at once.
    const went = sm.sentTotal - before;
    if (went < batch.messages.length) track(s, batch.release(batch.messages.slice(went).map((m) => m.id)));
    if (went === 0) return;
    // XEP-0198 §4: only the client's acknowledgement counts.
    sm.onAcknowledged(went, (acked) => {
      track(s, acked ? batch.acknowledge() : batch.release());
      if (acked) next();
    });
    return;
  }
  const flushed = s.flushed();
  track(s, batch.settleByConnection(flushed, pendingOf(s).ended));
  void flushed.then(next);
}

/** The session ended: deliveries still waiting settle by how it ended; resolves once they did. */
export async function offlineSessionEnded(s: XmppSession): Promise<void> {
  const p = pending.get(s);
  if (!p) return;
  p.end(s.closedByClient ? 'clean' : 'dropped');
  await Promise.all(p.settling);
}

/** Keeps a settling delivery until it is done; a store failure leaves the lease to run out. */
function track(s: XmppSession, settling: Promise<void>): void {
  const { settling: set } = pendingOf(s);
  const done = settling
    .catch((err: unknown) => s.log.error({ err }, 'settling offline messages failed'))
    .finally(() => set.delete(done));
  set.add(done);
}

/** The stanza as stored (or rendered from what another protocol stored), with its XEP-0203 delay. */
function stanzaOf(s: XmppSession, m: OfflineMessage): string {
  const delay = xml(
    'delay',
    { xmlns: NS.delay, from: s.ctx.domain, stamp: new Date(m.sentAt).toISOString() },
    'Offline storage',
  );
  if (m.content.xml) {
    // The stanza as the sender wrote it (with every extension), plus the delay stamp.
    const raw = m.content.xml;
    return raw.endsWith('/>')
      ? `${raw.slice(0, -2)}>${delay}</message>`
      : `${raw.slice(0, raw.lastIndexOf('</message>'))}${delay}</message>`;
  }
  return xml(
    'message',
    { from: m.senderHandle, to: s.jid, type: m.content.kind },
    m.content.subject && xml('subject', {}, m.content.subject),
    xml('body', {}, m.content.text),
    delay,
  ).toString();
}
