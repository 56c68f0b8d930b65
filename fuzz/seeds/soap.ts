/**
 * SOAP request bodies as MSN clients send them (docs/msnp-reference.md §5.4, §10–§11;
 * Pidgin msn/nexus.h, msn/contact.h, msn/oim.h; MSNP wiki service pages), and the
 * XML payloads of ADL and UUX. `@NAME@` placeholders are filled by the target: dummy
 * values for the reader target, a real account's ticket for the HTTP target.
 */

const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">';

const envelope = (header: string, body: string) =>
  `${ENVELOPE_OPEN}<soap:Header>${header}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`;

const rst = (address: string, policy: string, id: number) =>
  `<wst:RequestSecurityToken Id="RST${id}"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>${address}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>${policy ? `<wsse:PolicyReference URI="${policy}"></wsse:PolicyReference>` : ''}</wst:RequestSecurityToken>`;

/** Passport RST (MSN 7.5, msn-pecan, Pidgin MSNP18: RST.srf / RST2.srf). */
export const RST_REQUEST = `<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wssc="http://schemas.xmlsoap.org/ws/2004/04/sc" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust"><Header><ps:AuthInfo xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="PPAuthInfo"><ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}</ps:HostingApp><ps:BinaryVersion>4</ps:BinaryVersion><ps:UIVersion>1</ps:UIVersion><ps:Cookies></ps:Cookies><ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams></ps:AuthInfo><wsse:Security><wsse:UsernameToken Id="user"><wsse:Username>@USER@</wsse:Username><wsse:Password>@PASSWORD@</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body><ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">${rst('http://Passport.NET/tb', '', 0)}${rst('messengerclear.live.com', 'MBI_KEY_OLD', 1)}${rst('messenger.msn.com', '?id=507', 2)}${rst('contacts.msn.com', 'MBI', 3)}${rst('messengersecure.live.com', 'MBI_SSL', 4)}${rst('storage.msn.com', 'MBI', 5)}</ps:RequestMultipleSecurityTokens></Body></Envelope>`;

/** Pidgin's token renewal: signed with the DA token's proof key instead of a password. */
export const RST_RENEWAL = `<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wssc="http://schemas.xmlsoap.org/ws/2004/04/sc" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy"><Header><wsse:Security><EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#" Id="BinaryDAToken0" Type="http://www.w3.org/2001/04/xmlenc#Element"><EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#tripledes-cbc"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:KeyName>http://Passport.NET/STS</ds:KeyName></ds:KeyInfo><CipherData><CipherValue>@DA@</CipherValue></CipherData></EncryptedData><wssc:DerivedKeyToken Id="SignKey"><wsse:RequestedTokenReference><wsse:KeyIdentifier ValueType="http://docs.oasis-open.org/wss/2004/XX/oasis-2004XX-wss-saml-token-profile-1.0#SAMLAssertionID"/><wsse:Reference URI="#BinaryDAToken0"/></wsse:RequestedTokenReference><wssc:Nonce>c2lnbmluZ25vbmNlc2lnbmluZ25vbmNl</wssc:Nonce></wssc:DerivedKeyToken><wsu:Timestamp Id="Timestamp"><wsu:Created>2009-01-01T00:00:00Z</wsu:Created><wsu:Expires>2099-01-01T00:05:00Z</wsu:Expires></wsu:Timestamp><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"/><Reference URI="#RST0"><Transforms><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms><DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/><DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAA=</DigestValue></Reference><Reference URI="#Timestamp"><DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAA=</DigestValue></Reference></SignedInfo><SignatureValue>AAAAAAAAAAAAAAAAAAAAAAAAAAA=</SignatureValue><KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#SignKey"/></wsse:SecurityTokenReference></KeyInfo></Signature></wsse:Security></Header><Body>${rst('contacts.msn.com', 'MBI', 0)}</Body></Envelope>`;

