import type { FastifyReply } from 'fastify';
import { escapeXmlText } from '../../util/xml.ts';
import { sendExact } from './raw-reply.ts';

/** SOAP 1.1 envelopes and faults for the OIM services (oim.asmx, rsi.asmx). */

export const OIM_NS = 'http://messenger.msn.com/ws/2004/09/oim/';
export const RSI_NS = 'http://www.hotmail.msn.com/ws/2004/09/oim/rsi';

const CONTENT_TYPE = 'text/xml; charset=utf-8';

/**
 * One line, no blank lines and no indentation. COMPAT: msn-pecan reads these bodies
 * with strstr: a CRLF CRLF before GetMessageResult's MIME would be taken for the
 * message's own header end (pn_oim.c process_body_receive).
 */
export function soapEnvelope(header: string, body: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
    (header ? `<soap:Header>${header}</soap:Header>` : '') +
    `<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

/**
 * A fault whose code is `q0:<code>` in the OIM namespace, as the live service wrote it.
 * COMPAT: Pidgin compares the faultcode text with `q0:AuthenticationFailed`,
 * `q0:SystemUnavailable`… exactly, and msn-pecan searches the body for those strings.
 */
export function oimFault(code: string, detail = ''): string {
  return soapEnvelope(
    '',
    '<soap:Fault>' +
      `<faultcode xmlns:q0="${OIM_NS}">q0:${code}</faultcode>` +
      `<faultstring>${escapeXmlText(code)}</faultstring>` +
      (detail ? `<detail>${detail}</detail>` : '') +
      '</soap:Fault>',
  );
}

/**
 * A bad or expired web-service ticket. COMPAT: Pidgin (msn/oim.c msn_oim_request_cb)
 * fetches fresh tokens and retries on `q0:AuthenticationFailed` only when the
 * detail has `RequiredAuthPolicy`; a LockKeyChallenge must not be here (msn-pecan
 * would take it for one and resend forever).
 */
export function ticketFault(policy: string): string {
  return oimFault(
    'AuthenticationFailed',
    `<RequiredAuthPolicy xmlns="${OIM_NS}">${escapeXmlText(policy)}</RequiredAuthPolicy>`,
  );
}

/**
 * Sends a SOAP answer with exact header names. COMPAT: msn-pecan reads the body
 * length only from `Content-Length: ` spelled so (pn_oim.c read_cb), as for RST.
 * Faults go with HTTP 500 (SOAP 1.1 §6.2); Pidgin and msn-pecan read the body whatever the status.
 */
export function sendSoap(reply: FastifyReply, body: string, fault = false): void {
  sendExact(reply, fault ? 500 : 200, { 'Content-Type': CONTENT_TYPE }, body);
}

/** `t=…&p=…` from the pieces the RSI PassportCookie carries. */
export function ticketFromCookie(t: string | undefined, p: string | undefined): string {
  return `t=${t ?? ''}&p=${p ?? ''}`;
}
