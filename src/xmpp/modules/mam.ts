import type { ArchivedMessage, ArchivePaging, ArchiveSearch } from '../../core/archive.ts';
import { DEFAULT_ARCHIVE_PAGE } from '../../core/archive.ts';
import type { AccountRow } from '../../store/types.ts';
import { randomToken } from '../../util/ids.ts';
import { bareJid, parseJid } from '../../util/jid.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { StanzaError } from '../stanza-error.ts';
import { type XmlElement, xml } from '../stream/element.ts';
import { parseRsm, rsmAnswer } from './rsm.ts';
import { dropLocalStanzaIds, stampStanzaId } from './stanza-id.ts';

/**
 * XEP-0313 message archive management over core/archive.ts: each account's archive of
 * its one-to-one messages (with XMPP and MSN users alike), queried on its bare JID.
 */

/** XEP-0313 "Determining support": on the account's bare JID, while the archive is on. */
export function archiveFeatures(s: XmppSession): string[] {
  return s.ctx.core.archive.enabled ? [NS.mam, NS.mamExtended, NS.stanzaId] : [];
}

/**
 * XEP-0313 "Communicating the archive ID": a message an XMPP user sends is archived for
 * both parties (chat and normal messages with a body, "Business Rules"), and the
 * recipient's copy says where, with a XEP-0359 stanza-id by the recipient's bare JID.
 * Called once per message, so a copy per resource or per protocol is not archived again.
 */
export function archiveSent(
  s: XmppSession,
  sender: AccountRow,
  recipient: AccountRow,
  el: XmlElement,
  type: string,
): string | undefined {
  dropLocalStanzaIds(el, s.ctx.domain);
  if (type !== 'chat' && type !== 'normal') return undefined;
  const body = el.getChildText('body');
  if (body === undefined) return undefined;
  const id = s.ctx.core.archive.record(sender, recipient, body);
  stampStanzaId(el, id, recipient.handle);
  return id;
}

/** The archive an IQ addresses: the user's own (its bare JID, or no `to`). */
export function ownArchive(s: XmppSession, iq: XmlElement): AccountRow {
  const account = s.account;
  if (!account || !s.ctx.core.archive.enabled) throw new StanzaError('cancel', 'service-unavailable');
  const to = iq.attrs.to ? parseJid(iq.attrs.to) : undefined;
  // The server keeps no archive of its own.
  if (to && !to.local) throw new StanzaError('cancel', 'service-unavailable');
  // XEP-0313 "Data privacy": someone else's archive.
  if (to && bareJid(to) !== s.bare) throw new StanzaError('auth', 'forbidden');
  return account;
}

/** The IQ result, from the archive addressed. */
export const reply = (iq: XmlElement, child?: XmlElement) =>
  xml('iq', { type: 'result', id: iq.attrs.id, from: iq.attrs.to, to: iq.attrs.from }, child);

/** XEP-0313 "Retrieving form fields": the fields a query may use. */
export function mamForm(s: XmppSession, iq: XmlElement): XmlElement {
  ownArchive(s, iq);
  const field = (name: string, type: string) => xml('field', { var: name, type });
  return reply(
    iq,
    xml(
      'query',
      { xmlns: NS.mam },
      xml(
        'x',
        { xmlns: NS.dataForms, type: 'form' },
        xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS.mam)),
        field('with', 'jid-single'),
        field('start', 'text-single'),
        field('end', 'text-single'),
        field('before-id', 'text-single'),
        field('after-id', 'text-single'),
        // The list of ids is open: the client names them (XEP-0122 <open/>).
        xml(
          'field',
          { var: 'ids', type: 'list-multi' },
          xml(
            'validate',
            { xmlns: 'http://jabber.org/protocol/xdata-validate', datatype: 'xs:string' },
            xml('open'),
          ),
        ),
      ),
    ),
  );
}

/**
 * XEP-0313 §4 "Querying an archive": the matching messages, each in its own `<message/>`
 * (XEP-0297 forwarded, with the XEP-0203 delay of when it was archived), then the IQ
 * result with `<fin/>` and its XEP-0059 set.
 */