const AB_NS = 'http://www.msn.com/webservices/AddressBook';
const abHeader = `<ABApplicationHeader xmlns="${AB_NS}"><ApplicationId>CFE80F9D-180F-4399-82AB-413F33A1FA11</ApplicationId><IsMigration>false</IsMigration><PartnerScenario>Initial</PartnerScenario></ABApplicationHeader><ABAuthHeader xmlns="${AB_NS}"><ManagedGroupRequest>false</ManagedGroupRequest><TicketToken>t=@T@&amp;p=@P@</TicketToken></ABAuthHeader>`;
const ab = (operation: string, inner: string) =>
  envelope(abHeader, `<${operation} xmlns="${AB_NS}">${inner}</${operation}>`);

/** ABCH and contact sharing (WLM 8.x/2009, Pidgin MSNP18). */
export const AB_REQUESTS: readonly string[] = [
  ab(
    'ABFindAll',
    '<abId>00000000-0000-0000-0000-000000000000</abId><abView>Full</abView><deltasOnly>true</deltasOnly><lastChange>0001-01-01T00:00:00.0000000-08:00</lastChange>',
  ),
  ab(
    'ABFindContactsPaged',
    '<filterOptions><DeltasOnly>false</DeltasOnly><LastChanged>0001-01-01T00:00:00.0000000-08:00</LastChanged><ContactFilter><IncludeHiddenContacts>true</IncludeHiddenContacts></ContactFilter></filterOptions><abView>MessengerClient8</abView><extendedContent>AB AllGroups CircleResult</extendedContent>',
  ),
  ab(
    'ABContactAdd',
    '<abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact xmlns="http://www.msn.com/webservices/AddressBook"><contactInfo><contactType>LivePending</contactType><passportName>@CONTACT@</passportName><isMessengerUser>true</isMessengerUser><MessengerMemberInfo><DisplayName>Bob</DisplayName></MessengerMemberInfo></contactInfo></Contact></contacts><options><EnableAllowListManagement>true</EnableAllowListManagement></options>',
  ),
  ab(
    'ABContactUpdate',
    '<abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact xmlns="http://www.msn.com/webservices/AddressBook"><contactInfo><contactType>Me</contactType><displayName>Alice &amp; co</displayName><annotations><Annotation><Name>MSN.IM.MBEA</Name><Value>0</Value></Annotation><Annotation><Name>MSN.IM.GTC</Name><Value>1</Value></Annotation><Annotation><Name>MSN.IM.BLP</Name><Value>0</Value></Annotation></annotations></contactInfo><propertiesChanged>DisplayName Annotation</propertiesChanged></Contact></contacts>',
  ),
  ab(
    'ABContactDelete',
    '<abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactId>00000000-0000-0000-0000-000000000001</contactId></Contact></contacts>',
  ),
  ab(
    'ABGroupAdd',
    '<abId>00000000-0000-0000-0000-000000000000</abId><groupAddOptions><fRenameOnMsgrConflict>false</fRenameOnMsgrConflict></groupAddOptions><groupInfo><GroupInfo><name>Friends &lt;3</name><groupType>C8529CE2-6EAD-434d-881F-341E17DB3FF8</groupType><fMessenger>false</fMessenger><annotations><Annotation><Name>MSN.IM.Display</Name><Value>1</Value></Annotation></annotations></GroupInfo></groupInfo>',
  ),
  ab(
    'ABGroupContactAdd',
    '<abId>00000000-0000-0000-0000-000000000000</abId><groupFilter><groupIds><guid>00000000-0000-0000-0000-000000000002</guid></groupIds></groupFilter><contacts><Contact><contactId>00000000-0000-0000-0000-000000000001</contactId></Contact></contacts>',
  ),
  ab(
    'FindMembership',
    '<serviceFilter><Types><ServiceType>Messenger</ServiceType><ServiceType>Invitation</ServiceType><ServiceType>SocialNetwork</ServiceType><ServiceType>Space</ServiceType><ServiceType>Profile</ServiceType></Types></serviceFilter><View>Full</View><deltasOnly>true</deltasOnly><lastChange>2009-01-01T00:00:00.0000000-08:00</lastChange>',
  ),
  ab(
    'AddMember',
    '<serviceHandle><Id>0</Id><Type>Messenger</Type><ForeignId></ForeignId></serviceHandle><memberships><Membership><MemberRole>Allow</MemberRole><Members><Member xsi:type="PassportMember"><Type>Passport</Type><State>Accepted</State><PassportName>@CONTACT@</PassportName></Member></Members></Membership></memberships>',
  ),
  ab(
    'DeleteMember',
    '<serviceHandle><Id>0</Id><Type>Messenger</Type><ForeignId></ForeignId></serviceHandle><memberships><Membership><MemberRole>Block</MemberRole><Members><Member xsi:type="PassportMember"><Type>Passport</Type><MembershipId>7</MembershipId><State>Accepted</State></Member></Members></Membership></memberships>',
  ),
  ab(
    'CreateCircle',
    '<properties><Domain>1</Domain><HostedDomain>live.com</HostedDomain><Type>2</Type><MembershipAccess>0</MembershipAccess><IsPresenceEnabled>true</IsPresenceEnabled><RequestMembershipOption>2</RequestMembershipOption><DisplayName>Circle</DisplayName></properties><callerInfo><PublicDisplayName>Alice</PublicDisplayName></callerInfo>',
  ),
];

