import { isCircleId } from '../../core/circles.ts';
import type { DomainEvent } from '../../core/events.ts';
import { encodeParam } from '../codec/index.ts';
import { MsnpError } from '../errors.ts';
import { verifyCircleTicket } from './circle-ticket.ts';
import { type NsHandler, tridOf } from './handler.ts';
import { CIRCLE_NETWORK, type MlPayload } from './ml.ts';
import { MsnpReply } from './reply.ts';
import type { NsSession } from './session.ts';

/**
 * Circles on the notification server (MSNP18). Sources: MSNPSharp 3.x
 * (NSMessageHandler.cs: SendSHAAMessage, SendCircleNotifyADL, JoinCircleConversation,
 * OnNLNReceived / OnNFYReceived / OnSDGReceived; enums.cs CircleString), Pidgin
 * msn/notification.c msn_notification_send_circle_auth, and how Escargot answered:
 *
 * 1. `USR trid SHA A <base64 CircleTicket>` → `USR trid OK <handle> 0 0`.
 * 2. `ADL trid len <ml><d n="live.com"><c n="<circle guid>" t="9" l="1"/></d></ml>` →
 *    `ADL trid OK`, then the circle's own presence, `NLN NLN 1:<me>;via=9:<guid>@live.com
 *    <circle name> 0:0` (MSNPSharp reads caps `0:0` as "the circle is online" and
 *    answers with the PUT below), and each member online as `NLN … 1:<member>;via=…`.
 * 3. `PUT trid len` (Routing To `9:<guid>@live.com`, Publication Uri /circle, a
 *    `<circle><roster>` with the sender) joins the circle's conversation: `PUT trid OK 0`;
 *    every joined member gets `NFY PUT` with the roster.
 * 4. `SDG trid len` (Routing To `9:<guid>@live.com;path=IM`, Reliability, Messaging
 *    headers and body) → `SDG 0 len`, the same message, to every other joined endpoint.
 */

interface CircleState {
  authenticated: boolean;
  /** Circles this session signed in to (ADL) and joined (PUT). */
  signedIn: Set<string>;
  joined: Set<string>;
}

const states = new WeakMap<NsSession, CircleState>();

function stateOf(s: NsSession): CircleState {
  let st = states.get(s);
  if (!st) {
    st = { authenticated: false, signedIn: new Set(), joined: new Set() };
    states.set(s, st);
  }
  return st;
}

/** `USR trid SHA A <ticket>`, after sign-in. */
export async function circleSignIn(
  s: NsSession,
  trid: string,
  phase: string | undefined,
  value: string,
): Promise<void> {
  const account = s.account;
  if (!account || !s.dialect?.circles) throw new MsnpReply(MsnpError.authenticationFailed, true);
  // COMPAT: Pidgin (msn/notification.c usr_error) ends the whole session on 911 for
  // any USR; a ticket this server issued always passes, so only forgeries see it.
  if (phase !== 'A' || !(await verifyCircleTicket(s.ctx.core, account, value))) {
    throw new MsnpReply(MsnpError.authenticationFailed);
  }
  stateOf(s).authenticated = true;
  // COMPAT: Pidgin ignores a USR OK once signed in; MSNPSharp only re-reads "verified".
  s.send('USR', trid, 'OK', account.handle, 0, 0);
}

/** The circle id of `<circle guid>@live.com` (any case), lower-cased. */
function circleIdOf(handle: string): string | undefined {
  const id = /^([^@]+)@live\.com$/i.exec(handle)?.[1]?.toLowerCase();
  return id !== undefined && isCircleId(id) ? id : undefined;
}

/** Whether an ADL/RML is about circles; a payload mixing circles and contacts is refused (Escargot: 241). */
export function isCircleMl(ml: MlPayload): boolean {
  const circles = ml.contacts.filter((c) => c.network === CIRCLE_NETWORK).length;
  if (circles > 0 && circles < ml.contacts.length) throw new MsnpReply(MsnpError.invalidXmlPayload, true);
  return circles > 0;
}

