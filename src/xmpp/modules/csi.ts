import type { XmppSession } from '../c2s/session.ts';
import type { XmlElement } from '../stream/element.ts';

/** The start tag of a serialized presence stanza, and its attributes in either quoting. */
const PRESENCE_TAG = /^<presence\b[^>]*>/;
const ATTRIBUTE = /\s(from|type)=(?:"([^"]*)"|'([^']*)')/g;

/**
 * XEP-0352 client state indication. While the client says it is inactive (a phone in a
 * pocket), presence broadcasts are held instead of waking it up: only the latest per
 * sender is kept (an older one is outdated by it), and they all go out when the client
 * is active again. Messages, IQs and subscription requests are not held (§4: the
 * server decides what is urgent; a user waits for those).
 */
export class ClientState {
  inactive = false;
  /** Held presence by full JID of its sender, in the order they last changed. */
  private readonly held = new Map<string, string>();

  /** True when `data` is a presence update this inactive client gets later. */
  hold(data: string): boolean {
    if (!this.inactive || !data.startsWith('<presence')) return false;
    const tag = PRESENCE_TAG.exec(data)?.[0];
    if (!tag) return false;
    let from = '';
    let type: string | undefined;
    for (const m of tag.matchAll(ATTRIBUTE)) {
      const value = m[2] ?? m[3] ?? '';
      if (m[1] === 'from') from = value;
      else type = value;
    }
    // Subscription requests and errors are for the user now; available/unavailable can wait.
    if (type !== undefined && type !== 'unavailable') return false;
    this.held.delete(from);
    this.held.set(from, data);
    return true;
  }

  /** §4: active again: what was held goes out, oldest change first. */
  activate(s: XmppSession): void {
    this.inactive = false;
    const held = [...this.held.values()];
    this.held.clear();
    for (const data of held) s.send(data);
  }
}

/** `<active/>` and `<inactive/>` (XEP-0352 §4), nonzas after resource binding. */
export function handleClientState(s: XmppSession, el: XmlElement): void {
  if (el.name === 'inactive') {
    s.csi ??= new ClientState();
    s.csi.inactive = true;
  } else if (el.name === 'active') {
    s.csi?.activate(s);
  } else {
    s.streamError('unsupported-stanza-type', `<${el.name}/> is not XEP-0352`);
  }
}
