/**
 * The Store: everything Papillon persists, behind one asynchronous interface.
 * Implementations: `sqlite/` (embedded default) and `postgres/`; both must pass
 * `test/contract/store.contract.ts`. The store keeps rows, not rules: validation,
 * permissions and events live in `core/`. It guarantees atomicity where a rule
 * needs it (a list change and its list-version bump; leasing offline messages).
 */

/** MSN's BLP: who may see me when they are on neither my allow nor my block list. */
export type Privacy = 'allow-all' | 'allow-list';

export interface AccountRow {
  /** Random UUID; MSNP10+ shows it as the contact GUID. */
  id: string;
  /** Normalized (lower-case) `local@domain`. */
  handle: string;
  displayName: string;
  privacy: Privacy;
  /**
   * Bumped on every change to this account's lists, groups or privacy, in the same
   * transaction as the change: MSNP's list version (SYN) and XMPP's roster version.
   */
  listVersion: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** What presence needs of the account's picture; the image is `getPicture`'s. */
  picture: PictureInfo | null;
}

export type PictureType = 'image/png' | 'image/jpeg' | 'image/gif';

export interface PictureInfo {
  /** Lower-case hex SHA-1 of the image: XEP-0153's photo hash; MSN's SHA1D in base64. */
  sha1: string;
  /** Bytes. */
  size: number;
  type: PictureType;
}

export interface StoredPicture extends PictureInfo {
  data: Buffer;
}

export interface NewAccount {
  id: string;
  handle: string;
  displayName: string;
  privacy: Privacy;
  createdAt: number;
}

export interface AccountPatch {
  displayName?: string;
  /** Changing privacy bumps `listVersion`. */
  privacy?: Privacy;
}

