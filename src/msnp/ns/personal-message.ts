import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { escapeXml } from '../../util/xml.ts';
import type { Dialect } from '../dialects/dialect.ts';

export interface PersonalMessage {
  statusText: string;
  currentMedia: string;
}

/**
 * The MSNP13–18 `<Data>` fields beyond PSM and CurrentMedia, kept as endpoint
 * capabilities under these names (core presence stores them, MSN renders them).
 */
export const USER_DATA_FIELDS = {
  MachineGuid: 'msnpMachineGuid',
  DDP: 'msnpDdp',
  SignatureSound: 'msnpSignatureSound',
  Scene: 'msnpScene',
  ColorScheme: 'msnpColorScheme',
} as const;

/** `<PrivateEndpointData>` fields (MSNP16+ multipoint), stored the same way. */
export const PRIVATE_ENDPOINT_FIELDS = {
  EpName: 'msnpEpName',
  Idle: 'msnpEpIdle',
  ClientType: 'msnpClientType',
  State: 'msnpEpState',
} as const;

/**
 * What a UUX payload says (NINA wiki, Commands/UUX; Pidgin msn/notification.c
 * `msn_notification_send_uux*`): the personal message (`<Data>`), this endpoint's
 * capabilities (`<EndpointData>`), or its private data (`<PrivateEndpointData>`).
 */
export type UserDataUpdate =
  | { kind: 'data'; message: PersonalMessage; fields: Record<string, string> }
  | { kind: 'endpoint'; capabilities: string }
  | { kind: 'private-endpoint'; fields: Record<string, string> };

const parser = new XMLParser({
  // Only the five predefined entities; no DOCTYPE entities are ever expanded.
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
});

function parseXml(xml: string): Record<string, unknown> | undefined {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return undefined;
  if (XMLValidator.validate(xml) !== true) return undefined;
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch {
    // The validator passes some input the parser then refuses (`<?x "?>`: a quote in a PI).
    return undefined;
  }
  return typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : undefined;
}

const text = (value: unknown) => (typeof value === 'string' ? decodeCharacterReferences(value) : '');

function record(value: unknown): Record<string, unknown> | undefined {
  if (value === '') return {};
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * §9.5: any UUX payload a client of MSNP11–18 sends (`<Data><PSM>…</PSM><CurrentMedia>…</CurrentMedia>…</Data>`,
 * MSNP16+ also endpoint data); undefined when it is not well-formed or unknown (the
 * caller disconnects, as the real service did for invalid XML).
 */
export function parseUserData(xml: string): UserDataUpdate | undefined {
  if (xml.trim() === '') return { kind: 'data', message: { statusText: '', currentMedia: '' }, fields: {} };
  const doc = parseXml(xml);
  if (!doc) return undefined;
  if ('Data' in doc) {
    const data = record(doc.Data);
    if (!data) return undefined;
    const fields: Record<string, string> = {};
    for (const [element, key] of Object.entries(USER_DATA_FIELDS)) {
      if (element in data) fields[key] = text(data[element]).slice(0, 1024);
    }
    return {
      kind: 'data',
      message: { statusText: text(data.PSM), currentMedia: text(data.CurrentMedia) },
      fields,
    };
  }
  if ('EndpointData' in doc) {
    const capabilities = text(record(doc.EndpointData)?.Capabilities);
    return /^\d{1,10}(?::\d{1,10})?$/.test(capabilities) ? { kind: 'endpoint', capabilities } : undefined;
  }
  if ('PrivateEndpointData' in doc) {
    const data = record(doc.PrivateEndpointData);
    if (!data) return undefined;
    const fields: Record<string, string> = {};
    for (const [element, key] of Object.entries(PRIVATE_ENDPOINT_FIELDS)) {
      if (element in data) fields[key] = text(data[element]).slice(0, 256);
    }
    return { kind: 'private-endpoint', fields };
  }
  return undefined;
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

/** One endpoint of an account as UBX shows it (MSNP16+). */
export interface EndpointView {
  machineGuid: string;
  capabilities: string;
  /** Only in the account's own UBX (its endpoints see each other's names and states). */
  private?: Record<string, string>;
}

/**
 * The UBX payload for the dialect (NINA wiki, Commands/UBX; Pidgin `ubx_cmd_post`
 * and `parse_user_endpoints`): PSM and CurrentMedia, then per version MachineGuid
 * (13+), DDP (18), SignatureSound (16+), Scene and ColorScheme (18), and one
 * `<EndpointData>` per endpoint (16+), with `<PrivateEndpointData>` for the account's own.
 */
export function userDataXml(
  dialect: Dialect,
  message: PersonalMessage,
  fields: Record<string, string>,
  endpoints: readonly EndpointView[],
): string {
  const level = dialect.userData;
  if (level === 'psm') return personalMessageXml(message);
  const element = (name: keyof typeof USER_DATA_FIELDS) =>
    `<${name}>${escapeXml(fields[USER_DATA_FIELDS[name]] ?? '')}</${name}>`;
  let xml = `<PSM>${escapeXml(message.statusText)}</PSM><CurrentMedia>${escapeXml(message.currentMedia)}</CurrentMedia>`;
  if (fields[USER_DATA_FIELDS.MachineGuid]) xml += element('MachineGuid');
  if (level === 'scene') xml += element('DDP');
  if (level === 'endpoints' || level === 'scene') {
    xml += element('SignatureSound');
    if (level === 'scene') xml += element('Scene') + element('ColorScheme');
    for (const e of endpoints) {
      xml += `<EndpointData id="${escapeXml(e.machineGuid)}"><Capabilities>${escapeXml(e.capabilities)}</Capabilities></EndpointData>`;
    }
    for (const e of endpoints) {
      if (!e.private) continue;
      let inner = '';
      for (const [name, key] of Object.entries(PRIVATE_ENDPOINT_FIELDS)) {
        const value = e.private[key];
        if (value) inner += `<${name}>${escapeXml(value)}</${name}>`;
      }
      xml += `<PrivateEndpointData id="${escapeXml(e.machineGuid)}">${inner}</PrivateEndpointData>`;
    }
  }
  return `<Data>${xml}</Data>`;
}
