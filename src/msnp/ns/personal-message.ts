import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { escapeXml } from '../../util/xml.ts';

export interface PersonalMessage {
  statusText: string;
  currentMedia: string;
}

const parser = new XMLParser({
  // Only the five predefined entities; no DOCTYPE entities are ever expanded.
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  parseTagValue: false,
  trimValues: false,
});

/**
 * §9.5 UUX payload: `<Data><PSM>…</PSM><CurrentMedia>…</CurrentMedia></Data>`, other
 * elements ignored (MSNP13 adds MachineGuid). Undefined for anything that is not
 * that (the caller disconnects, as the real service did for invalid XML).
 */
export function parsePersonalMessage(xml: string): PersonalMessage | undefined {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return undefined;
  if (xml.trim() === '') return { statusText: '', currentMedia: '' };
  if (XMLValidator.validate(xml) !== true) return undefined;
  const doc = parser.parse(xml) as { Data?: unknown };
  const data = doc.Data;
  if (data === '' || data === undefined)
    return data === '' ? { statusText: '', currentMedia: '' } : undefined;
  if (typeof data !== 'object' || data === null) return undefined;
  const text = (value: unknown) => (typeof value === 'string' ? decodeCharacterReferences(value) : '');
  const record = data as Record<string, unknown>;
  return { statusText: text(record.PSM), currentMedia: text(record.CurrentMedia) };
}

/** The parser decodes the five named entities; numeric references (`&#38;`) are decoded here. */
function decodeCharacterReferences(text: string): string {
  return text.replace(
    /&#(?:x([0-9a-f]{1,6})|([0-9]{1,7}));/gi,
    (whole, hex: string | undefined, dec: string | undefined) => {
      const code = hex !== undefined ? Number.parseInt(hex, 16) : Number(dec);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    },
  );
}

export function personalMessageXml(message: PersonalMessage): string {
  return `<Data><PSM>${escapeXml(message.statusText)}</PSM><CurrentMedia>${escapeXml(message.currentMedia)}</CurrentMedia></Data>`;
}
