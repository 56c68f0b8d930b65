/**
 * MSNP inputs as clients send them (docs/msnp-reference.md §2–§12): one session per
 * dialect family, switchboard traffic, and payload commands with their byte counts.
 * Each payload's length is computed, so every seed is a well-framed stream.
 */

/** `NAME args len\r\n` + payload, with len the payload's UTF-8 byte count (§2.2). */
export function payloadCommand(line: string, payload: string | Buffer): string {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return `${line} ${bytes.length}\r\n${bytes.toString('latin1')}`;
}

const text = (s: string) => Buffer.from(s, 'utf8');
const latin1 = (s: string) => Buffer.from(s, 'latin1');

const MSNOBJECT =
  '%3Cmsnobj%20Creator%3D%22alice%40example.com%22%20Size%3D%2224539%22%20Type%3D%223%22%20Location%3D%22TFR2C2.tmp%22%20Friendly%3D%22AAA%3D%22%20SHA1D%3D%22trC8SlFx2sWQxZMIBAWSEnXc8oQ%3D%22%2F%3E';

const P2P_HEADER =
  'MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: bob@example.com\r\n\r\n';

/** MSN 1.0–4.7: MD5 sign-in, INF, lists and presence (MSNP2–7). */
const MSNP2 = [
  'VER 1 MSNP7 MSNP6 MSNP5 MSNP4 CVR0\r\n',
  'INF 2\r\n',
  'USR 3 MD5 I alice@example.com\r\n',
  'USR 4 MD5 S 0123456789abcdef0123456789abcdef\r\n',
  'SYN 5 0\r\n',
  'CHG 6 NLN\r\n',
  'ADD 7 FL bob@example.com Bob%20B\r\n',
  'REA 8 alice@example.com Alice%20%E2%98%95\r\n',
  'LST 9 FL\r\n',
  'BLP 10 AL\r\n',
  'GTC 11 A\r\n',
  'XFR 12 SB\r\n',
  'REM 13 AL bob@example.com\r\n',
  'OUT\r\n',
].join('');

/** MSN 5–7.0: CVR, TWN, challenges, groups, PRP (MSNP8–11). */
const MSNP8 = [
  'VER 1 MSNP9 MSNP8 CVR0\r\n',
  'CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 6.0.0602 MSMSGS alice@example.com\r\n',
  'USR 3 TWN I alice@example.com\r\n',
  'USR 4 TWN S t=53*1hAu8ADuD3TEwdXoOMi08sD*2!cMrntTwVMTjoB3p6stWTqzbkKZPVQzA5NOt19SLI60PY!b8K4YhC!Ooo5ug$$&p=5eKBBC!yBH6ex5mftp!a9DrSb0B3hU8aqAWpaPaYWjQL42dtRTA4sN8KxCNbs9L5HIMi1aARMRU7pAD2LpY8B!$$\r\n',
  'SYN 5 0\r\n',
  'CHG 6 NLN 268435492\r\n',
  'ADG 7 Friends%20%26%20Family 0\r\n',
  'PRP 8 MFN Alice%20%F0%9F%98%80\r\n',
  'SBP 9 1 MFN Bobby\r\n',
  payloadCommand('QRY 10 msmsgs@msnmsgr.com', '3b6666b60157322b6fc6e41a115968f5'),
  payloadCommand('PAG 11 bob@example.com', '<TEXT xml:space="preserve" enc="utf-8">hi</TEXT>'),
  payloadCommand('SDC 12 bob@example.com 0x0409 MSMSGS WindowsMessenger X X Alice', ''),
  'URL 13 INBOX\r\n',
  'PNG\r\n',
].join('');

/** MSN 7.5 / msn-pecan: MSNP12 with ADC, UUX, CHG and an MSNObject. */
const MSNP12 = [
  'VER 1 MSNP12 MSNP11 MSNP10 CVR0\r\n',
  'CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.5.0324 msmsgs alice@example.com\r\n',
  'USR 3 TWN I alice@example.com\r\n',
  'USR 4 TWN S t=ticket&p=profile\r\n',
  'SYN 5 2005-04-23T18:57:44.8130000-07:00 2005-04-23T18:57:54.2070000-07:00\r\n',
  `CHG 6 NLN 1342242860 ${MSNOBJECT}\r\n`,
  payloadCommand(
    'UUX 7',
    '<Data><PSM>on the phone &amp; away</PSM><CurrentMedia>\\0Music\\01\\0{0} - {1}\\0Song\\0Artist\\0\\0</CurrentMedia></Data>',
  ),
  'ADC 8 FL N=bob@example.com F=Bob\r\n',
  'ADC 9 FL C=0a1b2c3d-0000-0000-0000-000000000001 0a1b2c3d-0000-0000-0000-000000000002\r\n',
  'SBP 10 0a1b2c3d-0000-0000-0000-000000000001 MFN Bob%20Builder\r\n',
  'GCF 11 Shields.xml\r\n',
  payloadCommand('UUX 12', ''),
].join('');

