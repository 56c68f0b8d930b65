import { isDeepStrictEqual } from 'node:util';
import type { Bus, EndpointRecord, JsonValue } from '../bus/types.ts';
import type { AccountRow, Store } from '../store/types.ts';
import type { DomainEvents } from './events.ts';
import { LAST_SEEN_PROPERTY } from './last-activity.ts';
import {
  type AccountPresence,
  aggregatePresence,
  asSeenByOthers,
  type EndpointPresence,
  OFFLINE_ENDPOINT,
  offlinePresence,
} from './presence-model.ts';
import type { ContactView } from './relationships.ts';
import type { Visibility } from './visibility.ts';

export interface ConnectedEndpoint {
  endpointId: string;
  nodeId: string;
  presence: EndpointPresence;
  updatedAt: number;
}

function decode(record: EndpointRecord): ConnectedEndpoint {
  return {
    endpointId: record.endpointId,
    nodeId: record.nodeId,
    presence: record.state as unknown as EndpointPresence,
    updatedAt: record.updatedAt,
  };
}

/**
 * How long a change may wait for the next one before watchers hear of it, when its
 * sender says more is coming (`set`'s `settle`): an MSN client sends its status (`CHG`)
 * and then its personal message (`UUX`) as two commands, which watchers should get as
 * one change, not as the status first with the text it had before (blank at sign-in).
 * The second command comes straight after the first; the endpoint's state itself is
 * written at once (it is reachable), only the announcement waits.
 */
export const SETTLE_MS = 250;

interface PendingBroadcast {
  /** The aggregate watchers were last told of. */
  before: AccountPresence;
  timer: NodeJS.Timeout;
}

/**
 * Endpoint presence, kept in the bus's endpoint registry so every node sees every
 * endpoint, and its aggregate sent to watchers (contacts that have the account on
 * their forward list and are allowed to see it) whenever what they see changes.
 */
export class Presence {
  /** Accounts whose watchers have a change on its way (per node: the endpoint's session lives here). */
  private readonly pending = new Map<string, PendingBroadcast>();

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly events: DomainEvents,
    private readonly visibility: Visibility,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Registers an endpoint (initially offline until it sets a status) or replaces its
   * presence. With `settle`, watchers hear of the change after `SETTLE_MS`, or with the
   * account's next change if it comes sooner, as one change.
   */
  async set(
    accountId: string,
    endpointId: string,
    presence: Partial<EndpointPresence>,
    options: { settle?: boolean } = {},
  ): Promise<AccountPresence> {
    const { account, endpoints } = await this.load(accountId);
    const before = aggregateOf(account, endpoints);
    const existing = endpoints.find((e) => e.endpointId === endpointId);
    const next: EndpointPresence = {
      ...(existing?.presence ?? OFFLINE_ENDPOINT),
      ...presence,
      capabilities: { ...(existing?.presence.capabilities ?? {}), ...(presence.capabilities ?? {}) },
    };
    await this.bus.putEndpoint({
      accountId,
      endpointId,
      nodeId: this.bus.nodeId,
      state: next as unknown as JsonValue,
      updatedAt: this.clock(),
    });
    return this.afterChange(account, accountId, before, options.settle === true);
  }

  /** Removes an endpoint (clean sign-out or dropped connection). */
  async disconnect(accountId: string, endpointId: string): Promise<AccountPresence> {
    const { account, endpoints } = await this.load(accountId);
    const before = aggregateOf(account, endpoints);
    await this.bus.removeEndpoint(accountId, endpointId);
    return this.afterChange(account, accountId, before, false);
  }