/** RFC 5802 §3 salted SCRAM keys; binary values base64-encoded. */
export interface ScramKeys {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

/** Every form of the password a protocol needs; never the password itself. */
export interface PasswordCredentials {
  /**
   * argon2id PHC string, or '' (no form: what Papillon stores today). A non-empty one
   * comes from an earlier version (an imported export) and is checked once, at the
   * first plaintext sign-in, which replaces it with ''.
   */
  argon2: string;
  scramSha1: ScramKeys;
  scramSha256: ScramKeys;
  /**
   * MSNP2–7 `USR MD5`: the client proves MD5(salt + password); we keep the salt and that
   * digest (hex). An empty digest: no MD5 form is kept (`legacyMd5Login` off).
   */
  md5Salt: string;
  md5Digest: string;
  /**
   * A hash imported from another server (core/legacy-hash.ts formats), checked
   * instead of the SCRAM keys until the first successful sign-in stores Papillon's forms.
   */
  legacyHash?: string;
}

/**
 * What `ownerId` has recorded about `contactId`: MSN's forward (FL), allow (AL) and
 * block (BL) lists, the owner's nickname for the contact, and group memberships.
 * The reverse list (RL) is not stored: it is the other side's `forward`.
 */
export interface RelationshipRow {
  ownerId: string;
  contactId: string;
  forward: boolean;
  allow: boolean;
  block: boolean;
  nickname: string | null;
  /**
   * The contact has acknowledged `forward` (removed the owner from MSN's pending
   * list); meaningless while `forward` is false. Does not keep a row alive alone.
   */
  noticed: boolean;
  /**
   * The owner keeps the contact in the list without asking to see its presence (an
   * XMPP roster item with subscription 'none', an address-book contact that is not a
   * Messenger contact). Keeps a row alive alone.
   */
  listed: boolean;
  /** Ids of the owner's groups the contact is in, sorted. */
  groupIds: string[];
  updatedAt: number;
}

export interface RelationshipPatch {
  forward?: boolean;
  allow?: boolean;
  block?: boolean;
  nickname?: string | null;
  noticed?: boolean;
  listed?: boolean;
}

export interface GroupRow {
  id: string;
  ownerId: string;
  /** Small integer id MSNP2–9 use (1, 2, …; 0 is the implicit default group). */
  number: number;
  name: string;
}

export interface NewOfflineMessage {
  id: string;
  recipientId: string;
  senderHandle: string;
  /** Protocol-neutral payload, JSON-encoded by core. */
  payload: string;
  sentAt: number;
}

export interface OfflineMessageRow extends NewOfflineMessage {
  /** When the recipient acknowledged it (it left the queue); null while undelivered. */
  deliveredAt: number | null;
  /** While a delivery holds it (migration 0019): when that lease runs out; else null. */
  leasedUntil: number | null;
}

/**
 * A delivery in progress holds the messages it is writing (issue 13: at least once).
 * Until acknowledged or released they are no one else's to deliver, unless `until` passes
 * (the node died): then they are deliverable again, with their id and time unchanged.
 */
export interface OfflineLease {
  /** The node writing them: a restarted or dead node's leases are released together. */
  node: string;
  /** Unique per delivery: renewed and released as one. */
  token: string;
  /** Milliseconds since the epoch. */
  until: number;
}

/** Released messages of one recipient: who, and one of the messages (for the `offline-stored` event). */
export interface ReleasedOffline {
  recipientId: string;
  messageId: string;
}

/**
 * A one-to-one message, archived for both parties (core/archive.ts, XEP-0313). Migration
 * 0015. Ids sort in archive order: the store orders by id and reads id bounds as such.
 */
export interface NewArchiveMessage {
  id: string;
  senderId: string;
  recipientId: string;
  /** The parties' handles. */
  sender: string;
  recipient: string;
  at: number;
  body: string;
}

/** A message as it is in one account's archive. */
export interface ArchiveRow {
  /** The message's id (XEP-0359 stanza-id): the same in the sender's and the recipient's archive. */
  id: string;
  ownerId: string;
  /** The other party's handle (the owner's own, for a message to itself). */
  peer: string;
  /** The owner sent it (or else received it). */
  outgoing: boolean;
  at: number;
  body: string;
}

/** Which messages of one archive a query is about. */
export interface ArchiveFilter {
  ownerId: string;
  peer?: string;
  /** Only ids above `after` and below `before` (exclusive; these need not be ids of messages). */
  after?: string;
  before?: string;
  /** Only these messages. */
  ids?: readonly string[];
}

/** A page of an archive, in archive order; `more`: other matches lie beyond its far end. */
export interface ArchivePage {
  rows: ArchiveRow[];
  more: boolean;
}

/**
 * A one-time login ticket (the Passport ticket MSNP8–12 clients present in
 * `USR … TWN S`). The store sees only the token's hash.
 */
export interface NewLoginTicket {
  /** SHA-256 of the token, lower-case hex. */
  tokenHash: string;
  accountId: string;
  /** What the ticket may be redeemed for, e.g. 'msnp-login'. */
  purpose: string;
  createdAt: number;
  expiresAt: number;
  /** base64 proof key (WS-Trust BinarySecret) an SSO ticket is issued with. */
  proofKey?: string | null;
}

/** A live ticket as `findTicket` reads it. */
export interface LoginTicketRow {
  accountId: string;
  proofKey: string | null;
  usedAt: number | null;
  expiresAt: number;
}

/** An OAuth 2.0 client (RFC 6749 §2). */
export interface OAuthClientRow {
  id: string;
  name: string;
  /** SHA-256 of the client secret, lower-case hex; null for a public client. */
  secretHash: string | null;
  redirectUris: string[];
  /** The account that registered it; null when the operator did. */
  ownerId: string | null;
  createdAt: number;
}

/** An authorization code; the store sees only its hash. */
export interface NewOAuthCode {
  /** SHA-256 of the code, lower-case hex. */
  codeHash: string;
  clientId: string;
  accountId: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge: string | null;
  challengeMethod: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface OAuthCodeRow extends NewOAuthCode {
  usedAt: number | null;
}

/** An access or refresh token; the store sees only its hash. */
export interface NewOAuthToken {
  /** SHA-256 of the token, lower-case hex. */
  tokenHash: string;
  kind: 'access' | 'refresh';
  clientId: string;
  accountId: string;
  scopes: string[];
  /** The grant it descends from: a code's tokens and all their rotations share it. */
  familyId: string;
  /** The authorization code the grant started from, if any. */
  codeHash: string | null;
  /** When the grant (family) was first made; kept across rotations. */
  grantedAt: number;
  createdAt: number;
  expiresAt: number;
}

export interface OAuthTokenRow extends NewOAuthToken {
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** A web sign-in session; the store sees only the cookie token's hash. */
export interface WebSessionRow {
  /** SHA-256 of the session token, lower-case hex. */
  tokenHash: string;
  accountId: string;
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

/** A circle (MSNP18 group). `id`: its address-book GUID, `00000000-0000-0000-0009-` + 12 hex digits. */
export interface CircleRow {
  id: string;
  name: string;
  ownerId: string;
  createdAt: number;
}

/** An account's place in a circle: invited (`pending`) or a member (`accepted`). */
export interface CircleMemberRow {
  circleId: string;
  accountId: string;
  /** 1 the administrator (the creator), 3 a member: the address book's CirclePersonalMembership roles. */
  role: 1 | 3;
  state: 'pending' | 'accepted';
  inviterId: string | null;
  changedAt: number;
}

/** Result of a list mutation: the owner's list version after it. */
export interface Versioned<T> {
  value: T;
  listVersion: number;
}

/** A personal eventing node (XEP-0163) of an account; `config` is core/pep.ts's JSON. */
export interface PepNodeRow {
  accountId: string;
  node: string;
  config: string;
  createdAt: number;
}

/** One item of a PEP node; `payload` is the published XML, opaque to the store. */
export interface PepItemRow {
  accountId: string;
  node: string;
  itemId: string;
  payload: string;
  publishedAt: number;
}

/** An account's XEP-0049 private XML element in one namespace; `xml` is opaque to the store. */
export interface PrivateXmlRow {
  accountId: string;
  namespace: string;
  xml: string;
  updatedAt: number;
}

/** A one-time invitation link (migration 0018); the store sees only its token's hash. */
export interface SignupInviteRow {
  /** A short public id, to list and withdraw it. */
  id: string;
  /** SHA-256 of the link's token, lower-case hex. */
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
  /** The admin's handle who made it; null: the command line. */
  createdBy: string | null;
  usedAt: number | null;
  /** The handle of the account made with it. */
  usedBy: string | null;
}

/** What an operator may let an account do beyond its own (migration 0018). */
export type AccountRole = 'admin';

export interface Store {
  readonly kind: 'sqlite' | 'postgres';

