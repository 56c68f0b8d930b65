import type { Migration, MigrationProvider } from 'kysely';
import type { Store } from '../types.ts';
import { initialMigration } from './0001-initial.ts';
import { loginTicketMigration } from './0002-login-ticket.ts';
import { accountPropertyMigration } from './0003-account-property.ts';
import { oauthMigration } from './0004-oauth.ts';
import { accountPictureMigration } from './0005-account-picture.ts';
import { ticketProofKeyMigration } from './0006-ticket-proof-key.ts';
import { relationshipNoticedMigration } from './0010-relationship-noticed.ts';
import { circleMigration } from './0011-circle.ts';
import { privateXmlMigration } from './0013-private-xml.ts';
import { pepMigration } from './0014-pep.ts';
import { messageArchiveMigration } from './0015-message-archive.ts';
import { relationshipListedMigration } from './0016-relationship-listed.ts';
import { credentialLegacyHashMigration } from './0017-credential-legacy-hash.ts';
import { signupInviteMigration } from './0018-signup-invite.ts';
import { offlineLeaseMigration } from './0019-offline-lease.ts';
import { credentialDropArgon2Migration } from './0020-credential-drop-argon2.ts';

/**
 * All migrations, listed in code rather than found by scanning a directory, so they
 * work the same from source, from a bundle and under any loader. Kysely applies them
 * in the order of their names; a new migration gets the next number.
 */
export function migrationProvider(kind: Store['kind']): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001-initial': initialMigration(kind),
    '0002-login-ticket': loginTicketMigration(),
    '0003-account-property': accountPropertyMigration(),
    '0004-oauth': oauthMigration(),
    '0005-account-picture': accountPictureMigration(),
    '0006-ticket-proof-key': ticketProofKeyMigration(),
    '0010-relationship-noticed': relationshipNoticedMigration(),
    '0011-circle': circleMigration(),
    '0013-private-xml': privateXmlMigration(),
    '0014-pep': pepMigration(),
    '0015-message-archive': messageArchiveMigration(kind),
    '0016-relationship-listed': relationshipListedMigration(),
    '0017-credential-legacy-hash': credentialLegacyHashMigration(),
    '0018-signup-invite': signupInviteMigration(),
    '0019-offline-lease': offlineLeaseMigration(),
    '0020-credential-drop-argon2': credentialDropArgon2Migration(),
  };
  return { getMigrations: async () => migrations };
}