  /**
   * Endpoints whose node died, already gone from the registry (the bus's
   * `onEndpointsLost`): each account's watchers are told as if those connections had
   * dropped, one change per account.
   */
  async endpointsLost(records: readonly EndpointRecord[]): Promise<void> {
    const byAccount = new Map<string, EndpointRecord[]>();
    for (const record of records) {
      const list = byAccount.get(record.accountId) ?? [];
      list.push(record);
      byAccount.set(record.accountId, list);
    }
    // One account's failure (a store error) does not keep the others' contacts uninformed.
    const failures: unknown[] = [];
    for (const [accountId, lost] of byAccount) {
      try {
        const { account, endpoints } = await this.load(accountId);
        // Before: what watchers saw with the lost endpoints still there.
        const remaining = new Set(endpoints.map((e) => e.endpointId));
        const before = aggregateOf(account, [
          ...endpoints,
          ...lost.filter((r) => !remaining.has(r.endpointId)).map(decode),
        ]);
        await this.afterChange(account, accountId, before, false);
        // The account's endpoints on other nodes (MSNP16+ MPOP) see the list shrink.
        if (account) await this.events.publish(accountId, { type: 'endpoints-changed' });
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, 'telling contacts of lost endpoints failed');
  }

  async endpoints(accountId: string): Promise<ConnectedEndpoint[]> {
    return (await this.bus.listEndpoints(accountId)).map(decode);
  }

  /** The account's own aggregate presence (invisible stays invisible). */
  async current(accountId: string): Promise<AccountPresence> {
    const { account, endpoints } = await this.load(accountId);
    return aggregateOf(account, endpoints);
  }

  /** What `viewerId` sees of `targetId`: offline when not allowed or invisible. */
  async seenBy(viewerId: string, targetId: string): Promise<AccountPresence> {
    const presence = await this.current(targetId);
    if (viewerId === targetId) return presence;
    if (!(await this.visibility.canSee(viewerId, targetId))) return offlinePresence(presence.displayName);
    return asSeenByOthers(presence);
  }

  /**
   * What a contact list's owner sees of one contact, from the view it already loaded:
   * the derived `to`/`both` is "on my forward list and allowed to see them", so no
   * visibility query is needed (sign-in bursts go through every contact).
   */
  async ofContact(view: ContactView): Promise<AccountPresence> {
    if (!subscribedTo(view)) return offlinePresence(view.contact.displayName);
    return asSeenByOthers(aggregateOf(view.contact, await this.endpoints(view.contact.id)));
  }

  /**
   * `ofContact` of every contact of a list, in its order, with one read of the registry
   * for all of them (issue 14: a sign-in burst on the Redis bus is one round trip, not
   * one per contact). No read when none is subscribed to.
   */
  async ofContacts(views: readonly ContactView[]): Promise<AccountPresence[]> {
    const read = views.filter(subscribedTo);
    const endpoints = read.length > 0 ? await this.bus.listEndpointsOf(read.map((v) => v.contact.id)) : [];
    let next = 0;
    return views.map((view) => {
      if (!subscribedTo(view)) return offlinePresence(view.contact.displayName);
      const records = endpoints[next++] ?? [];
      return asSeenByOthers(aggregateOf(view.contact, records.map(decode)));
    });
  }

  /** Sends `viewerId` what it now sees of `targetId` (after a list or privacy change). */
  async sendCurrent(targetId: string, viewerId: string): Promise<void> {
    const target = await this.store.getAccountById(targetId);
    if (!target) return;
    await this.events.publish(viewerId, {
      type: 'presence',
      contactId: targetId,
      contactHandle: target.handle,
      presence: await this.seenBy(viewerId, targetId),
    });
  }

  /** Re-sends the account's presence to its watchers, after a change of the row the caller just wrote. */
  async broadcast(account: AccountRow): Promise<void> {
    this.takePending(account.id); // announced with this one
    const presence = aggregateOf(account, await this.endpoints(account.id));
    await this.publishToWatchers(account, asSeenByOthers(presence));
  }

  /** A change waiting to be announced: what watchers knew before it (they hear it with the caller's). */
  private takePending(accountId: string): AccountPresence | undefined {
    const pending = this.pending.get(accountId);
    if (!pending) return undefined;
    clearTimeout(pending.timer);
    this.pending.delete(accountId);
    return pending.before;
  }

  private async load(
    accountId: string,
  ): Promise<{ account: AccountRow | undefined; endpoints: ConnectedEndpoint[] }> {
    const [account, endpoints] = await Promise.all([
      this.store.getAccountById(accountId),
      this.endpoints(accountId),
    ]);
    return { account, endpoints };
  }

  private async publishToWatchers(account: AccountRow, presence: AccountPresence): Promise<void> {
    for (const watcherId of await this.visibility.watchers(account.id, account)) {
      await this.events.publish(watcherId, {
        type: 'presence',
        contactId: account.id,
        contactHandle: account.handle,
        presence,
      });
    }
  }

  /**
   * After a change of endpoints (the account row is read before it: the change does
   * not touch it). Watchers are told what changed since they were last told: with
   * `settle`, later (`SETTLE_MS`) or with the next change, whichever comes first.
   */
  private async afterChange(
    account: AccountRow | undefined,
    accountId: string,
    before: AccountPresence,
    settle: boolean,
  ): Promise<AccountPresence> {
    const after = aggregateOf(account, await this.endpoints(accountId));
    const visible = asSeenByOthers(after);
    // XEP-0012's "last activity": when contacts last saw the account go offline.
    if (account && asSeenByOthers(before).status !== 'offline' && visible.status === 'offline')
      await this.store.setProperty(account.id, LAST_SEEN_PROPERTY, String(this.clock()));
    if (!account) return after;
    const told = this.takePending(accountId) ?? before;
    if (!settle) {
      await this.publishIfChanged(account, told, visible);
      return after;
    }
    const timer = setTimeout(() => {
      if (this.pending.get(accountId)?.timer !== timer) return;
      this.pending.delete(accountId);
      // Nobody awaits this: a failure (a store gone at shutdown) must not escape.
      void this.load(accountId)
        .then(async ({ account: now, endpoints }) => {
          if (now) await this.publishIfChanged(now, told, asSeenByOthers(aggregateOf(now, endpoints)));
        })
        .catch(() => {});
    }, SETTLE_MS);
    timer.unref();
    this.pending.set(accountId, { before: told, timer });
    return after;
  }

  private async publishIfChanged(account: AccountRow, told: AccountPresence, visible: AccountPresence) {
    if (!isDeepStrictEqual(asSeenByOthers(told), visible)) await this.publishToWatchers(account, visible);
  }
}

/**
 * The derived `to`/`both`: on the owner's forward list and allowed to see them, so the
 * contact's presence is shown (`ofContact`).
 */
function subscribedTo(view: ContactView): boolean {
  const subscription = view.derived.subscription;
  return subscription === 'to' || subscription === 'both';
}

/** The aggregate of endpoints (ConnectedEndpoint already has what aggregation reads). */
function aggregateOf(
  account: AccountRow | undefined,
  endpoints: readonly ConnectedEndpoint[],
): AccountPresence {
  const picture = account?.picture ? { sha1: account.picture.sha1, size: account.picture.size } : null;
  return aggregatePresence(endpoints, account?.displayName ?? '', picture);
}