  /** Applies pending migrations; returns the names applied now. */
  migrate(): Promise<string[]>;
  close(): Promise<void>;

  // Accounts -------------------------------------------------------------------
  /** Throws `PapillonError('handle-taken')` if the handle exists. */
  createAccount(account: NewAccount, credentials: PasswordCredentials): Promise<AccountRow>;
  getAccountById(id: string): Promise<AccountRow | undefined>;
  getAccountByHandle(handle: string): Promise<AccountRow | undefined>;
  getAccountsByIds(ids: readonly string[]): Promise<AccountRow[]>;
  /** Ordered by handle. */
  listAccounts(): Promise<AccountRow[]>;
  updateAccount(id: string, patch: AccountPatch): Promise<AccountRow | undefined>;
  /** Removes the account and everything it owns or that points at it. */
  deleteAccount(id: string): Promise<boolean>;

  getCredentials(accountId: string): Promise<PasswordCredentials | undefined>;
  setCredentials(accountId: string, credentials: PasswordCredentials): Promise<void>;
  /** Empties every stored MSNP2–7 MD5 digest (config `legacyMd5Login` off); returns how many were set. */
  clearMd5Digests(): Promise<number>;

  // Relationships --------------------------------------------------------------
  getRelationship(ownerId: string, contactId: string): Promise<RelationshipRow | undefined>;
  /** Of two accounts, the ids of those that block the other (one read: routing asks for every stanza). */
  blockersBetween(a: string, b: string): Promise<string[]>;
  /** The owner's rows, ordered by contact id. */
  listRelationships(ownerId: string): Promise<RelationshipRow[]>;
  /** Rows other owners keep about `contactId` (who has me on their lists). */
  listRelationshipsTo(contactId: string): Promise<RelationshipRow[]>;
  /**
   * Creates or changes the owner's row and bumps the owner's list version, atomically.
   * A row left with no list, no nickname and no group is deleted (value `undefined`).
   */
  updateRelationship(
    ownerId: string,
    contactId: string,
    patch: RelationshipPatch,
  ): Promise<Versioned<RelationshipRow | undefined>>;

  // Groups ---------------------------------------------------------------------
  /** Ordered by number. */
  listGroups(ownerId: string): Promise<GroupRow[]>;
  /** Assigns the smallest unused number ≥ 1. Throws `group-name-taken` on a duplicate name. */
  createGroup(ownerId: string, id: string, name: string): Promise<Versioned<GroupRow>>;
  renameGroup(ownerId: string, groupId: string, name: string): Promise<Versioned<GroupRow | undefined>>;
  /** Also removes the group's memberships. */
  deleteGroup(ownerId: string, groupId: string): Promise<Versioned<boolean>>;
  /** The relationship row must exist; returns false if it or the group does not. */
  addToGroup(ownerId: string, contactId: string, groupId: string): Promise<Versioned<boolean>>;
  removeFromGroup(ownerId: string, contactId: string, groupId: string): Promise<Versioned<boolean>>;

