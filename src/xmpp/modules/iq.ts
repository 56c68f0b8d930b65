import { bareJid, parseJid } from '../../util/jid.ts';
import { routeStanza } from '../c2s/context.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { StanzaError } from '../stanza-error.ts';
import { type XmlElement, xml } from '../stream/element.ts';
import { blocklistGet, blockSet, bounceIfBlocked, unblockSet } from './blocking.ts';
import { handleServerIqAnswer } from './caps.ts';
import { carbonsSet } from './carbons.ts';
import { lastActivityGet } from './last-activity.ts';
import { archiveFeatures, mamForm, mamMetadata, mamQuery } from './mam.ts';
import { mamPrefsGet, mamPrefsSet } from './mam-prefs.ts';
import { xmppResources } from './message.ts';
import { PEP_FEATURES, pepDiscoItems, pubsubGet, pubsubOwnerGet, pubsubOwnerSet, pubsubSet } from './pep.ts';
import { privateGet, privateSet } from './private-storage.ts';
import { rosterGet, rosterSet } from './roster.ts';
import { timeGet } from './time.ts';
import { vcardGet, vcardSet } from './vcard.ts';

/** An IQ handler returns the reply; throwing StanzaError answers with an error. */
type IqHandler = (s: XmppSession, iq: XmlElement) => Promise<XmlElement | undefined> | XmlElement | undefined;

interface IqRoute {
  get?: IqHandler;
  set?: IqHandler;
  /** Also answered for another account's bare JID (the server answers on its behalf). */
  forAccounts?: boolean;
}

const result = (iq: XmlElement, ...children: XmlElement[]) =>
  xml('iq', { type: 'result', id: iq.attrs.id, from: iq.attrs.to, to: iq.attrs.from }, ...children);

/** XEP-0030 features this server (and, on their behalf, its accounts) supports. */
const SERVER_FEATURES = [
  NS.discoInfo,
  NS.discoItems,
  NS.roster,
  NS.rosterVersioning,
  NS.preApproval,
  NS.vcard,
  NS.version,
  NS.ping,
  NS.delay,
  'msgoffline', // XEP-0160
  NS.carbons, // XEP-0280 §3
  NS.blocking,
  NS.private,
  NS.last, // XEP-0012 §5: the server's uptime
  NS.time, // XEP-0202
];

/** Keyed by `<namespace> <element>` of the IQ's payload (one per XEP/RFC section). */
const ROUTES: Record<string, IqRoute> = {
  [`${NS.roster} query`]: { get: rosterGet, set: rosterSet },
  // RFC 6121 Appendix E: the legacy session establishment, accepted and ignored.
  [`${NS.session} session`]: { set: (_s, iq) => result(iq) },
  // XEP-0199 §4.2: client-to-server ping.
  [`${NS.ping} ping`]: { get: (_s, iq) => result(iq), forAccounts: false },
  // XEP-0092: software version of the server.
  [`${NS.version} query`]: {
    get: (s, iq) =>
      result(
        iq,
        xml('query', { xmlns: NS.version }, xml('name', {}, 'Papillon'), xml('version', {}, s.ctx.version)),
      ),
  },
  // XEP-0030 §3: the server's identity and features; for an account (its bare JID), its identity as a user.
  [`${NS.discoInfo} query`]: {
    forAccounts: true,
    get: (s, iq) => {
      const to = iq.attrs.to ? parseJid(iq.attrs.to) : undefined;
      const query = xml('query', {
        xmlns: NS.discoInfo,
        node: iq.getChild('query', NS.discoInfo)?.attrs.node,
      });
      if (to?.local) {
        query.append(xml('identity', { category: 'account', type: 'registered' }));
        // XEP-0163 §6.1: the account is a PEP service.
        query.append(xml('identity', { category: 'pubsub', type: 'pep' }));
        for (const f of [
          NS.discoInfo,
          NS.discoItems,
          NS.vcard,
          NS.last,
          ...archiveFeatures(s),
          ...PEP_FEATURES,
        ])
          query.append(xml('feature', { var: f }));
      } else {
        query.append(xml('identity', { category: 'server', type: 'im', name: 'Papillon' }));
        for (const f of SERVER_FEATURES) query.append(xml('feature', { var: f }));
      }
      return result(iq, query);
    },
  },
  [`${NS.discoItems} query`]: {
    forAccounts: true,
    get: async (s, iq) => {
      const to = iq.attrs.to ? parseJid(iq.attrs.to) : undefined;
      const query = xml('query', { xmlns: NS.discoItems });
      // XEP-0163 §6.1 / XEP-0060 §5.2: an account's items are its PEP nodes.
      if (to?.local && !iq.getChild('query', NS.discoItems)?.attrs.node)
        query.append(...(await pepDiscoItems(s, bareJid(to))));
      return result(iq, query);
    },
  },
  [`${NS.vcard} vCard`]: { get: vcardGet, set: vcardSet, forAccounts: true },
  // XEP-0163: the account's PEP service (pep.ts answers `forbidden` to others' changes).
  [`${NS.pubsub} pubsub`]: { get: pubsubGet, set: pubsubSet, forAccounts: true },
  [`${NS.pubsubOwner} pubsub`]: { get: pubsubOwnerGet, set: pubsubOwnerSet, forAccounts: true },
  // XEP-0313 §4 (queries, the query form, archive metadata) and XEP-0441 (preferences):
  // the user's own archive; another account's is refused with `forbidden`.
  [`${NS.mam} query`]: { get: mamForm, set: mamQuery, forAccounts: true },
  [`${NS.mam} metadata`]: { get: mamMetadata, forAccounts: true },
  [`${NS.mam} prefs`]: { get: mamPrefsGet, set: mamPrefsSet, forAccounts: true },
  // XEP-0280 §4–5: carbon copies for this resource.
  [`${NS.carbons} enable`]: { set: carbonsSet },
  [`${NS.carbons} disable`]: { set: carbonsSet },
  // XEP-0191 §3.2–3.5: the block list (the MSN BL).
  [`${NS.blocking} blocklist`]: { get: blocklistGet },
  [`${NS.blocking} block`]: { set: blockSet },
  [`${NS.blocking} unblock`]: { set: unblockSet },
  // XEP-0049: to another account's bare JID too, to answer `forbidden` (§2.3).
  [`${NS.private} query`]: { get: privateGet, set: privateSet, forAccounts: true },
  // XEP-0012: the server's uptime; an account's last activity, answered on its behalf (§3).
  [`${NS.last} query`]: { get: lastActivityGet, forAccounts: true },
  // XEP-0202 §3: the server's time.
  [`${NS.time} time`]: { get: timeGet },
};

