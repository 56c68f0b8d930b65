/**
 * XMPP client streams (RFC 6120/6121 and the XEPs Papillon serves): the stream
 * header, negotiation nonzas, stanzas of every kind, keepalives and the close.
 */

const HEADER =
  "<?xml version='1.0'?><stream:stream to='example.com' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0' xml:lang='en'>";

const NEGOTIATION = [
  HEADER,
  "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
  "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>",
  "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>biwsbj1hbGljZSxyPWZ5a28rZDJsYmJGZ09OUnY5cWt4ZGF3TA==</auth>",
  "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>Yz1iaXdzLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdMM3JmY05IWUpZMVpWdldWczdqLHA9djBYOHYzQnoyVDBDSkdiSlF5RjBYK0hJNFRzPQ==</response>",
  "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-MESSENGER-OAUTH2'>EwBoAq1DBAAUGCCXc8wU/zFu9QnLdZXy+YnElFkAAQ</auth>",
  "<iq type='set' id='bind_1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>laptop</resource></bind></iq>",
  "<iq type='set' id='sess_1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
  "<enable xmlns='urn:xmpp:sm:3' resume='true'/>",
].join('');

const TRAFFIC = [
  HEADER,
  "<iq type='get' id='roster_1'><query xmlns='jabber:iq:roster'/></iq>",
  "<presence><show>away</show><status>at lunch &amp; back soon</status><priority>5</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://gajim.org' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>",
  '\n  \n',
  "<message to='bob@example.com' type='chat' id='m1' xml:lang='fr'><body>Zoë ☕ 日本語 😀 &lt;b&gt; &#x263A; &#9731;</body><active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>",
  "<message to='bob@example.com' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
  "<presence to='carol@example.com' type='subscribe'/>",
  "<iq type='get' to='bob@example.com' id='v1'><vCard xmlns='vcard-temp'/></iq>",
  "<iq type='set' id='v2'><vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==</BINVAL></PHOTO></vCard></iq>",
  "<iq type='get' to='example.com' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
  "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
  "<r xmlns='urn:xmpp:sm:3'/><a xmlns='urn:xmpp:sm:3' h='3'/>",
  "<iq type='set' id='mam1'><query xmlns='urn:xmpp:mam:2' queryid='q1'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field><field var='with'><value>bob@example.com</value></field></x><set xmlns='http://jabber.org/protocol/rsm'><max>20</max></set></query></iq>",
  "<iq type='set' id='pep1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='http://jabber.org/protocol/tune'><item><tune xmlns='http://jabber.org/protocol/tune'><artist>A</artist></tune></item></publish></pubsub></iq>",
  "<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='spam@example.com'/></block></iq>",
  "<inactive xmlns='urn:xmpp:csi:0'/>",
  ' ',
  '</stream:stream>',
].join('');

/** Prefixed elements, namespaced attributes, CDATA, character references, a declared default namespace change. */
const ODD_BUT_VALID = [
  '<?xml version="1.0" encoding="UTF-8"?>\n',
  '<s:stream xmlns:s="http://etherx.jabber.org/streams" xmlns="jabber:client" to="example.com" version="1.0">',
  '<c:message xmlns:c="jabber:client" to="bob@example.com"><c:body><![CDATA[<not markup> & more]]></c:body><x:y xmlns:x="urn:x" x:a="1" xml:lang="de"/></c:message>',
  '<message to="bob@example.com"><body>&#xD7FF;&#xE000;&#x10FFFF;&#9;&#10;&#13;</body><html xmlns="http://jabber.org/protocol/xhtml-im"><body xmlns="http://www.w3.org/1999/xhtml"><p>hi<br/>there</p></body></html></message>',
  '</s:stream>',
].join('');

/** Things the parser must refuse, so mutations start close to each error path. */
const REFUSED = [
  `${HEADER}<message><body>a</body></mess>`,
  `${HEADER}<!-- c --><message/>`,
  `${HEADER}<?pi x?>`,
  `<!DOCTYPE s [<!ENTITY x "xx">]>${HEADER}<message>&x;</message>`,
  `${HEADER}text<message/>`,
  `<stream:stream xmlns:stream='urn:wrong'>`,
  `<stream:features xmlns:stream='http://etherx.jabber.org/streams'>`,
  `${HEADER}<p:message xmlns='jabber:client'/>`,
  `<?xml version='1.0' encoding='ISO-8859-1'?>${HEADER}`,
];

export const XMPP_SEEDS: readonly Buffer[] = [NEGOTIATION, TRAFFIC, ODD_BUT_VALID, ...REFUSED].map((s) =>
  Buffer.from(s, 'utf8'),
);

export const XMPP_DICTIONARY: readonly string[] = [
  HEADER,
  '</stream:stream>',
  '<message>',
  '</message>',
  '<body>',
  '</body>',
  '<iq type="get">',
  '</iq>',
  '<presence/>',
  ' xmlns="jabber:client"',
  " xmlns:stream='http://etherx.jabber.org/streams'",
  ' xml:lang="en"',
  ' a="1"',
  '<a><a><a><a><a><a><a><a>',
  '</a></a></a></a></a></a></a></a>',
  '<![CDATA[',
  '&#x1;',
  '&#1114112;',
  '&quot;',
  '&apos;',
  '&gt;',
];
