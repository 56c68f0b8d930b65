import { NS } from './namespaces.ts';
import { type XmlElement, xml } from './stream/element.ts';

/** RFC 6120 §8.3.3 stanza error conditions (the ones Papillon uses). */
export type StanzaErrorCondition =
  | 'bad-request'
  | 'conflict'
  | 'feature-not-implemented'
  | 'forbidden'
  | 'internal-server-error'
  | 'item-not-found'
  | 'jid-malformed'
  | 'not-acceptable'
  | 'not-allowed'
  | 'not-authorized'
  | 'policy-violation'
  | 'recipient-unavailable'
  | 'remote-server-not-found'
  | 'resource-constraint'
  | 'service-unavailable'
  | 'subscription-required'
  | 'undefined-condition'
  | 'unexpected-request';

/** RFC 6120 §8.3.2 error types. */
export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

/** Thrown by a handler to answer the stanza with an error (one error policy for the server). */
export class StanzaError extends Error {
  constructor(
    readonly type: StanzaErrorType,
    readonly condition: StanzaErrorCondition,
    text?: string,
  ) {
    super(text ?? condition);
  }
}

/**
 * RFC 6120 §8.3.1: the error reply swaps from/to, keeps id and the original
 * payload is not echoed (allowed: "MAY include the original XML").
 */
export function errorReply(
  stanza: XmlElement,
  type: StanzaErrorType,
  condition: StanzaErrorCondition,
  text?: string,
) {
  const error = xml('error', { type }, xml(condition, { xmlns: NS.stanzas }));
  if (text) error.append(xml('text', { xmlns: NS.stanzas }, text));
  return xml(
    stanza.name,
    { type: 'error', id: stanza.attrs.id, from: stanza.attrs.to, to: stanza.attrs.from },
    error,
  );
}