export async function mamQuery(s: XmppSession, iq: XmlElement): Promise<XmlElement> {
  const account = ownArchive(s, iq);
  const query = iq.getChild('query', NS.mam) as XmlElement;
  const search = readForm(query.getChild('x', NS.dataForms));
  const rsm = parseRsm(query) ?? {};
  const paging: ArchivePaging = { max: rsm.max ?? DEFAULT_ARCHIVE_PAGE };
  if (rsm.after !== undefined) paging.after = rsm.after;
  // XEP-0313 "Requesting the last page": an empty <before/>.
  if (rsm.before === '') paging.last = true;
  else if (rsm.before !== undefined) paging.before = rsm.before;

  const found = await s.ctx.core.archive.query(account.id, search, paging);
  // "Paging through results" / "Limiting results by id": an id not in the archive.
  if (!found) throw new StanzaError('cancel', 'item-not-found', 'no such message in the archive');
  const queryid = query.attrs.queryid;
  // XEP-0313 "Flipped pages": the same page, newest first.
  const order = query.getChild('flip-page') ? [...found.messages].reverse() : found.messages;
  for (const m of order) s.send(resultMessage(s, iq, queryid, m));

  const first = found.messages[0];
  const last = found.messages.at(-1);
  return reply(
    iq,
    xml(
      'fin',
      { xmlns: NS.mam, complete: found.complete ? 'true' : undefined },
      rsmAnswer({
        ...(first
          ? { first: { id: first.id, ...(found.index === undefined ? {} : { index: found.index }) } }
          : {}),
        ...(last ? { last: last.id } : {}),
        count: found.count,
      }),
    ),
  );
}

/** XEP-0313 "Archive metadata": the oldest and newest messages. */
export async function mamMetadata(s: XmppSession, iq: XmlElement): Promise<XmlElement> {
  const account = ownArchive(s, iq);
  const { first, last } = await s.ctx.core.archive.bounds(account.id);
  const metadata = xml('metadata', { xmlns: NS.mam });
  if (first && last) {
    metadata.append(
      xml('start', { id: first.id, timestamp: stamp(first.at) }),
      xml('end', { id: last.id, timestamp: stamp(last.at) }),
    );
  }
  return reply(iq, metadata);
}

/** One archived message as a query result. */
function resultMessage(
  s: XmppSession,
  iq: XmlElement,
  queryid: string | undefined,
  m: ArchivedMessage,
): XmlElement {
  const own = s.bare;
  const original = xml(
    'message',
    {
      xmlns: NS.client,
      from: m.outgoing ? own : m.peer,
      to: m.outgoing ? m.peer : own,
      type: 'chat',
    },
    xml('body', {}, m.body),
  );
  return xml(
    'message',
    // From the archive queried (the IQ's `to`, absent when the IQ had none).
    { to: s.jid, from: iq.attrs.to, id: randomToken(9) },
    xml(
      'result',
      { xmlns: NS.mam, queryid, id: m.id },
      xml(
        'forwarded',
        { xmlns: NS.forward },
        xml('delay', { xmlns: NS.delay, stamp: stamp(m.at) }),
        original,
      ),
    ),
  );
}

/**
 * XEP-0313 §4.1 "Filtering results": the data form's fields (FORM_TYPE, with, start,
 * end; and the #extended before-id, after-id, ids). A field the server does not know
 * is `feature-not-implemented`; a value it cannot read, `bad-request`.
 */
function readForm(x: XmlElement | undefined): ArchiveSearch {
  const search: ArchiveSearch = {};
  if (!x) return search;
  if (x.attrs.type !== undefined && x.attrs.type !== 'submit') {
    throw new StanzaError('modify', 'bad-request', 'the query form must be submitted');
  }
  for (const field of x.getChildren('field')) {
    const values = field.getChildren('value').map((v) => v.text());
    const value = values[0]?.trim() ?? '';
    const name = field.attrs.var;
    // COMPAT: some clients send the fields they leave empty; an empty filter is no filter.
    if (value === '' && name !== 'FORM_TYPE') continue;
    switch (name) {
      case 'FORM_TYPE':
        if (value !== NS.mam) throw new StanzaError('modify', 'bad-request', `FORM_TYPE must be ${NS.mam}`);
        break;
      case 'with': {
        const jid = parseJid(value);
        if (!jid) throw new StanzaError('modify', 'jid-malformed', 'with is not a JID');
        // The archive keeps bare JIDs: a full JID matches its bare JID's messages.
        search.peer = bareJid(jid);
        break;
      }
      case 'start':
        search.start = dateTime(value, 'start');
        break;
      case 'end':
        search.end = dateTime(value, 'end');
        break;
      case 'after-id':
        search.afterId = value;
        break;
      case 'before-id':
        search.beforeId = value;
        break;
      case 'ids':
        search.ids = values.map((v) => v.trim()).filter((v) => v !== '');
        break;
      default:
        throw new StanzaError('cancel', 'feature-not-implemented', `unknown field ${name ?? ''}`);
    }
  }
  return search;
}

/** XEP-0082 DateTime: `CCYY-MM-DDThh:mm:ss[.sss]TZD`. */
function dateTime(value: string, field: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)
    ? Date.parse(value)
    : Number.NaN;
  if (Number.isNaN(ms))
    throw new StanzaError('modify', 'bad-request', `${field} is not an XEP-0082 DateTime`);
  return ms;
}

/** XEP-0082 DateTime of a time in ms. */
function stamp(ms: number): string {
  return new Date(ms).toISOString();
}