  // Offline messages -------------------------------------------------------------
  /** Resolves only once the message is durably stored. */
  enqueueOffline(message: NewOfflineMessage): Promise<void>;
  /**
   * Atomically leases the recipient's undelivered messages that no unexpired lease holds
   * at `now` (only `senderHandle`'s, when given; the first `limit` in storage order, when
   * given), and returns them in the order they were stored. Concurrent leases never
   * return the same message. Leased messages stay undelivered (listed and counted)
   * until acknowledged.
   */
  leaseOffline(
    recipientId: string,
    lease: OfflineLease,
    now: number,
    options?: { senderHandle?: string | undefined; limit?: number | undefined },
  ): Promise<OfflineMessageRow[]>;
  /** Moves the end of lease `token` (all its messages still leased) to `until`; returns how many. */
  renewOfflineLease(token: string, until: number): Promise<number>;
  /**
   * Ends lease `token` on its messages (only `ids`, when given) still undelivered: they are
   * deliverable again. Returns each recipient of the messages released once.
   */
  releaseOfflineLease(token: string, ids?: readonly string[]): Promise<ReleasedOffline[]>;
  /**
   * Ends every lease `node` holds (every node's, when undefined: a server alone starting
   * up), as when that node restarted or died. Returns each recipient concerned once.
   */
  releaseNodeOfflineLeases(node?: string): Promise<ReleasedOffline[]>;
  /**
   * Marks the listed messages of the recipient delivered (the client acknowledged them,
   * e.g. MSN's OIM DeleteMessages), leased or not, and returns them in storage order. Ids
   * that are unknown, delivered already or another recipient's are skipped.
   */
  claimOfflineIds(recipientId: string, ids: readonly string[], now: number): Promise<OfflineMessageRow[]>;
  /** The recipient's undelivered messages in storage order, leased or not (a peek). */
  listOffline(recipientId: string): Promise<OfflineMessageRow[]>;
  /** Undelivered messages for the recipient; without one, for everyone (the queue length metric). */
  countOffline(recipientId?: string): Promise<number>;
  /** Deletes delivered messages delivered before `before`; returns how many. */
  purgeDeliveredOffline(before: number): Promise<number>;

  // Login tickets ------------------------------------------------------------------
  /** Throws `no-such-account` if the account does not exist. */
  saveTicket(ticket: NewLoginTicket): Promise<void>;
  /**
   * Atomically marks the ticket used and returns its account id, if it exists, has
   * this purpose, is unused and `expiresAt > now`; otherwise undefined. Concurrent
   * redemptions of one ticket: exactly one succeeds.
   */
  redeemTicket(tokenHash: string, purpose: string, now: number): Promise<string | undefined>;
  /**
   * Reads a ticket without using it: undefined unless it exists, has this purpose
   * and `expiresAt > now` (used or not: `usedAt` says). For multi-use service tokens
   * and for the SSO proof key checked before the ticket is redeemed.
   */
  findTicket(tokenHash: string, purpose: string, now: number): Promise<LoginTicketRow | undefined>;
  /** Deletes tickets with `expiresAt <= now` (used or not); returns how many. */
  purgeTickets(now: number): Promise<number>;

  // Profile properties -------------------------------------------------------------
  /** The account's profile properties (e.g. `phone.home`), by name. */
  /** Only the named ones when `names` is given (properties can be large: the avatar). */
  getProperties(accountId: string, names?: readonly string[]): Promise<Record<string, string>>;
  /** Sets a property, or deletes it when `value` is null. Throws `no-such-account`. */
  setProperty(accountId: string, name: string, value: string | null): Promise<void>;

  // The account's picture ---------------------------------------------------------
  /**
   * Replaces the picture (row and image together, atomically), or removes it with null.
   * Returns the updated account, undefined if there is no such account.
   */
  setPicture(accountId: string, picture: StoredPicture | null): Promise<AccountRow | undefined>;
  /** The account's current picture with its image, read together (one consistent read). */
  getPicture(accountId: string): Promise<StoredPicture | undefined>;

