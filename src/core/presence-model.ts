/**
 * Presence as one model for every protocol. Each endpoint (connection) sets its
 * own; the account's presence others see is the aggregate of its endpoints.
 * MSNP renders statuses as NLN/BSY/IDL/BRB/AWY/PHN/LUN/HDN/FLN, XMPP as `<show/>`.
 */

export const STATUSES = [
  'online',
  'busy',
  'be-right-back',
  'away',
  'on-the-phone',
  'out-to-lunch',
  'idle',
  'invisible',
  'offline',
] as const;

export type Status = (typeof STATUSES)[number];

export interface EndpointPresence {
  status: Status;
  /** MSN personal message (PSM) / XMPP `<status/>`. */
  statusText: string;
  /** MSNP11+ "current media" (the now-playing line); empty when none. */
  currentMedia: string;
  /** An MSN client's own display picture: the MSN object it sent with `CHG` (MSN-only). */
  avatar: string;
  /** Protocol-specific capability data, e.g. `{ msnpClientId: "…" }` or XMPP caps. */
  capabilities: Record<string, string>;
}

/** What watchers see: the account's aggregate presence. */
export interface AccountPresence {
  status: Status;
  statusText: string;
  currentMedia: string;
  avatar: string;
  displayName: string;
  /** The account's stored picture (core `Pictures`), which every protocol can serve; null when none. */
  picture: PictureSummary | null;
  /** Capabilities of the endpoint the aggregate came from. */
  capabilities: Record<string, string>;
}

/** What presence says of the account's stored picture. */
export interface PictureSummary {
  /** Lower-case hex SHA-1 of the image. */
  sha1: string;
  size: number;
}

export const OFFLINE_ENDPOINT: EndpointPresence = Object.freeze({
  status: 'offline',
  statusText: '',
  currentMedia: '',
  avatar: '',
  capabilities: Object.freeze({}) as Record<string, string>,
});

// Most available first: the aggregate takes the status of the most available
// visible endpoint, as an XMPP contact sees the highest-ranked resource.
const RANK: Record<Status, number> = {
  online: 0,
  busy: 1,
  'be-right-back': 2,
  'out-to-lunch': 3,
  'on-the-phone': 4,
  away: 5,
  idle: 6,
  invisible: 7,
  offline: 8,
};

export interface TimedEndpointPresence {
  presence: EndpointPresence;
  updatedAt: number;
}

/**
 * The account's presence from its endpoints. Invisible endpoints count only when no
 * endpoint is visible (then the account is invisible: offline to everyone else,
 * itself excepted). Status text, media and avatar come from the same endpoint as
 * the status (XMPP contacts likewise see the top resource's `<status/>`), so a phone
 * connecting away with no text does not wipe the desktop's personal message.
 */
export function aggregatePresence(
  endpoints: readonly TimedEndpointPresence[],
  displayName: string,
  picture: PictureSummary | null = null,
): AccountPresence {
  const live = endpoints.filter((e) => e.presence.status !== 'offline');
  if (live.length === 0) return offlinePresence(displayName);
  const best = live.sort(
    (a, b) => RANK[a.presence.status] - RANK[b.presence.status] || b.updatedAt - a.updatedAt,
  )[0] as TimedEndpointPresence;
  return {
    status: best.presence.status,
    statusText: best.presence.statusText,
    currentMedia: best.presence.currentMedia,
    avatar: best.presence.avatar,
    displayName,
    picture,
    capabilities: { ...best.presence.capabilities },
  };
}

/** What a watcher who may see the account sees; invisible becomes offline. */
export function asSeenByOthers(presence: AccountPresence): AccountPresence {
  if (presence.status !== 'invisible') return presence;
  return offlinePresence(presence.displayName);
}

/** An account as others see it when it is offline, invisible, or not theirs to see. */
export function offlinePresence(displayName: string): AccountPresence {
  return { ...OFFLINE_ENDPOINT, displayName, picture: null, capabilities: {} };
}
