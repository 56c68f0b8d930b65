import { NS } from '../namespaces.ts';
import { StanzaError } from '../stanza-error.ts';
import { type XmlElement, xml } from '../stream/element.ts';

/** An XEP-0059 request: which page of a result set. */
export interface RsmRequest {
  max?: number;
  /** §2.2: the page after this item. */
  after?: string;
  /** §2.3: the page before this item; '' (an empty `<before/>`) the last page. */
  before?: string;
}

/** An XEP-0059 answer about the page returned. */
export interface RsmAnswer {
  first?: { id: string; index?: number };
  last?: string;
  count?: number;
}

/** Reads the `<set/>` of a request, if any; a malformed one is `bad-request`. */
export function parseRsm(parent: XmlElement): RsmRequest | undefined {
  const set = parent.getChild('set', NS.rsm);
  if (!set) return undefined;
  const request: RsmRequest = {};
  const max = set.getChildText('max');
  if (max !== undefined) {
    if (!/^\d{1,9}$/.test(max.trim())) throw new StanzaError('modify', 'bad-request', 'max must be a number');
    request.max = Number(max.trim());
  }
  const after = set.getChildText('after');
  const before = set.getChildText('before');
  if (after !== undefined) {
    // §2.2: `after` names an item; an empty one names none.
    if (after === '') throw new StanzaError('modify', 'bad-request', 'after names no item');
    request.after = after;
  }
  if (before !== undefined) request.before = before;
  if (set.getChild('index')) {
    // §2.6: paging by index is optional for the responding entity.
    throw new StanzaError('cancel', 'feature-not-implemented', 'paging by index is not supported');
  }
  return request;
}

/** §2.1 / §2.5: the `<set/>` of an answer (an empty result set has only its count). */
export function rsmAnswer(answer: RsmAnswer): XmlElement {
  const set = xml('set', { xmlns: NS.rsm });
  if (answer.first) {
    const index = answer.first.index === undefined ? undefined : String(answer.first.index);
    set.append(xml('first', { index }, answer.first.id));
  }
  if (answer.last !== undefined) set.append(xml('last', {}, answer.last));
  if (answer.count !== undefined) set.append(xml('count', {}, String(answer.count)));
  return set;
}