const OIM_CONTENT =
  'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\nX-OIM-Message-Type: OfflineMessage\r\nX-OIM-Run-Id: {3A3BE82C-9E31-4B1E-9E2D-3B8A4F2E1C7D}\r\nX-OIM-Sequence-Num: 1\r\n\r\naGVsbG8sIFpvw6sg4piV';

/** OIM send (Store2) and read (rsi.asmx). */
export const OIM_REQUESTS: readonly string[] = [
  envelope(
    `<From memberName="@USER@" friendlyName="=?utf-8?B?QWxpY2U=?=" xml:lang="en-US" proxy="MSNMSGR" xmlns="http://messenger.msn.com/ws/2004/09/oim/" msnpVer="MSNP15" buildVer="8.5.1288.816"/><To memberName="@CONTACT@" xmlns="http://messenger.msn.com/ws/2004/09/oim/"/><Ticket passport="t=@T@&amp;p=@P@" appid="PROD0119GSJUC$18" lockkey="0123456789abcdef0123456789abcdef" xmlns="http://messenger.msn.com/ws/2004/09/oim/"/><Sequence xmlns="http://schemas.xmlsoap.org/ws/2003/03/rm"><Identifier xmlns="http://schemas.xmlsoap.org/ws/2002/07/utility">http://messenger.msn.com</Identifier><MessageNumber>1</MessageNumber></Sequence>`,
    `<MessageType xmlns="http://messenger.msn.com/ws/2004/09/oim/">text</MessageType><Content xmlns="http://messenger.msn.com/ws/2004/09/oim/">${OIM_CONTENT}</Content>`,
  ),
  envelope(
    '<PassportCookie xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><t>@T@</t><p>@P@</p></PassportCookie>',
    '<GetMetadata xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"/>',
  ),
  envelope(
    '<PassportCookie xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><t>@T@</t><p>@P@</p></PassportCookie>',
    '<GetMessage xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><messageId>00000000-0000-0000-0000-000000000009</messageId><alsoMarkAsRead>false</alsoMarkAsRead></GetMessage>',
  ),
  envelope(
    '<PassportCookie xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><t>@T@</t><p>@P@</p></PassportCookie>',
    '<DeleteMessages xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><messageIds><messageId>00000000-0000-0000-0000-000000000009</messageId></messageIds></DeleteMessages>',
  ),
];

const STORAGE_NS = 'http://www.msn.com/webservices/storage/2008';
const storage = (body: string) =>
  envelope(
    `<StorageApplicationHeader xmlns="${STORAGE_NS}"><ApplicationID>Messenger Client 9.0</ApplicationID><Scenario>Initial</Scenario></StorageApplicationHeader><StorageUserHeader xmlns="${STORAGE_NS}"><Puid>0</Puid><TicketToken>t=@T@&amp;p=@P@</TicketToken></StorageUserHeader>`,
    body,
  );

