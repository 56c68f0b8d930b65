import type { Bus } from '../bus/types.ts';
import type { AccountRow, Store } from '../store/types.ts';
import { Accounts } from './accounts.ts';
import { MessageArchive } from './archive.ts';
import { Circles } from './circles.ts';
import { Conversations } from './conversations.ts';
import { Credentials } from './credentials.ts';
import { DomainEvents } from './events.ts';
import { Invites } from './invites.ts';
import { LastActivity } from './last-activity.ts';
import { LiveSessions } from './live-sessions.ts';
import { LoginGuard } from './login-guard.ts';
import type { ThrottledAttempt } from './login-throttle.ts';
import { type CoreMetrics, NO_METRICS } from './metrics.ts';
import { OAuthService } from './oauth.ts';
import { OfflineMessages } from './offline.ts';
import { PeerNotifications } from './peer-notifications.ts';
import { Pep } from './pep.ts';
import { Pictures } from './pictures.ts';
import { Presence } from './presence.ts';
import { PrivateXml } from './private-xml.ts';
import { MemoryRateStore, type RateStore } from './rate-store.ts';
import { Relationships } from './relationships.ts';
import { Roles } from './roles.ts';
import { LoginTickets } from './tickets.ts';
import type { TokenValidator } from './tokens.ts';
import { Visibility } from './visibility.ts';
import { endWebChats } from './web-chat.ts';
import { WebSessions } from './web-sessions.ts';

/** The domain, as every protocol sees it. Built once by the composition root. */
export interface Core {
  store: Store;
  bus: Bus;
  events: DomainEvents;
  credentials: Credentials;
  /** One-time Passport tickets for MSNP8–12 `USR TWN` logins. */
  tickets: LoginTickets;
  /** Password-guessing limits per (address, handle) and per address, for every protocol. */
  loginGuard: LoginGuard;
  /** Counters shared by every node (in Redis when there are several): throttles, the sign-up limit. */
  rates: RateStore;
  /**
   * A password sign-in under `loginGuard`'s limits: what Passport (login2, RST), SASL
   * PLAIN and the web pages do. A throttled attempt checks no password at all.
   */
  verifyPasswordGuarded(
    address: string | undefined,
    handle: string,
    password: string,
  ): Promise<ThrottledAttempt<AccountRow>>;
  /** OAuth access tokens (XMPP SASL X-MESSENGER-OAUTH2 / OAUTHBEARER): `oauth` unless replaced. */
  tokens: TokenValidator;
  /** The OAuth 2.0 authorization server: clients, codes, tokens. */
  oauth: OAuthService;
  /** Web sign-in sessions. */
  webSessions: WebSessions;
  accounts: Accounts;
  relationships: Relationships;
  presence: Presence;
  /** The account's picture (avatar / display picture), for every protocol. */
  pictures: Pictures;
  offline: OfflineMessages;
  /** When contacts last saw an account go offline (XMPP XEP-0012). */
  lastActivity: LastActivity;
  /** XEP-0049 private XML storage. */
  privateXml: PrivateXml;
  conversations: Conversations;
  /** Every account's one-to-one messages, whichever protocol carried them (`enabled` false: off). */
  archive: MessageArchive;
  /** Personal data nodes (XMPP PEP): avatars, nicknames, bookmarks and the like. */
  pep: Pep;
  /** Opaque endpoint-to-endpoint notifications (MSN UUN → UBN). */
  peerNotifications: PeerNotifications;
  /** Circles (MSNP18 groups): membership and the circle conversation. */
  circles: Circles;
  /** One-time invitation links for `signup: invite`. */
  invites: Invites;
  /** Account roles (admin). */
  roles: Roles;
  /** The signed-in sessions on this node, every protocol (`papillon status`, `sessions`). */
  liveSessions: LiveSessions;
  /** Counters the protocols and the core bump (sign-ins, messages routed); no-ops unless metrics are on. */
  metrics: CoreMetrics;
}