/** ADL of circles: sign in to each (933 without `USR SHA A` first or for a non-member). */
export async function circleAdl(s: NsSession, trid: string, ml: MlPayload): Promise<void> {
  const account = s.account;
  const st = stateOf(s);
  if (!account || !st.authenticated) throw new MsnpReply(MsnpError.invalidCircleMembership);
  const ids: string[] = [];
  for (const contact of ml.contacts) {
    const id = circleIdOf(contact.handle);
    if (!id || !(await s.ctx.core.circles.isMember(id, account.id))) {
      throw new MsnpReply(MsnpError.invalidCircleMembership);
    }
    ids.push(id);
  }
  s.send('ADL', trid, 'OK');
  for (const id of ids) {
    st.signedIn.add(id);
    const circle = await s.ctx.core.circles.get(id);
    if (!circle) continue;
    // The circle itself "online": the own handle via the circle, caps 0:0.
    s.send('NLN', 'NLN', `1:${account.handle};via=9:${id}@live.com`, encodeParam(circle.name), '0:0', 0);
    for (const m of await s.ctx.core.circles.members(id)) {
      if (m.member.state !== 'accepted' || m.account.id === account.id) continue;
      const presence = await s.ctx.core.presence.current(m.account.id);
      if (presence.status === 'offline' || presence.status === 'invisible') continue;
      s.send(
        'NLN',
        'NLN',
        `1:${m.account.handle};via=9:${id}@live.com`,
        encodeParam(m.account.displayName),
        '0:0',
        0,
      );
    }
  }
}

/** The Routing/Reliability/… blocks of a PUT or SDG payload, and what follows the last one. */
function blocks(payload: string): { headers: Map<string, string>; body: string } {
  const headers = new Map<string, string>();
  let rest = payload;
  // Routing, Reliability, then Publication or Messaging headers; the body follows the last.
  for (let i = 0; i < 3; i++) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    for (const line of rest.slice(0, end).split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    rest = rest.slice(end + 4);
  }
  return { headers, body: rest };
}

function targetCircle(s: NsSession, to: string | undefined): string {
  // `9:<circle guid>@live.com`, optionally followed by `;path=IM`.
  const id = circleIdOf(/^9:([^;]*)/.exec(to ?? '')?.[1] ?? '');
  if (!id) throw new MsnpReply(MsnpError.invalidParameter);
  if (!stateOf(s).signedIn.has(id)) throw new MsnpReply(MsnpError.invalidCircleMembership);
  return id;
}

/** `PUT trid len`: joins the circle's conversation (its roster). */
export const PUT: NsHandler = {
  state: 'online',
  when: (d) => d.circles,
  async run(s, c) {
    const trid = tridOf(c);
    const account = s.account;
    if (!account) return;
    const { headers } = blocks(c.payload?.toString('utf8') ?? '');
    const id = targetCircle(s, headers.get('to'));
    s.send('PUT', trid, 'OK', 0);
    stateOf(s).joined.add(id);
    await s.ctx.core.circles.roster(id, account, s.endpointId, true);
  },
};

/**
 * The session ended: it leaves every circle conversation it joined, so the other
 * members' rosters lose it (`NFY DEL`) as when a WLM 2009 user signs out.
 */
export async function leaveCircles(s: NsSession): Promise<void> {
  const account = s.account;
  const st = states.get(s);
  if (!account || !st) return;
  for (const id of st.joined) await s.ctx.core.circles.roster(id, account, s.endpointId, false);
  st.joined.clear();
}

/** `SDG trid len`: a message to everyone in the circle. */
export const SDG: NsHandler = {
  state: 'online',
  when: (d) => d.circles,
  async run(s, c) {
    const account = s.account;
    if (!account) return;
    const { headers, body } = blocks(c.payload?.toString('utf8') ?? '');
    const id = targetCircle(s, headers.get('to'));
    const type = (headers.get('message-type') ?? '').toLowerCase();
    const subtype = (headers.get('message-subtype') ?? '').toLowerCase();
    const kind = type === 'nudge' ? 'nudge' : type === 'control' && subtype === 'typing' ? 'typing' : 'text';
    const format = headers.get('x-mms-im-format');
    await s.ctx.core.circles.send(id, account, s.endpointId, {
      kind,
      text: kind === 'text' ? body : '',
      ...(format ? { format } : {}),
    });
  },
};

