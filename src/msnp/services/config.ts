import type { FastifyInstance, FastifyReply } from 'fastify';
import { escapeXmlText } from '../../util/xml.ts';
import { sendSoap } from './raw-reply.ts';
import { soapEnvelope } from './soap.ts';

/**
 * The client configuration WLM 8.x/2009 fetches at start-up:
 * `POST http://config.messenger.msn.com/Config/MsgrConfig.asmx`, SOAPAction
 * `http://www.msn.com/webservices/Messenger/Client/GetClientConfig` (some builds use
 * a `GET …?op=GetClientConfig&…` form). The answer carries `<MsgrConfig>` as escaped
 * text in GetClientConfigResult (MSNP wiki "MsgrConfig").
 *
 * A minimal valid configuration: nothing disabled, no tabs, no ads, cached for a
 * day. Without an answer WLM keeps retrying and falls back to built-in defaults;
 * with a malformed one it shows a sign-in error, so this stays small and fixed.
 */
const MSGR_CONFIG =
  '<MsgrConfig>' +
  '<Simple>' +
  '<Config><ExpiresInDays>1</ExpiresInDays></Config>' +
  '<MinFlashPlayer BuildNumber="0" MajorVersion="0" MinorVersion="0"></MinFlashPlayer>' +
  '<Relay><Enabled>true</Enabled></Relay>' +
  '</Simple>' +
  '<TabConfig><msntabdata></msntabdata><msntabsettings><oemtotal>0</oemtotal></msntabsettings></TabConfig>' +
  '</MsgrConfig>';

/** The same answer every time. */
const RESPONSE = soapEnvelope(
  '<GetClientConfigResponse xmlns="http://www.msn.com/webservices/Messenger/Client">' +
    `<GetClientConfigResult>${escapeXmlText(MSGR_CONFIG)}</GetClientConfigResult>` +
    '</GetClientConfigResponse>',
);

export function registerConfig(app: FastifyInstance): void {
  // Needs no ticket: the live service answered before sign-in too.
  const answer = (_request: unknown, reply: FastifyReply) => sendSoap(reply, RESPONSE);
  app.post('/Config/MsgrConfig.asmx', { bodyLimit: 64 * 1024 }, answer);
  app.get('/Config/MsgrConfig.asmx', answer);
}
