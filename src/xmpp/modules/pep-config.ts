import {
  type AccessModel,
  DEFAULT_PEP_CONFIG,
  MAX_PEP_ITEMS,
  type PepNodeConfig,
  type SendLast,
} from '../../core/pep.ts';
import { NS } from '../namespaces.ts';
import { type XmlElement, xml } from '../stream/element.ts';

/**
 * PEP node configuration as XEP-0004 data forms: publish-options (XEP-0060 §7.1.5),
 * node creation with configuration (§8.1.3) and the owner's configure form (§8.2),
 * with the pubsub#node_config fields of §16.4 a PEP service keeps.
 */

export const NODE_CONFIG_FORM = `${NS.pubsub}#node_config`;
export const PUBLISH_OPTIONS_FORM = `${NS.pubsub}#publish-options`;

const ACCESS_MODELS: readonly AccessModel[] = ['open', 'presence', 'whitelist'];
const SEND_LAST: readonly SendLast[] = ['never', 'on_sub', 'on_sub_and_presence'];

/** A submitted form's fields by var (FORM_TYPE left out), or undefined when it is another form. */
export function formFields(x: XmlElement | undefined, formType: string): Map<string, string[]> | undefined {
  if (!x || x.xmlns !== NS.dataForms) return undefined;
  const fields = new Map<string, string[]>();
  let type: string | undefined;
  for (const field of x.getChildren('field')) {
    const name = field.attrs.var;
    if (!name) continue;
    const values = field.getChildren('value').map((v) => v.text());
    if (name === 'FORM_TYPE') type = values[0];
    else fields.set(name, values);
  }
  // XEP-0004 §3.4 / XEP-0068: a form without FORM_TYPE is taken as the one expected.
  if (type !== undefined && type !== formType && type !== NODE_CONFIG_FORM) return undefined;
  return fields;
}

function bool(value: string | undefined): boolean | undefined {
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  return undefined;
}

/** `config` with the form's values applied; a value this service cannot honour is named in `refused`. */
export function applyFields(
  config: PepNodeConfig,
  fields: Map<string, string[]>,
): { config: PepNodeConfig; refused?: string } {
  const next = { ...config };
  for (const [name, values] of fields) {
    const value = values[0];
    switch (name) {
      case 'pubsub#access_model':
        if (!ACCESS_MODELS.includes(value as AccessModel)) return { config, refused: name };
        next.accessModel = value as AccessModel;
        break;
      case 'pubsub#max_items': {
        // XEP-0060 §16.4: "max" is the service's own limit.
        if (value === 'max') next.maxItems = 'max';
        else {
          const n = Number(value);
          if (!Number.isInteger(n) || n < 1 || n > MAX_PEP_ITEMS) return { config, refused: name };
          next.maxItems = n;
        }
        break;
      }
      case 'pubsub#persist_items': {
        const b = bool(value);
        if (b === undefined) return { config, refused: name };
        next.persistItems = b;
        break;
      }
      case 'pubsub#send_last_published_item':
        if (!SEND_LAST.includes(value as SendLast)) return { config, refused: name };
        next.sendLastPublishedItem = value as SendLast;
        break;
      case 'pubsub#notify_retract': {
        const b = bool(value);
        if (b === undefined) return { config, refused: name };
        next.notifyRetract = b;
        break;
      }
      // Others (title, deliver_payloads, notify_config…) change nothing a PEP node here does.
    }
  }
  return { config: next };
}

/** XEP-0060 §7.1.5: does the node's configuration already say what the publish-options ask? */
export function satisfies(config: PepNodeConfig, fields: Map<string, string[]>): boolean {
  const wanted = applyFields(config, fields);
  if (wanted.refused) return false;
  return JSON.stringify(wanted.config) === JSON.stringify(config);
}

/** The owner's configure form (XEP-0060 §8.2.1), with the values in force. */
export function configForm(config: PepNodeConfig): XmlElement {
  const field = (name: string, type: string, value: string, options?: readonly string[]) =>
    xml(
      'field',
      { var: name, type },
      xml('value', {}, value),
      ...(options ?? []).map((o) => xml('option', {}, xml('value', {}, o))),
    );
  return xml(
    'x',
    { xmlns: NS.dataForms, type: 'form' },
    field('FORM_TYPE', 'hidden', NODE_CONFIG_FORM),
    field('pubsub#access_model', 'list-single', config.accessModel, ACCESS_MODELS),
    field('pubsub#max_items', 'text-single', String(config.maxItems)),
    field('pubsub#persist_items', 'boolean', config.persistItems ? '1' : '0'),
    field('pubsub#send_last_published_item', 'list-single', config.sendLastPublishedItem, SEND_LAST),
    field('pubsub#notify_retract', 'boolean', config.notifyRetract ? '1' : '0'),
  );
}

export function withDefaults(defaults: Partial<PepNodeConfig> | undefined): PepNodeConfig {
  return { ...DEFAULT_PEP_CONFIG, ...defaults };
}
