import type { Store } from '../store/types.ts';
import { PapillonError } from '../util/errors.ts';

/** Largest element one namespace may hold (bytes of its XML): room for hundreds of bookmarks. */
export const MAX_PRIVATE_XML_BYTES = 64 * 1024;
/** Namespaces one account may keep an element in. */
export const MAX_PRIVATE_XML_NAMESPACES = 64;

/**
 * An account's private XML (XEP-0049): one opaque element per namespace, readable
 * and writable only by the account itself. The protocol checks the XML; the core
 * keeps it, within limits (over them: `conflict`, nothing stored).
 */
export class PrivateXml {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
  ) {}

  /** The element stored under `namespace`, or undefined. */
  async get(accountId: string, namespace: string): Promise<string | undefined> {
    return (await this.store.getPrivateXml(accountId, namespace))?.xml;
  }

  /** Replaces the element stored under each namespace given; all or none. */
  async set(accountId: string, elements: ReadonlyMap<string, string>): Promise<void> {
    for (const [namespace, xml] of elements) {
      if (Buffer.byteLength(xml) > MAX_PRIVATE_XML_BYTES) {
        throw new PapillonError(
          'conflict',
          `private XML is limited to ${MAX_PRIVATE_XML_BYTES} bytes per namespace (${namespace})`,
        );
      }
    }
    const known = new Set(await this.store.listPrivateXmlNamespaces(accountId));
    for (const namespace of elements.keys()) known.add(namespace);
    if (known.size > MAX_PRIVATE_XML_NAMESPACES) {
      throw new PapillonError(
        'conflict',
        `private XML is limited to ${MAX_PRIVATE_XML_NAMESPACES} namespaces per account`,
      );
    }
    const updatedAt = this.clock();
    for (const [namespace, xml] of elements) {
      await this.store.putPrivateXml({ accountId, namespace, xml, updatedAt });
    }
  }
}