  /**
   * Bumps the account's list version alone: for changes to what it sees that are
   * stored on the other side (someone put it on, or took it off, their forward list).
   */
  bumpListVersion(accountId: string): Promise<number>;

  // Circles (MSNP18 groups) ----------------------------------------------------------
  /** Creates the circle with its owner as its accepted administrator. Throws `no-such-account`. */
  createCircle(circle: CircleRow): Promise<void>;
  getCircle(id: string): Promise<CircleRow | undefined>;
  /** Inserts or replaces the account's membership row. Throws `no-such-account` (or circle). */
  putCircleMember(member: CircleMemberRow): Promise<void>;
  /** Whether there was a row to delete. */
  deleteCircleMember(circleId: string, accountId: string): Promise<boolean>;
  /** Every member and invitee of the circle, by account id. */
  listCircleMembers(circleId: string): Promise<CircleMemberRow[]>;
  /** Every circle the account is a member of or invited into, by circle id. */
  listCirclesOf(accountId: string): Promise<Array<{ circle: CircleRow; member: CircleMemberRow }>>;

  // Message archive (migration 0015) --------------------------------------------------
  /** Stores the messages, all or none. Throws `no-such-account` if a party does not exist. */
  appendArchive(messages: readonly NewArchiveMessage[]): Promise<void>;
  /**
   * At most `limit` of the filter's matches, from the oldest (or, `fromEnd`, the newest
   * `limit` of them), in archive (id) order.
   */
  queryArchive(filter: ArchiveFilter, limit: number, fromEnd: boolean): Promise<ArchivePage>;
  countArchive(filter: ArchiveFilter): Promise<number>;
  /** Which of `ids` are in the owner's archive. */
  archiveHas(ownerId: string, ids: readonly string[]): Promise<string[]>;
  /** Deletes every message whose id is below `before`; returns how many. */
  purgeArchive(before: string): Promise<number>;

  // Private XML storage (XEP-0049, migration 0013) ----------------------------------
  getPrivateXml(accountId: string, namespace: string): Promise<PrivateXmlRow | undefined>;
  /** Stores the element, replacing the namespace's previous one. Throws `no-such-account`. */
  putPrivateXml(row: PrivateXmlRow): Promise<void>;
  /** The namespaces the account keeps an element in, in code-point order. */
  listPrivateXmlNamespaces(accountId: string): Promise<string[]>;

  // Personal eventing (PEP nodes, migration 0014) ------------------------------------
  getPepNode(accountId: string, node: string): Promise<PepNodeRow | undefined>;
  /** The account's nodes, ordered by node name. */
  listPepNodes(accountId: string): Promise<PepNodeRow[]>;
  /** Creates the node or replaces its configuration. Throws `no-such-account`. */
  putPepNode(row: PepNodeRow): Promise<void>;
  /** Deletes the node and its items; whether it existed. */
  deletePepNode(accountId: string, node: string): Promise<boolean>;
  /**
   * Stores the item (one with the same id is replaced and becomes the newest) and
   * keeps only the node's newest `maxItems`, atomically. False when the node does
   * not exist (nothing stored).
   */
  putPepItem(item: PepItemRow, maxItems: number): Promise<boolean>;
  /** The node's items, newest first: only the `itemIds` given, at most `limit`. */
  listPepItems(
    accountId: string,
    node: string,
    options?: { itemIds?: readonly string[]; limit?: number },
  ): Promise<PepItemRow[]>;
  /** Whether there was such an item to delete. */
  deletePepItem(accountId: string, node: string, itemId: string): Promise<boolean>;

  // OAuth 2.0 ----------------------------------------------------------------------
  /** Throws `no-such-account` if the owner does not exist. */
  createOAuthClient(client: OAuthClientRow): Promise<void>;
  getOAuthClient(id: string): Promise<OAuthClientRow | undefined>;
  /** All clients, or those `ownerId` registered; ordered by creation time, then id. */
  listOAuthClients(ownerId?: string): Promise<OAuthClientRow[]>;
  /**
   * Deletes the client (only if `ownerId` owns it, when given) with its codes and
   * tokens. Returns whether it existed.
   */
  deleteOAuthClient(id: string, ownerId?: string): Promise<boolean>;

