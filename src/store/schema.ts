/**
 * Kysely's view of the tables created by `migrations/`. Column names are the SQL
 * (snake_case) names; `kysely/kysely-store.ts` maps rows to the camelCase types of
 * `types.ts`. Times are milliseconds since the epoch in 64-bit integers; booleans
 * are 0/1 integers so that both dialects store them the same way.
 */
import type { Generated } from 'kysely';
import type { Privacy } from './types.ts';

/** A 0/1 integer standing for a boolean. */
export type Flag = 0 | 1;

export interface AccountTable {
  id: string;
  handle: string;
  display_name: string;
  privacy: Privacy;
  list_version: number;
  created_at: number;
  picture_sha1: string | null;
  picture_size: number | null;
  picture_type: string | null;
}

export interface AccountPictureTable {
  account_id: string;
  /** base64 of the image. */
  data: string;
}

export interface CredentialTable {
  account_id: string;
  argon2: string;
  scram_sha1_salt: string;
  scram_sha1_iterations: number;
  scram_sha1_stored_key: string;
  scram_sha1_server_key: string;
  scram_sha256_salt: string;
  scram_sha256_iterations: number;
  scram_sha256_stored_key: string;
  scram_sha256_server_key: string;
  md5_salt: string;
  md5_digest: string;
  /** Another server's password hash, until the first sign-in upgrades it (migration 0017). */
  legacy_hash: string | null;
}

export interface RelationshipTable {
  owner_id: string;
  contact_id: string;
  forward: Flag;
  allow: Flag;
  block: Flag;
  nickname: string | null;
  updated_at: number;
  /** The contact acknowledged this row's forward add (MSN PL / Pending); 0 after each new add. */
  noticed: Flag;
  /** Kept in the owner's list without asking for presence (roster item 'none', isMessengerUser=false). */
  listed: Flag;
}

export interface ContactGroupTable {
  id: string;
  owner_id: string;
  number: number;
  name: string;
}

export interface GroupMemberTable {
  owner_id: string;
  contact_id: string;
  group_id: string;
}

export interface OfflineMessageTable {
  /** Insertion order; the only reliable ordering (ids are random, clocks are coarse). */
  seq: Generated<number>;
  id: string;
  recipient_id: string;
  sender_handle: string;
  payload: string;
  sent_at: number;
  delivered_at: number | null;
  /** Migration 0019: who is delivering it, until when (null: nobody). */
  lease_node: string | null;
  lease_token: string | null;
  lease_until: number | null;
}

export interface SettingTable {
  name: string;
  value: string;
}

/** A login ticket or MSN service token, stored by the SHA-256 (hex) of its token, never the token. */
export interface LoginTicketTable {
  token_hash: string;
  account_id: string;
  /** What the ticket may be redeemed for, e.g. 'msnp-login'. */
  purpose: string;
  created_at: number;
  expires_at: number;
  /** Set when redeemed; a ticket is redeemed at most once. */
  used_at: number | null;
  /** base64 WS-Trust BinarySecret of an SSO ticket (MBI_KEY_OLD); null otherwise. */
  proof_key: string | null;
}

export interface AccountPropertyTable {
  account_id: string;
  name: string;
  value: string;
}

/** An OAuth 2.0 client (RFC 6749 §2). Public clients have no secret. */
export interface OAuthClientTable {
  id: string;
  name: string;
  /** SHA-256 (hex) of the client secret; null for a public client. */
  secret_hash: string | null;
  /** JSON array of the exact redirect URIs. */
  redirect_uris: string;
  /** The account that registered it; null when the operator did. */
  owner_id: string | null;
  created_at: number;
}

/** An authorization code (RFC 6749 §4.1.2), stored by the SHA-256 (hex) of the code. */
export interface OAuthCodeTable {
  code_hash: string;
  client_id: string;
  account_id: string;
  redirect_uri: string;
  /** Space-separated. */
  scopes: string;
  code_challenge: string | null;
  challenge_method: string | null;
  created_at: number;
  expires_at: number;
  /** Set when redeemed; a code is redeemed at most once. */
  used_at: number | null;
}

/** An access or refresh token, stored by the SHA-256 (hex) of the token. */
export interface OAuthTokenTable {
  token_hash: string;
  kind: 'access' | 'refresh';
  client_id: string;
  account_id: string;
  /** Space-separated. */
  scopes: string;
  /** The grant the token descends from: shared by a code's tokens and their rotations. */
  family_id: string;
  /** The authorization code the grant started from, if any. */
  code_hash: string | null;
  /** When the grant (the family) was first made. */
  granted_at: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** A web sign-in session, stored by the SHA-256 (hex) of the cookie token. */
export interface WebSessionTable {
  token_hash: string;
  account_id: string;
  csrf: string;
  created_at: number;
  expires_at: number;
}

/** A circle (MSNP18 group); `id` is its address-book GUID. Migration 0011. */
export interface CircleTable {
  id: string;
  name: string;
  owner_id: string;
  created_at: number;
}

export interface CircleMemberTable {
  circle_id: string;
  account_id: string;
  /** 1 administrator, 3 member. */
  role: 1 | 3;
  state: 'pending' | 'accepted';
  inviter_id: string | null;
  changed_at: number;
}

/** A PEP node (XEP-0163) on an account's bare JID. Migration 0014. */
export interface PepNodeTable {
  account_id: string;
  node: string;
  /** JSON: the node configuration core/pep.ts keeps. */
  config: string;
  created_at: number;
}

export interface PepItemTable {
  account_id: string;
  node: string;
  item_id: string;
  /** The node's publication order, newest highest. */
  seq: number;
  /** The item's payload: the XML the owner published. */
  payload: string;
  published_at: number;
}

/** XEP-0049 private XML: one element per namespace per account. Migration 0013. */
export interface PrivateXmlTable {
  account_id: string;
  namespace: string;
  /** The element the client stored, as XML. */
  xml: string;
  updated_at: number;
}

/** A one-to-one message, in the sender's and the recipient's archive (XEP-0313); migration 0015. */
export interface MessageArchiveTable {
  /** Sorts in archive order (it begins with the time). */
  id: string;
  /** Null once the account is deleted. */
  sender_id: string | null;
  recipient_id: string | null;
  /** Handles. */
  sender: string;
  recipient: string;
  at: number;
  body: string;
}

/** A one-time invitation link; the token itself is never stored. Migration 0018. */
export interface SignupInviteTable {
  id: string;
  token_hash: string;
  created_at: number;
  expires_at: number;
  created_by: string | null;
  used_at: number | null;
  used_by: string | null;
}

/** An account's role (only accounts with one have a row). Migration 0018. */
export interface AccountRoleTable {
  account_id: string;
  role: string;
  granted_at: number;
}

export interface Database {
  account: AccountTable;
  credential: CredentialTable;
  relationship: RelationshipTable;
  contact_group: ContactGroupTable;
  group_member: GroupMemberTable;
  offline_message: OfflineMessageTable;
  setting: SettingTable;
  login_ticket: LoginTicketTable;
  account_property: AccountPropertyTable;
  account_picture: AccountPictureTable;
  oauth_client: OAuthClientTable;
  oauth_code: OAuthCodeTable;
  oauth_token: OAuthTokenTable;
  web_session: WebSessionTable;
  circle: CircleTable;
  circle_member: CircleMemberTable;
  private_xml: PrivateXmlTable;
  pep_node: PepNodeTable;
  pep_item: PepItemTable;
  message_archive: MessageArchiveTable;
  signup_invite: SignupInviteTable;
  account_role: AccountRoleTable;
}
