import { createHash } from 'node:crypto';
import type { AccountRow } from '../../store/types.ts';
import type { Dialect } from '../dialects/dialect.ts';

export interface ProfileInput {
  account: AccountRow;
  dialect: Dialect;
  /** The transport's `remoteAddress` (already unmapped from IPv4-mapped form). */
  clientAddress: string;
  clientPort: number;
  viaGateway: boolean;
  /** The Passport "t" ticket, when the login had one (MSPAuth). */
  mspAuth: string;
}

/** A stable 64-bit Passport member id from the account id (clients only echo it; `NOT` names it too). */
function memberId(accountId: string): { high: number; low: number } {
  const digest = createHash('sha256').update(accountId).digest();
  return { high: digest.readUInt32BE(0) & 0x7fffffff, low: digest.readUInt32BE(4) };
}

const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** The same member id as a `NOT`'s `<TO pid="0xlow:0xhigh">` writes it. */
export function memberPid(accountId: string): string {
  const id = memberId(accountId);
  return `${hex32(id.low)}:${hex32(id.high)}`;
}

/**
 * The `MSG Hotmail Hotmail` profile sent after login (docs/msnp-reference.md §6):
 * MSNP2 has only LoginTime, MSNP3+ the Passport fields, MSNP8+ the client address,
 * MSNP10+ `ABCHMigrated: 1` (MSNP11 misbehaves with 0), MSNP16+ `MPOPEnabled: 1`.
 * COMPAT: Pidgin's MSNP18 plugin (retro-prpl msn/notification.c profile_msg) starts
 * fetching the address book when this message arrives, so it is never left out.
 */
export function profileMessage(input: ProfileInput): string {
  const { account, dialect } = input;
  const lines = ['MIME-Version: 1.0', 'Content-Type: text/x-msmsgsprofile; charset=UTF-8'];
  lines.push(`LoginTime: ${Math.floor(Date.now() / 1000)}`);
  if (dialect.profile !== 'login-time') {
    const id = memberId(account.id);
    lines.push(
      'EmailEnabled: 0',
      `MemberIdHigh: ${id.high}`,
      `MemberIdLow: ${id.low}`,
      'lang_preference: 1033',
      `preferredEmail: ${account.handle}`,
      'country: ',
      'PostalCode: ',
      'Gender: ',
      'Kid: 0',
      'Age: ',
      'BDayPre: ',
      'Birthday: ',
      'Wallet: ',
      'Flags: 1027',
      'sid: 507',
      'kv: 7',
      `MSPAuth: ${input.mspAuth}`,
    );
  }
  if (dialect.profile === 'passport-client-address' || dialect.profile === 'abch') {
    // COMPAT: MSN Messenger reads ClientPort byte-swapped (§6); 0 over the HTTP gateway.
    const port = input.viaGateway ? 0 : input.clientPort;
    lines.push(`ClientIP: ${input.clientAddress}`);
    lines.push(`ClientPort: ${((port & 0xff) << 8) | ((port & 0xff00) >> 8)}`);
  }
  if (dialect.profile === 'abch') lines.push('ABCHMigrated: 1');
  // MSNP16+: WLM 2009 offers "sign in at several places" only when this is 1.
  if (dialect.mpop) lines.push('MPOPEnabled: 1');
  return `${lines.join('\r\n')}\r\n\r\n`;
}
