import { createHash } from 'node:crypto';
import { randomToken } from '../../util/ids.ts';
import type { XmppSession } from '../c2s/session.ts';
import { NS } from '../namespaces.ts';
import { type XmlElement, xml } from '../stream/element.ts';

/**
 * XEP-0115 entity capabilities: the `<c/>` a client puts in its presence names a hash
 * (`ver`) of its disco#info. The server keeps each resource's caps with its endpoint
 * (so contacts see them in its presence), asks the client's disco#info for a `ver` it
 * has not seen (§6.2), and caches the features per verified `ver` (§5.4), as Prosody's
 * mod_pep does: PEP filters notifications by the `<node>+notify` features (XEP-0163 §4.2).
 */

export interface Caps {
  node: string;
  ver: string;
  /** Empty for legacy caps (before version 1.4 of XEP-0115): `ver` is then no hash. */
  hash: string;
}

/** Endpoint capability keys (core presence `capabilities`) the caps are kept under. */
const NODE_KEY = 'xmppCapsNode';
const VER_KEY = 'xmppCapsVer';
const HASH_KEY = 'xmppCapsHash';

/** How long the server waits for a client's disco#info answer. */
const QUERY_TIMEOUT_MS = 10_000;
/** Verified `ver` values kept; a client population has few. */
const CACHE_SIZE = 1000;

/** IANA hash names (§5.1) Node can compute. */
const HASHES: Record<string, string> = {
  'sha-1': 'sha1',
  'sha-224': 'sha224',
  'sha-256': 'sha256',
  'sha-384': 'sha384',
  'sha-512': 'sha512',
};

/** Features per verified `<hash> <ver>`, shared by every session: a verified hash names one feature set. */
const verified = new Map<string, ReadonlySet<string>>();

interface SessionCaps {
  caps: Caps | undefined;
  /** The resource's disco#info features; undefined until known. */
  features: ReadonlySet<string> | undefined;
}

const sessions = new WeakMap<XmppSession, SessionCaps>();

/** The `<c/>` of a presence, if it has a usable one. */
export function capsOf(presence: XmlElement): Caps | undefined {
  const c = presence.getChild('c', NS.caps);
  const node = c?.attrs.node;
  const ver = c?.attrs.ver;
  if (!c || !node || !ver || node.length > 1024 || ver.length > 256) return undefined;
  return { node, ver, hash: c.attrs.hash ?? '' };
}

/** What the endpoint keeps of the caps (cleared when a presence has none). */
export function capsCapabilities(caps: Caps | undefined): Record<string, string> {
  return { [NODE_KEY]: caps?.node ?? '', [VER_KEY]: caps?.ver ?? '', [HASH_KEY]: caps?.hash ?? '' };
}

/** The `<c/>` contacts see in the endpoint's presence (§4), from what `capsCapabilities` kept. */
export function capsElement(capabilities: Record<string, string>): XmlElement | undefined {
  const node = capabilities[NODE_KEY];
  const ver = capabilities[VER_KEY];
  if (!node || !ver) return undefined;
  return xml('c', { xmlns: NS.caps, hash: capabilities[HASH_KEY] || undefined, node, ver });
}

/** The resource's features, once known. */
export function featuresOf(s: XmppSession): ReadonlySet<string> | undefined {
  return sessions.get(s)?.features;
}

/** XEP-0163 §4.2: the resource asked for notifications of the node. */
export function wantsNotify(s: XmppSession, node: string): boolean {
  return sessions.get(s)?.features?.has(`${node}+notify`) === true;
}

/**
 * Takes note of the caps in the session's available presence. Resolves true once the
 * resource's features are newly known (from the cache or the client's answer), false
 * when nothing changed or they stay unknown. Never waits on the session's own queue:
 * the caller must not await it inside a stanza handler (the answer comes through it).
 */
