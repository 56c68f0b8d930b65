import { escapeXmlText } from '../../util/xml.ts';
import { soapEnvelope } from './soap.ts';

/** SOAP faults for the OIM services (oim.asmx, rsi.asmx). */

export const OIM_NS = 'http://messenger.msn.com/ws/2004/09/oim/';
export const RSI_NS = 'http://www.hotmail.msn.com/ws/2004/09/oim/rsi';

/**
 * A fault whose code is `q0:<code>` in the OIM namespace, as the live service wrote it.
 * COMPAT: Pidgin compares the faultcode text with `q0:AuthenticationFailed`,
 * `q0:SystemUnavailable`… exactly, and msn-pecan searches the body for those strings.
 */
export function oimFault(code: string, detail = ''): string {
  return soapEnvelope(
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

/** `t=…&p=…` from the pieces the RSI PassportCookie carries. */
export function ticketFromCookie(t: string | undefined, p: string | undefined): string {
  return `t=${t ?? ''}&p=${p ?? ''}`;
}
