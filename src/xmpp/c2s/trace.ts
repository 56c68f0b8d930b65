/**
 * XMPP as the `trace` log shows it, secrets replaced by `[redacted]`: the SASL
 * exchange's payloads (RFC 6120 §6.4: `<auth/>` and `<response/>` carry a PLAIN
 * password or an OAuth token, `<challenge/>` and `<success/>` SCRAM's proofs) and
 * any `<password/>`, `<digest/>` or `<token/>` element (XEP-0077, XEP-0078).
 */

const SASL_PAYLOAD = /(<((?:[\w.-]+:)?(?:auth|response|challenge|success))\b[^>]*>)[^<]+(<\/\2>)/g;
const SECRET_ELEMENT = /(<((?:[\w.-]+:)?(?:password|digest|token))\b[^>]*>)[^<]*(<\/\2>)/g;

export function traceXml(data: string): string {
  return data.replace(SASL_PAYLOAD, '$1[redacted]$3').replace(SECRET_ELEMENT, '$1[redacted]$3');
}
