/** XML namespaces, with the document that defines each. */
export const NS = {
  client: 'jabber:client', // RFC 6120 §4.8.3
  streams: 'http://etherx.jabber.org/streams', // RFC 6120 §4.8.1
  streamErrors: 'urn:ietf:params:xml:ns:xmpp-streams', // RFC 6120 §4.9.3
  tls: 'urn:ietf:params:xml:ns:xmpp-tls', // RFC 6120 §5.4
  sasl: 'urn:ietf:params:xml:ns:xmpp-sasl', // RFC 6120 §6.4
  bind: 'urn:ietf:params:xml:ns:xmpp-bind', // RFC 6120 §7
  session: 'urn:ietf:params:xml:ns:xmpp-session', // RFC 3921 §3, optional per RFC 6121 Appendix E
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas', // RFC 6120 §8.3.3
  roster: 'jabber:iq:roster', // RFC 6121 §2
  rosterVersioning: 'urn:xmpp:features:rosterver', // RFC 6121 §2.6
  preApproval: 'urn:xmpp:features:pre-approval', // RFC 6121 §3.4
  delay: 'urn:xmpp:delay', // XEP-0203
  vcard: 'vcard-temp', // XEP-0054
  discoInfo: 'http://jabber.org/protocol/disco#info', // XEP-0030
  discoItems: 'http://jabber.org/protocol/disco#items', // XEP-0030
  version: 'jabber:iq:version', // XEP-0092
  ping: 'urn:xmpp:ping', // XEP-0199
  chatStates: 'http://jabber.org/protocol/chatstates', // XEP-0085
  vcardUpdate: 'vcard-temp:x:update', // XEP-0153
  blocking: 'urn:xmpp:blocking', // XEP-0191
  blockingErrors: 'urn:xmpp:blocking:errors', // XEP-0191 §3.3
  private: 'jabber:iq:private', // XEP-0049
  last: 'jabber:iq:last', // XEP-0012
  time: 'urn:xmpp:time', // XEP-0202
  sm: 'urn:xmpp:sm:3', // XEP-0198
  csi: 'urn:xmpp:csi:0', // XEP-0352
  carbons: 'urn:xmpp:carbons:2', // XEP-0280
  forward: 'urn:xmpp:forward:0', // XEP-0297
  hints: 'urn:xmpp:hints', // XEP-0334
  caps: 'http://jabber.org/protocol/caps', // XEP-0115
  dataForms: 'jabber:x:data', // XEP-0004
  pubsub: 'http://jabber.org/protocol/pubsub', // XEP-0060
  pubsubEvent: 'http://jabber.org/protocol/pubsub#event', // XEP-0060 §7.1.2
  pubsubOwner: 'http://jabber.org/protocol/pubsub#owner', // XEP-0060 §8
  pubsubErrors: 'http://jabber.org/protocol/pubsub#errors', // XEP-0060 §7.1.3
  avatarData: 'urn:xmpp:avatar:data', // XEP-0084
  avatarMetadata: 'urn:xmpp:avatar:metadata', // XEP-0084
  nick: 'http://jabber.org/protocol/nick', // XEP-0172
  bookmarks: 'urn:xmpp:bookmarks:1', // XEP-0402
  mam: 'urn:xmpp:mam:2', // XEP-0313
  mamExtended: 'urn:xmpp:mam:2#extended', // XEP-0313 "Determining support"
  stanzaId: 'urn:xmpp:sid:0', // XEP-0359
  rsm: 'http://jabber.org/protocol/rsm', // XEP-0059
} as const;
