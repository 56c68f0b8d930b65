import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Core } from '../../core/core.ts';
import type { AccountRow } from '../../store/types.ts';
import { escapeXml } from '../../util/xml.ts';
import { cidOf } from '../cid.ts';

/**
 * The circle ticket: what ABFindContactsPaged hands out in `CircleResult/CircleTicket`
 * and the client presents, base64-encoded, in `USR trid SHA A <ticket>` before it may
 * sign in to its circles (MSNPSharp wiki "MSNP18" / NSMessageHandler.SendSHAAMessage;
 * Pidgin msn/contact.c msn_parse_addressbook_circles). The live service's ticket is a
 * `SignedTicket` whose `Data` is a base64 `Ticket` (the circles, a time stamp `TS`, the
 * owner's `CID`) and whose `Sig` signs it; clients never look inside. Here `Sig` is an
 * HMAC-SHA256 of `Data` under a key kept in the store's settings, so any node checks it.
 */
const KEY_SETTING = 'msnp.circle-ticket-key';

async function key(core: Core): Promise<Buffer> {
  const b64 = await core.store.getOrCreateSetting(KEY_SETTING, () => randomBytes(32).toString('base64'));
  return Buffer.from(b64, 'base64');
}

export async function issueCircleTicket(
  core: Core,
  account: AccountRow,
  circleIds: string[],
): Promise<string> {
  const circles = circleIds
    .map((id) => `  <Circle Id="${escapeXml(id)}" HostedDomain="live.com" />\r\n`)
    .join('');
  const ticket = `<?xml version="1.0" encoding="utf-16"?>\r\n<Ticket xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">\r\n${circles}  <TS>${new Date().toISOString()}</TS>\r\n  <CID>${cidOf(account.id)}</CID>\r\n</Ticket>`;
  const data = Buffer.from(ticket, 'utf8').toString('base64');
  const sig = createHmac('sha256', await key(core))
    .update(data)
    .digest('base64');
  return `<?xml version="1.0" encoding="utf-16"?><SignedTicket xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" ver="1" keyVer="1"><Data>${data}</Data><Sig>${sig}</Sig></SignedTicket>`;
}

/** Whether `USR SHA A`'s argument is a ticket this server issued to this account. */
export async function verifyCircleTicket(core: Core, account: AccountRow, base64: string): Promise<boolean> {
  const signed = Buffer.from(base64, 'base64').toString('utf8');
  const data = /<Data>([A-Za-z0-9+/=]+)<\/Data>/.exec(signed)?.[1];
  const sig = /<Sig>([A-Za-z0-9+/=]+)<\/Sig>/.exec(signed)?.[1];
  if (!data || !sig) return false;
  const expected = createHmac('sha256', await key(core))
    .update(data)
    .digest();
  const given = Buffer.from(sig, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
  const cid = /<CID>(-?\d+)<\/CID>/.exec(Buffer.from(data, 'base64').toString('utf8'))?.[1];
  return cid === cidOf(account.id);
}