/**
 * RFC 6120 §8.2.3 / RFC 6121 §8.5: IQs to the server or the user's own bare JID are
 * answered here; to another account's bare JID, the server answers for it (disco,
 * vCard) or says service-unavailable; to a full JID, they go to that resource.
 * Every get/set gets exactly one reply.
 */
export async function handleIq(s: XmppSession, iq: XmlElement): Promise<void> {
  const type = iq.attrs.type;
  if (type !== 'get' && type !== 'set' && type !== 'result' && type !== 'error') {
    throw new StanzaError('modify', 'bad-request', 'iq type must be get, set, result or error');
  }
  if (!iq.attrs.id) throw new StanzaError('modify', 'bad-request', 'iq needs an id');
  const to = iq.attrs.to ? parseJid(iq.attrs.to) : undefined;
  if (iq.attrs.to && !to) throw new StanzaError('modify', 'jid-malformed');
  if (to && to.domain !== s.ctx.domain) throw new StanzaError('cancel', 'remote-server-not-found');

  const forOtherAccount = to?.local !== undefined && to.local !== '' && bareJid(to) !== s.bare;
  // The account addressed, read once: another account, or a full JID's (own included).
  const target =
    to?.local && (forOtherAccount || to.resource) ? await s.ctx.core.accounts.find(bareJid(to)) : undefined;
  // XEP-0191 §3.3: nothing the user sends reaches a contact the user blocks.
  if (forOtherAccount && target && (await bounceIfBlocked(s, iq, target.id))) return;
  if (to?.resource && to.local) {
    // To a full JID: that resource answers (own other resources included).
    const connected = target ? await xmppResources(s.ctx.core, target.id) : [];
    if (
      !target ||
      !connected.some((r) => r.resource === to.resource) ||
      (forOtherAccount && !(await s.ctx.core.relationships.canSee(s.account?.id ?? '', target.id)))
    ) {
      if (type === 'get' || type === 'set') throw new StanzaError('cancel', 'service-unavailable');
      return;
    }
    return routeStanza(s.ctx.core, target.id, iq, [to.resource]);
  }
  // Answers to the server's own requests (XEP-0115 §6.2 disco#info of a client's caps).
  if (type === 'result' || type === 'error') return handleServerIqAnswer(s, iq);
  const payload = iq.getChildren();
  if (payload.length !== 1) throw new StanzaError('modify', 'bad-request', 'an iq get/set has one payload');
  const child = payload[0] as XmlElement;
  const route = ROUTES[`${child.xmlns} ${child.name}`];
  const handler = type === 'get' ? route?.get : route?.set;
  if (!route || !handler || (forOtherAccount && !route.forAccounts)) {
    throw new StanzaError('cancel', 'service-unavailable');
  }
  const reply = await handler(s, iq);
  if (!reply) throw new StanzaError('cancel', 'service-unavailable');
  s.send(reply);
}