export async function noteCaps(s: XmppSession, caps: Caps | undefined): Promise<boolean> {
  const state = sessions.get(s) ?? { caps: undefined, features: undefined };
  sessions.set(s, state);
  if (!caps) {
    const had = state.caps !== undefined;
    state.caps = undefined;
    state.features = undefined;
    return had;
  }
  if (state.caps && state.caps.ver === caps.ver && state.caps.hash === caps.hash && state.features)
    return false;
  state.caps = caps;
  state.features = undefined;
  const known = caps.hash ? verified.get(`${caps.hash} ${caps.ver}`) : undefined;
  if (known) {
    state.features = known;
    return true;
  }
  let answer: XmlElement;
  try {
    answer = await requestFromClient(
      s,
      xml(
        'iq',
        { type: 'get', from: s.ctx.domain, to: s.jid, id: `caps-${randomToken(8)}` },
        xml('query', { xmlns: NS.discoInfo, node: `${caps.node}#${caps.ver}` }),
      ),
    );
  } catch {
    return false;
  }
  // A later presence may have changed the caps meanwhile: that one wins.
  if (state.caps !== caps) return false;
  const query = answer.attrs.type === 'result' ? answer.getChild('query', NS.discoInfo) : undefined;
  if (!query) return false;
  const features = new Set(
    query
      .getChildren('feature')
      .map((f) => f.attrs.var ?? '')
      .filter((v) => v !== ''),
  );
  state.features = features;
  // §5.4: only a `ver` that is the hash of the answer is cached for everyone else.
  if (caps.hash && verificationHash(query, caps.hash) === caps.ver) {
    if (verified.size >= CACHE_SIZE) verified.delete(verified.keys().next().value as string);
    verified.set(`${caps.hash} ${caps.ver}`, features);
  }
  return true;
}

/** XEP-0115 §5.1 verification string of a disco#info answer, hashed; undefined when §5.4 says not to trust it. */
export function verificationHash(query: XmlElement, hash: string): string | undefined {
  const algorithm = HASHES[hash];
  if (!algorithm) return undefined;
  const identities = query
    .getChildren('identity')
    .map(
      (i) =>
        `${i.attrs.category ?? ''}/${i.attrs.type ?? ''}/${i.attrs['xml:lang'] ?? ''}/${i.attrs.name ?? ''}<`,
    );
  const features = query.getChildren('feature').map((f) => `${f.attrs.var ?? ''}<`);
  // §5.4 3.3/3.4: duplicate identities or features make the answer unusable.
  if (new Set(identities).size !== identities.length || new Set(features).size !== features.length) {
    return undefined;
  }
  const forms: Array<[string, string]> = [];
  for (const form of query.getChildren('x', NS.dataForms)) {
    const fields = form.getChildren('field');
    const formType = fields.find((f) => f.attrs.var === 'FORM_TYPE');
    // §5.4 3.6: a form without FORM_TYPE is ignored (one whose FORM_TYPE is not hidden, too).
    if (formType?.attrs.type !== 'hidden') continue;
    let text = `${formType.getChildText('value') ?? ''}<`;
    const rest = fields
      .filter((f) => f !== formType)
      .sort((a, b) => octets(a.attrs.var ?? '', b.attrs.var ?? ''));
    for (const field of rest) {
      text += `${field.attrs.var ?? ''}<`;
      const values = field.getChildren('value').map((v) => v.text());
      for (const value of values.sort(octets)) text += `${value}<`;
    }
    forms.push([formType.getChildText('value') ?? '', text]);
  }
  // §5.4 3.5: two forms with one FORM_TYPE make it unusable.
  if (new Set(forms.map(([type]) => type)).size !== forms.length) return undefined;
  const s =
    identities.sort(octets).join('') +
    features.sort(octets).join('') +
    forms
      .sort((a, b) => octets(a[0], b[0]))
      .map(([, text]) => text)
      .join('');
  return createHash(algorithm).update(s, 'utf8').digest('base64');
}

/** §5.1 sorts by "i;octet" (RFC 4790): the UTF-8 bytes. */
function octets(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// IQ requests the server sends to a client ----------------------------------------

const pending = new WeakMap<XmppSession, Map<string, (answer: XmlElement) => void>>();

/** Sends an IQ get to the session's client and resolves with its result or error. */
function requestFromClient(s: XmppSession, iq: XmlElement): Promise<XmlElement> {
  const id = iq.attrs.id as string;
  let mine = pending.get(s);
  if (!mine) {
    mine = new Map();
    pending.set(s, mine);
  }
  const waiting = mine;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error('no answer'));
    }, QUERY_TIMEOUT_MS);
    timer.unref();
    waiting.set(id, (answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
    s.send(iq);
  });
}

/** An IQ result or error for the server (iq.ts): the answer to one of its requests, or nothing. */
export function handleServerIqAnswer(s: XmppSession, iq: XmlElement): void {
  const id = iq.attrs.id ?? '';
  const waiting = pending.get(s)?.get(id);
  if (!waiting) return;
  pending.get(s)?.delete(id);
  waiting(iq);
}