/** WLM 2009 / Pidgin MSNP15–18: SSO, ADL/RML/FQY, UUN, endpoint data, circles. */
const MSNP18 = [
  'VER 1 MSNP18 MSNP17 CVR0\r\n',
  'CVR 2 0x0409 winnt 6.1.0 i386 MSNMSGR 14.0.8117.0416 msmsgs alice@example.com\r\n',
  'USR 3 SSO I alice@example.com\r\n',
  'USR 4 SSO S t=EwCAAd1BAAAU HDqLG+vdDkV2ZNmiZWT3RmhTtl3H7ypI4RfAgXBrAbA= {F52973B6-C926-4BAD-9BA8-7C1E840E4AB0}\r\n',
  payloadCommand(
    'ADL 5',
    '<ml l="1"><d n="example.com"><c n="bob" l="3" t="1"/><c n="carol" l="1" t="1"/></d><d n="live.com"><c n="00000000-0000-0000-0009-000000000001" l="1" t="9"/></d></ml>',
  ),
  payloadCommand('FQY 6', '<ml l="2"><d n="example.com"><c n="dave"/></d></ml>'),
  payloadCommand('RML 7', '<ml><d n="example.com"><c n="carol" l="1" t="1"/></d></ml>'),
  'CHG 8 NLN 2789003324:48 0\r\n',
  payloadCommand('UUX 9', '<EndpointData><Capabilities>2789003324:48</Capabilities></EndpointData>'),
  payloadCommand(
    'UUX 10',
    '<PrivateEndpointData><EpName>LAPTOP</EpName><Idle>false</Idle><ClientType>1</ClientType><State>NLN</State></PrivateEndpointData>',
  ),
  payloadCommand('UUN 11 bob@example.com 5', '<State><Name>goawyplzthxbye</Name></State>'),
  payloadCommand(
    'PUT 12',
    'Routing: 1.0\r\nTo: 9:00000000-0000-0000-0009-000000000001@live.com\r\nFrom: 1:alice@example.com\r\n\r\nReliability: 1.0\r\n\r\nPublication: 1.0\r\nUri: /circle\r\nContent-Type: application/circles+xml\r\nContent-Length: 0\r\n\r\n',
  ),
  payloadCommand(
    'SDG 13',
    'Routing: 1.0\r\nTo: 9:00000000-0000-0000-0009-000000000001@live.com\r\nFrom: 1:alice@example.com;epid={F52973B6-C926-4BAD-9BA8-7C1E840E4AB0}\r\n\r\nReliability: 1.0\r\n\r\nMessaging: 2.0\r\nMessage-Type: Text\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello circle',
  ),
  'XFR 14 SB\r\n',
  'OUT\r\n',
].join('');

/** A switchboard: USR/ANS/CAL, text, typing, nudge and a binary P2P message. */
const SB_SESSION = Buffer.concat([
  latin1('USR 1 alice@example.com 17262740.1050826919.32308\r\n'),
  latin1('ANS 1 alice@example.com 849102291.520491113 11752013\r\n'),
  latin1('CAL 2 bob@example.com\r\n'),
  latin1(
    payloadCommand(
      'MSG 3 N',
      text(
        'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0\r\n\r\nhello, Zoë ☕',
      ),
    ),
  ),
  latin1(
    payloadCommand(
      'MSG 4 U',
      'MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: alice@example.com\r\n\r\n\r\n',
    ),
  ),
  latin1(
    payloadCommand(
      'MSG 5 A',
      'MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n',
    ),
  ),
  latin1(`MSG 6 D ${P2P_HEADER.length + 52}\r\n`),
  latin1(P2P_HEADER),
  Buffer.from([
    0, 0, 0, 0, 0x21, 0x43, 0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0d, 0x0a, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0x0d, 0x0a,
  ]),
  latin1('OUT\r\n'),
]);

/** Odd but legal framing: bare LF, tabs and runs of spaces, an empty line, a zero-length payload. */
const ODD_FRAMING = [
  'VER 1 MSNP8 CVR0\n',
  'CVR\t2  0x0409\twinnt 5.1 i386 MSNMSGR 6.0.0602 MSMSGS alice@example.com\r\n',
  '\r\n',
  '   \r\n',
  payloadCommand('MSG 3 A', ''),
  'PNG\n',
].join('');

/** Server lines and error codes, which a decoder on the client side (tests, bench) reads too. */
const SERVER_LINES = [
  'VER 1 MSNP12\r\n',
  'XFR 3 NS 127.0.0.1:1863 0 127.0.0.1:1863\r\n',
  '911 4\r\n',
  'CHL 0 29409134351025259292\r\n',
  payloadCommand('MSG Hotmail Hotmail', 'MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile\r\n\r\n'),
  payloadCommand('UBX bob@example.com 1', '<Data><PSM>hi</PSM></Data>'),
  payloadCommand('NOT', '<NOTIFICATION id="1"/>'),
  payloadCommand('IPG', '<NOTIFICATION/>'),
].join('');

export const MSNP_SEEDS: readonly Buffer[] = [
  latin1(MSNP2),
  latin1(MSNP8),
  latin1(MSNP12),
  latin1(MSNP18),
  SB_SESSION,
  latin1(ODD_FRAMING),
  latin1(SERVER_LINES),
];

/** Every command name of the seeds and a few more, for insertion. */
export const MSNP_DICTIONARY: readonly string[] = [
  'VER ',
  'CVR ',
  'USR ',
  'MSG ',
  'UUX ',
  'ADL ',
  'RML ',
  'FQY ',
  'QRY ',
  'PAG ',
  'SDC ',
  'PUT ',
  'SDG ',
  'UUN ',
  'PGD ',
  'CHG ',
  'ADC ',
  'PRP ',
  '911 ',
  ' 0\r\n',
  ' 1\r\n',
  ' 65536\r\n',
  ' 99999999999\r\n',
  ' -1\r\n',
  'MSNP18',
  'CVR0',
  ' N=',
  ' F=',
  ' C=',
];