/** The roaming profile (storage.msn.com). */
export const STORAGE_REQUESTS: readonly string[] = [
  storage(
    `<GetProfile xmlns="${STORAGE_NS}"><profileHandle><Alias><Name>1234567890</Name><NameSpace>MyCidStuff</NameSpace></Alias><RelationshipName>MyProfile</RelationshipName></profileHandle><profileAttributes><ResourceID>true</ResourceID><DateModified>true</DateModified><ExpressionProfileAttributes><ResourceID>true</ResourceID><DisplayName>true</DisplayName><PersonalStatus>true</PersonalStatus><StaticUserTilePublicURL>true</StaticUserTilePublicURL></ExpressionProfileAttributes></profileAttributes></GetProfile>`,
  ),
  storage(
    `<UpdateProfile xmlns="${STORAGE_NS}"><profile><ResourceID>1!106</ResourceID><ExpressionProfile><FreeText>Update</FreeText><DisplayName>Alice ☕</DisplayName><PersonalStatus>at lunch</PersonalStatus><Flags>0</Flags></ExpressionProfile></profile></UpdateProfile>`,
  ),
  storage(
    `<CreateDocument xmlns="${STORAGE_NS}"><parentHandle><RelationshipName>/UserTiles</RelationshipName><Alias><Name>1234567890</Name><NameSpace>MyCidStuff</NameSpace></Alias></parentHandle><document xsi:type="Photo"><Name>Messenger User Tile</Name><DocumentStreams><DocumentStream xsi:type="PhotoStream"><DocumentStreamType>UserTileStatic</DocumentStreamType><MimeType>png</MimeType><Data>iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==</Data><DataSize>0</DataSize></DocumentStream></DocumentStreams></document><relationshipName>Messenger User Tile</relationshipName></CreateDocument>`,
  ),
  storage(
    `<FindDocuments xmlns="${STORAGE_NS}"><objectHandle><RelationshipName>/UserTiles</RelationshipName></objectHandle></FindDocuments>`,
  ),
  storage(
    `<DeleteRelationships xmlns="${STORAGE_NS}"><sourceHandle><ResourceID>1!106</ResourceID></sourceHandle><targetHandles><ObjectHandle><ResourceID>1!205</ResourceID></ObjectHandle></targetHandles></DeleteRelationships>`,
  ),
];

/** ADL/RML/FQY `<ml>` payloads and UUX data (MSNP11–18). */
export const ML_PAYLOADS: readonly string[] = [
  '<ml l="1"><d n="example.com"><c n="bob" l="3" t="1"/><c n="carol" l="1" t="1"/></d><d n="live.com"><c n="00000000-0000-0000-0009-000000000001" l="1" t="9"/></d></ml>',
  '<ml><d n="example.com"><c n="dave"/></d></ml>',
];
export const UUX_PAYLOADS: readonly string[] = [
  '<Data><PSM>on the phone &amp; away &#x263A;</PSM><CurrentMedia>\\0Music\\01\\0{0} - {1}\\0Song\\0Artist\\0\\0</CurrentMedia><MachineGuid>{F52973B6-C926-4BAD-9BA8-7C1E840E4AB0}</MachineGuid><DDP></DDP><SignatureSound></SignatureSound><Scene></Scene><ColorScheme>-3</ColorScheme></Data>',
  '<EndpointData><Capabilities>2789003324:48</Capabilities></EndpointData>',
  '<PrivateEndpointData><EpName>LAPTOP</EpName><Idle>false</Idle><ClientType>1</ClientType><State>NLN</State></PrivateEndpointData>',
];
export { OIM_CONTENT };

export const SOAP_DICTIONARY: readonly string[] = [
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">',
  '</soap:Envelope>',
  '<soap:Body>',
  '</soap:Body>',
  '<soap:Header>',
  '<Envelope>',
  '<Body>',
  '<Header>',
  '<RequestSecurityToken>',
  '<Address>',
  '<UsernameToken>',
  '<TicketToken>',
  '<Contact>',
  '<contacts>',
  '<Annotation>',
  '<Member>',
  '<Content>',
  'Content-Transfer-Encoding: base64\r\n',
  'Content-Type: text/plain; charset=',
  '<![CDATA[',
  ' xsi:type="x"',
  ' @_x="1"',
  '<#text>',
  '<__proto__>',
  '<constructor>',
  '<hasOwnProperty>',
];