export interface CoreOptions {
  /** Milliseconds since the epoch; default `Date.now`. */
  clock?: () => number;
  /** Replaces `core.tokens` (tests); default `core.oauth`. */
  tokens?: TokenValidator;
  /** Lifetime of OAuth access tokens; default 3600. */
  oauthAccessTokenSeconds?: number;
  /** Days the message archive keeps messages; default 0 (no archive). */
  archiveDays?: number;
  /** A background archive write failed (default: a process warning). */
  onArchiveError?: (err: unknown) => void;
  /** Where counts go (src/server/metrics.ts wires them to Prometheus); default: nowhere. */
  metrics?: CoreMetrics;
  /** A conversation on another node silent this long ends for members here (config `sbIdleSeconds`); default 10 min. */
  conversationIdleMs?: number;
  /** Where limits count (the Redis one in a cluster); default: this process's memory. */
  rateStore?: RateStore;
  /** MSNP2–7 MD5 logins and the stored form they need (config `legacyMd5Login`); default true. */
  legacyMd5Login?: boolean;
}

/**
 * The third argument is the options, or (the older form) the clock, followed by the
 * token validator that replaces `core.oauth` as `core.tokens`.
 */
export function createCore(
  store: Store,
  bus: Bus,
  options: CoreOptions | (() => number) = {},
  tokens?: TokenValidator,
): Core {
  const opts: CoreOptions =
    typeof options === 'function' ? { clock: options, tokens } : { tokens, ...options };
  const clock = opts.clock ?? Date.now;
  const metrics = opts.metrics ?? NO_METRICS;
  const events = new DomainEvents(bus);
  const credentials = new Credentials(store, {
    ...(opts.legacyMd5Login === undefined ? {} : { legacyMd5Login: opts.legacyMd5Login }),
  });
  const visibility = new Visibility(store);
  const presence = new Presence(store, bus, events, visibility, clock);
  const archive = new MessageArchive(store, {
    days: opts.archiveDays ?? 0,
    clock,
    ...(opts.onArchiveError ? { onError: opts.onArchiveError } : {}),
  });
  const conversations = new Conversations(store, events, presence, visibility, clock, archive, metrics, bus, {
    ...(opts.conversationIdleMs === undefined ? {} : { idleMs: opts.conversationIdleMs }),
  });
  const offline = new OfflineMessages(store, events, clock, bus.nodeId);
  // A node died (cluster bus): its users look offline to their contacts, as if each
  // connection dropped, conversations lose what lived there (hosts and members), and
  // the offline messages it was delivering are deliverable again.
  bus.onEndpointsLost((records) => {
    for (const nodeId of new Set(records.map((r) => r.nodeId))) {
      conversations.nodeLost(nodeId);
      offline
        .releaseNode(nodeId)
        .catch((err) => process.emitWarning(`releasing a dead node's offline messages: ${String(err)}`));
    }
    presence
      .endpointsLost(records)
      .catch((err) => process.emitWarning(`telling contacts of a dead node's endpoints: ${String(err)}`));
  });
  const relationships = new Relationships(store, events, presence, visibility);
  const oauth = new OAuthService(store, {
    clock,
    events,
    ...(opts.oauthAccessTokenSeconds === undefined
      ? {}
      : { accessTokenSeconds: opts.oauthAccessTokenSeconds }),
  });
  const accounts = new Accounts(store, credentials, events, presence, clock);
  const rates = opts.rateStore ?? new MemoryRateStore({ clock });
  return {
    store,
    bus,
    events,
    credentials,
    tickets: new LoginTickets(store, clock),
    loginGuard: new LoginGuard(rates),
    rates,
    verifyPasswordGuarded(address, handle, password) {
      // Read at call time: tests replace `loginGuard`.
      return this.loginGuard.attempt(address, handle, () =>
        this.credentials.verifyPassword(handle, password),
      );
    },
    tokens: opts.tokens ?? oauth,
    oauth,
    webSessions: new WebSessions(store, clock, (accountId, hashes) => endWebChats(oauth, accountId, hashes)),
    accounts,
    relationships,
    presence,
    pictures: new Pictures(store, presence),
    offline,
    privateXml: new PrivateXml(store, clock),
    lastActivity: new LastActivity(store, presence, relationships),
    conversations,
    archive,
    pep: new Pep(store, visibility, clock),
    peerNotifications: new PeerNotifications(store, events, presence, visibility),
    circles: new Circles(store, events, clock),
    invites: new Invites(store, clock),
    roles: new Roles(store, accounts, clock),
    liveSessions: new LiveSessions(),
    metrics,
  };
}
