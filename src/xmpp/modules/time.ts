import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { type XmlElement, xml } from '../stream/element.ts';

/** XEP-0082 time zone offset `±hh:mm` of the server's local time. */
function tzo(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** XEP-0202 §3: the server's entity time, UTC (XEP-0082 DateTime) and its zone offset. */
export function timeGet(_s: XmppSession, iq: XmlElement): XmlElement {
  const now = new Date();
  return xml(
    'iq',
    { type: 'result', id: iq.attrs.id, from: iq.attrs.to, to: iq.attrs.from },
    xml('time', { xmlns: NS.time }, xml('tzo', {}, tzo(now)), xml('utc', {}, now.toISOString())),
  );
}
