/**
 * What moves between servers (`papillon export`/`import`, `import escargot`): the
 * accounts with every password form that can travel, their contact lists, vCards
 * and undelivered offline messages. Protocol-neutral: xep0227.ts writes and reads it
 * as XEP-0227 XML, escargot.ts reads it from an Escargot database, and apply.ts /
 * collect.ts move it into and out of a Store.
 */
import type { PasswordCredentials, Privacy } from '../store/types.ts';

export interface PortableAccount {
  /** `local@domain`, as found (apply.ts normalizes and checks it). */
  handle: string;
  displayName?: string;
  privacy?: Privacy;
  createdAt?: number;
  /** Whatever forms the source had; apply.ts fills in the rest (core/legacy-hash.ts). */
  credentials: PortableCredentials;
  /** The account's group names, in order. */
  groups: string[];
  contacts: PortableContact[];
  /** The vCard's children as XML (vcard-temp), without FN and PHOTO. */
  vcard?: string;
  offline: PortableOffline[];
}

export type PortableCredentials = Partial<PasswordCredentials> & {
  /** A plaintext password (XEP-0227 `password`); never written by Papillon. */
  plaintext?: string;
};

/** What the owner keeps about one contact. */
export interface PortableContact {
  handle: string;
  nickname: string | null;
  /** Group names. */
  groups: string[];
  /** MSN's lists as Papillon stores them (exact), when the source has them. */
  lists?: ContactLists;
  /** RFC 6121 roster state, used when `lists` is absent (Prosody, ejabberd). */
  subscription?: 'none' | 'to' | 'from' | 'both';
  ask?: boolean;
}

export interface ContactLists {
  forward: boolean;
  allow: boolean;
  block: boolean;
  noticed: boolean;
  listed: boolean;
}

/** An undelivered offline message, with the time it was sent. */
export interface PortableOffline {
  from: string;
  sentAt: number;
  kind: 'chat' | 'normal';
  text: string;
  subject?: string;
  senderName?: string;
  /** The XMPP stanza as sent, when there is one (core/offline.ts OfflineContent.xml). */
  xml?: string;
}
