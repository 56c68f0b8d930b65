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
} as const;