/** Circle events in MSNP18 words; false when the event is not a circle's. */
export async function renderCircleEvent(s: NsSession, event: DomainEvent): Promise<boolean> {
  const account = s.account;
  if (!account || !s.dialect?.circles) return event.type.startsWith('circle');
  const st = stateOf(s);
  switch (event.type) {
    case 'circles-changed':
      // The address book changed: the client fetches it again (ABCH notification).
      s.sendPayload('NOT', [], abchNotification(account.handle));
      return true;
    case 'circle-roster': {
      if (!st.signedIn.has(event.circleId)) return true;
      const from = `9:${event.circleId}@live.com`;
      if (event.joined) {
        const roster = `<circle><roster><id>IM</id><user><id>1:${event.memberHandle}</id></user></roster></circle>`;
        s.sendPayload(
          'NFY',
          ['PUT'],
          routed(
            `1:${account.handle}`,
            from,
            `Publication: 1.0\r\nUri: /circle\r\nNotifType: Partial\r\nContent-Type: application/circles+xml\r\nContent-Length: ${Buffer.byteLength(roster)}\r\n\r\n${roster}`,
          ),
        );
      } else {
        s.sendPayload(
          'NFY',
          ['DEL'],
          routed(
            `1:${account.handle}`,
            from,
            `Notification: 1.0\r\nNotifNum: 0\r\nUri: /circle/roster(IM)/user(1:${event.memberHandle})\r\nNotifType: Partial\r\nContent-Type: application/circles+xml\r\nContent-Length: 0\r\n\r\n`,
          ),
        );
      }
      return true;
    }
    case 'circle-message': {
      if (!st.joined.has(event.circleId) || event.senderEndpointId === s.endpointId) return true;
      s.sendPayload('SDG', [0], sdgPayload(event.circleId, event.senderHandle, event.message));
      return true;
    }
    default:
      return false;
  }
}

function routed(to: string, from: string, rest: string): string {
  return `Routing: 1.0\r\nTo: ${to}\r\nFrom: ${from}\r\n\r\nReliability: 1.0\r\nStream: 0\r\n\r\n${rest}`;
}

function sdgPayload(
  circleId: string,
  sender: string,
  m: { kind: string; text: string; format?: string },
): string {
  let messaging: string;
  if (m.kind === 'typing') {
    messaging = `Content-Length: 2\r\nContent-Type: text/x-msmsgscontrol\r\nContent-Transfer-Encoding: 7bit\r\nMessage-Type: Control\r\nMessage-Subtype: Typing\r\nMIME-Version: 1.0\r\nTypingUser: ${sender}\r\n\r\n\r\n`;
  } else if (m.kind === 'nudge') {
    messaging =
      'Content-Length: 9\r\nContent-Type: Text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\nMessage-Type: Nudge\r\nMIME-Version: 1.0\r\n\r\nID: 1\r\n\r\n';
  } else {
    const format = m.format ? `X-MMS-IM-Format: ${m.format}\r\n` : '';
    messaging = `Content-Length: ${Buffer.byteLength(m.text)}\r\nContent-Type: Text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\nMessage-Type: Text\r\nMIME-Version: 1.0\r\n${format}\r\n${m.text}`;
  }
  return `Routing: 1.0\r\nTo: 9:${circleId}@live.com;path=IM\r\nFrom: 1:${sender}\r\n\r\nReliability: 1.0\r\nStream: 0\r\nSegment: 0\r\n\r\nMessaging: 1.0\r\n${messaging}`;
}

/** The ABCH "address book changed" notice (MSNPSharp OnNOTReceived: Service ABCHInternal). */
function abchNotification(handle: string): string {
  return `<NOTIFICATION id="0" siteid="45705" siteurl="http://contacts.msn.com"><TO pid="0x0:0x0" name="${handle}"><VIA agent="messenger" /></TO><MSG id="0"><SUBSCR url="s.htm" /><ACTION url="a.htm" /><BODY>&lt;NotificationData xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"&gt;&lt;Service&gt;ABCHInternal&lt;/Service&gt;&lt;HasNewItem&gt;true&lt;/HasNewItem&gt;&lt;/NotificationData&gt;</BODY></MSG></NOTIFICATION>`;
}