  /** Throws `no-such-account` if the account or the client does not exist. */
  saveOAuthCode(code: NewOAuthCode): Promise<void>;
  getOAuthCode(codeHash: string): Promise<OAuthCodeRow | undefined>;
  /**
   * Atomically marks the code used and stores the tokens it issues, if the code exists,
   * is unused and `expiresAt > now`; otherwise stores nothing and returns false.
   * Concurrent redemptions of one code: exactly one succeeds, and the tokens are
   * committed with the code's `usedAt`, so whoever fails sees them.
   */
  redeemOAuthCode(codeHash: string, now: number, tokens: readonly NewOAuthToken[]): Promise<boolean>;

  /** Stores tokens, all or none. Throws `no-such-account` if the account or client does not exist. */
  saveOAuthTokens(tokens: readonly NewOAuthToken[]): Promise<void>;
  getOAuthToken(tokenHash: string): Promise<OAuthTokenRow | undefined>;
  /**
   * Atomically revokes the refresh token and stores its successors, if it is a refresh
   * token that is unrevoked and `expiresAt > now`; otherwise stores nothing and returns
   * false. Concurrent rotations of one token: exactly one succeeds.
   */
  rotateRefreshToken(tokenHash: string, now: number, tokens: readonly NewOAuthToken[]): Promise<boolean>;
  /** Sets `lastUsedAt`. */
  touchOAuthToken(tokenHash: string, now: number): Promise<void>;
  /** Revokes one token; returns whether it was live (unrevoked) before. */
  revokeOAuthToken(tokenHash: string, now: number): Promise<boolean>;
  /** Revokes every unrevoked token of the family; returns how many. */
  revokeOAuthFamily(familyId: string, now: number): Promise<number>;
  /** Revokes every unrevoked token of the families the code started; returns how many. */
  revokeOAuthTokensByCode(codeHash: string, now: number): Promise<number>;
  /**
   * Revokes every token the client holds for the account, and spends its unused codes
   * for the account (a later redemption fails); returns how many tokens.
   */
  revokeOAuthGrants(accountId: string, clientId: string, now: number): Promise<number>;
  /** The account's unrevoked tokens with `expiresAt > now`, ordered by creation time. */
  listOAuthTokens(accountId: string, now: number): Promise<OAuthTokenRow[]>;
  /**
   * Deletes codes with `expiresAt <= codesBefore` and tokens with `expiresAt <= tokensBefore`
   * (revoked or not); returns how many rows.
   */
  purgeOAuth(codesBefore: number, tokensBefore: number): Promise<number>;

  // Web sessions -------------------------------------------------------------------
  /** Throws `no-such-account` if the account does not exist. */
  createWebSession(session: WebSessionRow): Promise<void>;
  /** The session, expired or not. */
  getWebSession(tokenHash: string): Promise<WebSessionRow | undefined>;
  deleteWebSession(tokenHash: string): Promise<boolean>;
  /** Deletes the account's sessions, but the one `keepTokenHash` names; returns the deleted ones' hashes. */
  deleteWebSessionsOf(accountId: string, keepTokenHash?: string): Promise<string[]>;
  /** Deletes sessions with `expiresAt <= now`; returns how many. */
  purgeWebSessions(now: number): Promise<number>;

  // Invitations and roles (migration 0018) -------------------------------------------
  createSignupInvite(invite: SignupInviteRow): Promise<void>;
  /** Newest first. */
  listSignupInvites(): Promise<SignupInviteRow[]>;
  /**
   * Marks the unused, unexpired (`expiresAt > now`) invite with this token hash used by
   * `usedBy`; false when there is none. Atomic: of two claims, one wins.
   */
  claimSignupInvite(tokenHash: string, now: number, usedBy: string): Promise<boolean>;
  /** Makes a claimed invite usable again (the account it was for could not be made). */
  releaseSignupInvite(tokenHash: string): Promise<void>;
  deleteSignupInvite(id: string): Promise<boolean>;
  /** Null removes the role. Throws `no-such-account` for an unknown account. */
  setAccountRole(accountId: string, role: AccountRole | null, now: number): Promise<void>;
  getAccountRole(accountId: string): Promise<AccountRole | undefined>;
  /** Every account that has a role. */
  listAccountRoles(): Promise<{ accountId: string; role: AccountRole }[]>;

  // Server settings ----------------------------------------------------------------
  /** Returns the stored value, storing `create()` first if there is none (first writer wins). */
  getOrCreateSetting(name: string, create: () => string): Promise<string>;
}
